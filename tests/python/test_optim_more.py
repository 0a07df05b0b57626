"""Adamax, NAdam, RAdam, ASGD and Rprop against torch 1.13 (their 20-step
trajectories and state_dicts are cases of test_optim.py): round trips that
continue the trajectory, state saved by torch, step(closure) and torch's
argument checks."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
from test_optim import X, Y, assert_params_match, assert_state_dicts_match, models, train_step

@pytest.mark.parametrize("name,kwargs", [("Adamax", {}), ("NAdam", {}), ("RAdam", {}),
                                         ("ASGD", {"t0": 3}), ("Rprop", {})])
def test_state_dict_round_trip_continues_the_trajectory(ref, name, kwargs):
    ours, theirs = models(ref)
    opt_m = getattr(td.optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(ref.optim, name)(theirs.parameters(), **kwargs)
    xm, ym, xt, yt = td.tensor(X), td.tensor(Y), ref.tensor(X), ref.tensor(Y)
    for _ in range(7):
        train_step(td, ours, opt_m, xm, ym)
        train_step(ref, theirs, opt_t, xt, yt)
    # Both sides reload their own state (load_state_dict casts floating state to
    # the parameters' dtype, float64 here, on both).
    fresh = getattr(td.optim, name)(ours.parameters(), **kwargs)
    fresh.load_state_dict(opt_m.state_dict())
    opt_t_fresh = getattr(ref.optim, name)(theirs.parameters(), **kwargs)
    opt_t_fresh.load_state_dict(opt_t.state_dict())
    opt_t = opt_t_fresh
    for _ in range(7):
        train_step(td, ours, fresh, xm, ym)
        train_step(ref, theirs, opt_t, xt, yt)
    assert_params_match(ours, theirs)
    assert_state_dicts_match(fresh.state_dict(), opt_t.state_dict())
    # A state saved by torch loads too (its tensors converted), and continues alike.
    from_torch = getattr(td.optim, name)(ours.parameters(), **kwargs)
    converted = {"param_groups": opt_t.state_dict()["param_groups"],
                 "state": {i: {k: (td.tensor(v.numpy()) if isinstance(v, ref.Tensor) else v)
                               for k, v in s.items()}
                           for i, s in opt_t.state_dict()["state"].items()}}
    from_torch.load_state_dict(converted)
    for _ in range(3):
        train_step(td, ours, from_torch, xm, ym)
        train_step(ref, theirs, opt_t, xt, yt)
    assert_params_match(ours, theirs)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "ASGD", "Rprop"])
def test_step_with_closure_returns_its_loss_and_skips_params_without_grad(ref, name):
    a, unused = nn.Parameter(td.tensor([1.0, -2.0])), nn.Parameter(td.ones(2))
    ta = ref.nn.Parameter(ref.tensor([1.0, -2.0]))
    opt_m = getattr(td.optim, name)([a, unused])
    opt_t = getattr(ref.optim, name)([ta])

    def closure_for(p, opt):
        def closure():
            opt.zero_grad()
            loss = (p * p * p).sum()
            loss.backward()
            return loss
        return closure

    with td.no_grad():  # step runs the closure with grad enabled, as torch's does
        for _ in range(3):
            lm = opt_m.step(closure_for(a, opt_m))
            lt = opt_t.step(closure_for(ta, opt_t))
            assert lm.item() == pytest.approx(lt.item(), rel=1e-6)
    np.testing.assert_allclose(a.detach().numpy(), ta.detach().numpy(), rtol=1e-6)
    assert list(opt_m.state_dict()["state"]) == [0]
    np.testing.assert_array_equal(unused.detach().numpy(), [1.0, 1.0])


def test_argument_checks_match_torch(ref):
    a = nn.Parameter(td.ones(2))
    bad = [("Adamax", {"lr": -1}), ("Adamax", {"betas": (1.0, 0.9)}), ("NAdam", {"eps": -1}),
           ("NAdam", {"momentum_decay": -1}), ("RAdam", {"betas": (0.9, 1.0)}),
           ("RAdam", {"weight_decay": -1}), ("ASGD", {"lr": -0.1}),
           ("ASGD", {"weight_decay": -1}), ("Rprop", {"etas": (1.5, 1.2)}),
           ("Rprop", {"lr": -1})]
    for name, kwargs in bad:
        with pytest.raises(ValueError) as theirs:
            getattr(ref.optim, name)([ref.nn.Parameter(ref.ones(2))], **kwargs)
        with pytest.raises(ValueError) as ours:
            getattr(td.optim, name)([a], **kwargs)
        assert str(ours.value) == str(theirs.value)
    for name in ("Adamax", "NAdam", "RAdam", "ASGD", "Rprop"):
        mine = getattr(td.optim, name)([a])
        theirs = getattr(ref.optim, name)([ref.nn.Parameter(ref.ones(2))])
        assert repr(mine) == repr(theirs)
