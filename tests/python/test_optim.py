"""tensord.optim against torch 1.13: 20-step trajectories from the same
parameters with the same loss for every optimizer and option combination,
state_dict layout and round trips, param-group checks."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
from helpers import to_numpy

RNG = np.random.default_rng(5)
X = RNG.standard_normal((8, 4))
Y = RNG.standard_normal((8, 2))


def models(ref):
    theirs = ref.nn.Sequential(ref.nn.Linear(4, 3), ref.nn.Tanh(), ref.nn.Linear(3, 2)).double()
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def train_step(lib, model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def assert_params_match(ours, theirs):
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(to_numpy(p.detach()), q.detach().numpy(), rtol=1e-9, atol=1e-12)


def assert_state_dicts_match(sd_m, sd_t):
    assert sd_m["param_groups"] == sd_t["param_groups"]
    assert list(sd_m["state"]) == list(sd_t["state"])
    for i, st in sd_t["state"].items():
        assert list(sd_m["state"][i]) == list(st)
        for k, v in st.items():
            mine = sd_m["state"][i][k]
            if v is None:
                assert mine is None
            elif isinstance(v, int):
                assert mine == v
            else:
                assert mine.dtype._name == str(v.dtype).replace("torch.", ""), k
                # 0-d float32 step counts and the like round at float32.
                rtol = 1e-7 if str(v.dtype) == "torch.float32" else 1e-9
                np.testing.assert_allclose(to_numpy(mine), v.numpy(), rtol=rtol, atol=1e-12,
                                           err_msg=k)


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "eps": 1e-6}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "maximize": True}),
    # Adamax, NAdam, RAdam, ASGD and Rprop: plain Python over daemon ops
    # (optim/_per_parameter.py); test_optim_more.py has their other tests.
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "maximize": True, "eps": 1e-4}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("RAdam", {}),  # rho_t passes 5 at step 6: both branches run
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 3, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.05, "maximize": True}),
]


def _id(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(ref, case):
    name, kwargs = case
    ours, theirs = models(ref)
    opt_m = getattr(td.optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(ref.optim, name)(theirs.parameters(), **kwargs)
    xm, ym, xt, yt = td.tensor(X), td.tensor(Y), ref.tensor(X), ref.tensor(Y)
    for _ in range(20):
        lm = train_step(td, ours, opt_m, xm, ym)
        lt = train_step(ref, theirs, opt_t, xt, yt)
        np.testing.assert_allclose(lm.item(), lt.item(), rtol=1e-9, atol=1e-12)
    assert_params_match(ours, theirs)
    assert_state_dicts_match(opt_m.state_dict(), opt_t.state_dict())


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
                                         ("RMSprop", {"momentum": 0.5, "centered": True}),
                                         ("Adagrad", {}), ("Adadelta", {})])
def test_state_dict_round_trip_continues_the_trajectory(ref, name, kwargs):
    ours, theirs = models(ref)
    opt_m = getattr(td.optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(ref.optim, name)(theirs.parameters(), **kwargs)
    xm, ym, xt, yt = td.tensor(X), td.tensor(Y), ref.tensor(X), ref.tensor(Y)
    for _ in range(5):
        train_step(td, ours, opt_m, xm, ym)
        train_step(ref, theirs, opt_t, xt, yt)
    saved = opt_m.state_dict()
    fresh = getattr(td.optim, name)(ours.parameters(), **kwargs)
    fresh.load_state_dict(saved)
    # loading copies: stepping the new optimizer leaves the saved state alone
    before = {i: {k: (to_numpy(v) if isinstance(v, td.Tensor) else v) for k, v in s.items()}
              for i, s in saved["state"].items()}
    for _ in range(5):
        train_step(td, ours, fresh, xm, ym)
        train_step(ref, theirs, opt_t, xt, yt)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(to_numpy(p.detach()), q.detach().numpy(), rtol=1e-9, atol=1e-12)
    for i, s in saved["state"].items():
        for k, v in s.items():
            if isinstance(v, td.Tensor):
                np.testing.assert_array_equal(to_numpy(v), before[i][k])


def test_param_groups_and_checks(ref):
    a, b = nn.Parameter(td.ones(2)), nn.Parameter(td.ones(3))
    opt = td.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.state_dict()["param_groups"][1]["params"] == [1]
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        td.optim.SGD([1], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        td.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        td.optim.Adam([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        td.optim.Adam(a)
    with pytest.raises(TypeError, match="ordered collections"):
        td.optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(ValueError, match="parameter group didn't specify a value of required "
                                         "optimization parameter lr"):
        td.optim.SGD([a])
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        td.optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        td.optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        td.optim.AdamW([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        td.optim.SGD([a], lr=0.1).load_state_dict(opt.state_dict())
    t = ref.optim.SGD([{"params": [ref.nn.Parameter(ref.ones(2))]},
                       {"params": ref.nn.Parameter(ref.ones(3)), "lr": 0.5}], lr=0.1, momentum=0.9)
    assert repr(opt) == repr(t)


def test_zero_grad_and_params_without_grad(ref):
    a, b = nn.Parameter(td.ones(2)), nn.Parameter(td.ones(2))
    opt = td.optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert list(opt.state_dict()["state"]) == [0]  # b had no grad: no state, like torch
    assert (b.detach().numpy() == 1).all()
    opt.zero_grad()
    assert (a.grad.numpy() == 0).all()
    opt.zero_grad(set_to_none=True)
    assert a.grad is None


def test_closure_is_called_with_grad_enabled():
    a = nn.Parameter(td.ones(2))
    opt = td.optim.SGD([a], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with td.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_allclose(a.detach().numpy(), [0.0, 0.0])


def test_zero_grad_detaches_a_grad_with_history(ref):
    a = nn.Parameter(td.ones(2))
    (a * a * a).sum().backward(create_graph=True)
    assert a.grad.requires_grad
    td.optim.SGD([a], lr=0.1).zero_grad()
    assert not a.grad.requires_grad
    assert (a.grad.numpy() == 0).all()


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.1)), ("RMSprop", dict(lr=0.1, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1)), ("Adadelta", dict(lr=0.1)),
])
def test_step_is_one_daemon_op_per_group_without_grad_reads(name, kwargs):
    w1 = td.ones(3, requires_grad=True)
    w2 = td.ones(2, requires_grad=True)
    unused = td.ones(4, requires_grad=True)  # no grad: skipped on the daemon
    opt = getattr(td.optim, name)([{"params": [w1, unused]}, {"params": [w2]}], **kwargs)
    ((w1 * w1).sum() + (w2 * 3).sum()).backward()
    opt.step()  # the first step also creates the state buffers
    ((w1 * w1).sum() + (w2 * 3).sum()).backward()
    before = td._C.op_counts()
    opt.step()
    opt.zero_grad(set_to_none=True)
    after = td._C.op_counts()
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    step_op = {"AdamW": "_adam_step"}.get(name, "_" + name.lower() + "_step")
    assert changed == {step_op: 2, "_zero_grad": 1}, changed
    assert w1.grad is None and unused.grad is None
    assert w2.tolist() != [1.0, 1.0] and unused.tolist() == [1.0] * 4
    # State lists the parameters that took a step, as torch's does (Adagrad
    # keeps state for every parameter from its construction, also like torch).
    steps = {k: float(v.get("step", 2)) for k, v in opt.state_dict()["state"].items()}
    assert steps == ({0: 2.0, 1: 0.0, 2: 2.0} if name == "Adagrad" else {0: 2.0, 2: 2.0})
