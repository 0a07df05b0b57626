"""tensord.optim.lr_scheduler against torch 1.13's, step by step.

tensord's schedulers drive a duck-typed optimizer (param_groups, defaults,
step()); torch's drive a real torch optimizer with the same groups. After every
step the groups' lr/momentum/betas, get_last_lr() and the warnings raised
must be identical.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from tensord.optim import lr_scheduler as td_sched


class DuckOptimizer:
    """All a scheduler may touch: param_groups, defaults and a step() that counts."""

    def __init__(self, groups: list[dict], defaults: dict) -> None:
        self.param_groups = copy.deepcopy(groups)
        self.defaults = dict(defaults)
        self.steps = 0

    def step(self) -> None:
        self.steps += 1


def make_optimizers(ref: Any, kind: str) -> tuple[Any, DuckOptimizer]:
    params = [ref.nn.Parameter(ref.zeros(1)) for _ in range(2)]
    groups = [{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.05}]
    if kind == "sgd":
        topt = ref.optim.SGD(groups, lr=0.1, momentum=0.9)
    else:
        topt = ref.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    plain = [{k: v for k, v in g.items() if k != "params"} for g in topt.param_groups]
    return topt, DuckOptimizer(plain, topt.defaults)


Factory = Callable[[Any, Any], Any]

CASES: dict[str, Factory] = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-odd": lambda m, o: m.CosineAnnealingLR(o, T_max=7),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "WarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=1e-4
    ),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.97**e),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(
        o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** (e // 3)]
    ),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(
        o, lambda e: 0.9 if e % 2 else 1.05
    ),
    "LinearLR-warmup": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=8),
    "LinearLR-decay": lambda m, o: m.LinearLR(
        o, start_factor=1.0, end_factor=0.1, total_iters=20
    ),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=61),
    "OneCycleLR-linear": lambda m, o: m.OneCycleLR(
        o, max_lr=1.0, total_steps=70, anneal_strategy="linear"
    ),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.8, epochs=6, steps_per_epoch=11, three_phase=True, pct_start=0.25
    ),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(
        o,
        max_lr=0.3,
        total_steps=61,
        cycle_momentum=False,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o,
        [m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.9)],
        milestones=[3],
    ),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o,
        [
            m.LinearLR(o, start_factor=0.1, total_iters=5),
            m.StepLR(o, 4, 0.5),
            m.CosineAnnealingLR(o, T_max=9),
        ],
        milestones=[5, 25],
    ),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.9)]
    ),
}
# CyclicLR cycles 'momentum', which Adam has not.
SGD_ONLY: dict[str, Factory] = {
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5
    ),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(
        o,
        base_lr=[0.01, 0.02],
        max_lr=0.1,
        step_size_up=4,
        step_size_down=7,
        mode="triangular2",
    ),
    "CyclicLR-exp-range": lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=6, mode="exp_range", gamma=0.97, cycle_momentum=False
    ),
}
ALL = [(name, kind) for name in CASES for kind in ("sgd", "adam")] + [
    (name, "sgd") for name in SGD_ONLY
]
STEPS = 60


def factory(name: str) -> Factory:
    return CASES.get(name) or SGD_ONLY[name]


def call_recording(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [f"{w.category.__name__}: {w.message}" for w in caught]


def assert_groups_equal(topt: Any, dopt: DuckOptimizer, where: str) -> None:
    for i, (tg, dg) in enumerate(zip(topt.param_groups, dopt.param_groups)):
        for key in (
            "lr",
            "initial_lr",
            "momentum",
            "betas",
            "max_lr",
            "min_lr",
            "max_momentum",
            "base_momentum",
        ):
            assert (key in tg) == (key in dg), (
                f"{where}: group {i} key {key!r} presence differs"
            )
            if key in tg:
                assert dg[key] == pytest.approx(tg[key], rel=1e-12, abs=0), (
                    f"{where}: group {i} {key}"
                )


def step_both(
    tsched: Any, topt: Any, dsched: Any, dopt: DuckOptimizer, where: str
) -> None:
    topt.step()
    dopt.step()
    _, tw = call_recording(tsched.step)
    _, dw = call_recording(dsched.step)
    assert dw == tw, f"{where}: warnings differ"
    assert_groups_equal(topt, dopt, where)
    assert dsched.get_last_lr() == pytest.approx(
        tsched.get_last_lr(), rel=1e-12, abs=0
    ), where


@pytest.mark.parametrize("name,kind", ALL)
def test_lr_sequence_matches_torch(ref: Any, name: str, kind: str) -> None:
    from torch.optim import lr_scheduler as t_sched

    topt, dopt = make_optimizers(ref, kind)
    tsched, tw = call_recording(lambda: factory(name)(t_sched, topt))
    dsched, dw = call_recording(lambda: factory(name)(td_sched, dopt))
    assert dw == tw
    assert_groups_equal(topt, dopt, "after construction")
    for i in range(STEPS):
        step_both(tsched, topt, dsched, dopt, f"step {i}")
    assert dopt.steps == STEPS


# Keys torch 1.13 keeps as a bound method / weak reference, which tensord replaces by a plain value.
_UNPICKLABLE = {"anneal_func": "_anneal_func_type", "_scale_fn_ref": "_scale_fn_custom"}


def _keys(sd: dict) -> set:
    return {_UNPICKLABLE.get(k, k) for k in sd}


@pytest.mark.parametrize("name,kind", ALL)
def test_state_dict_round_trip(ref: Any, name: str, kind: str) -> None:
    from torch.optim import lr_scheduler as t_sched

    topt, dopt = make_optimizers(ref, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched = factory(name)(t_sched, topt)
        dsched = factory(name)(td_sched, dopt)
        for i in range(17):
            step_both(tsched, topt, dsched, dopt, f"step {i}")
        state = dsched.state_dict()
        assert _keys(state) == _keys(tsched.state_dict()) | (
            {"_scale_fn_custom"} if "Cyclic" in name else set()
        )
        state = pickle.loads(pickle.dumps(state))  # a checkpoint holds plain data only

        _, fresh_opt = make_optimizers(ref, kind)
        fresh = factory(name)(td_sched, fresh_opt)
        fresh_opt.param_groups = copy.deepcopy(
            dopt.param_groups
        )  # as optimizer.load_state_dict would
        fresh.load_state_dict(state)
        assert fresh.get_last_lr() == dsched.get_last_lr()
        for i in range(STEPS - 17):
            step_both(tsched, topt, fresh, fresh_opt, f"resumed step {i}")


def test_state_dict_keeps_callable_object_state(ref: Any) -> None:
    class Decay:
        def __init__(self, rate: float) -> None:
            self.rate = rate

        def __call__(self, epoch: int) -> float:
            return self.rate**epoch

    _, opt = make_optimizers(ref, "sgd")
    sched = td_sched.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    _, opt2 = make_optimizers(ref, "sgd")
    other = td_sched.LambdaLR(opt2, [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5
    assert "lr_lambdas" in state  # the caller's dict is left whole


METRICS = [
    1.0,
    0.9,
    0.95,
    0.95,
    0.95,
    0.95,
    0.89,
    0.9,
    0.9,
    0.9,
    0.9,
    0.9,
    0.9,
    0.5,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.4,
] * 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"patience": 2},
        {"patience": 1, "cooldown": 2, "factor": 0.5},
        {"mode": "max", "patience": 2, "threshold": 0.01},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 1},
        {
            "mode": "max",
            "threshold_mode": "abs",
            "patience": 0,
            "min_lr": [0.02, 0.001],
        },
        {"patience": 0, "min_lr": 0.04, "eps": 0.0},
    ],
    ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults",
)
def test_reduce_lr_on_plateau_matches_torch(ref: Any, kwargs: dict) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    dsched = td_sched.ReduceLROnPlateau(dopt, **kwargs)
    for i, m in enumerate(METRICS):
        tsched.step(m)
        dsched.step(m)
        assert_groups_equal(topt, dopt, f"metric {i}")
        assert (dsched.best, dsched.num_bad_epochs, dsched.cooldown_counter) == (
            tsched.best,
            tsched.num_bad_epochs,
            tsched.cooldown_counter,
        )
    state = pickle.loads(pickle.dumps(dsched.state_dict()))
    assert set(state) == set(tsched.state_dict())
    again = td_sched.ReduceLROnPlateau(
        DuckOptimizer(dopt.param_groups, dopt.defaults), **kwargs
    )
    again.load_state_dict(state)
    assert (again.best, again.last_epoch, again.num_bad_epochs) == (
        dsched.best,
        dsched.last_epoch,
        dsched.num_bad_epochs,
    )


def test_reduce_lr_on_plateau_takes_a_tensord_scalar(ref: Any) -> None:
    import tensord

    _, opt = make_optimizers(ref, "sgd")
    sched = td_sched.ReduceLROnPlateau(opt, patience=0)
    sched.step(tensord.tensor(1.0))
    sched.step(tensord.tensor(2.0))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_step_before_optimizer_step_warns_like_torch(ref: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.StepLR(topt, 3)
    dsched = td_sched.StepLR(dopt, 3)
    _, tw = call_recording(tsched.step)  # no optimizer.step() first
    _, dw = call_recording(dsched.step)
    assert dw == tw
    assert any(
        "Detected call of `lr_scheduler.step()` before `optimizer.step()`" in w
        for w in dw
    )


def test_right_order_does_not_warn(ref: Any) -> None:
    _, dopt = make_optimizers(ref, "sgd")
    dsched = td_sched.StepLR(dopt, 3)
    dopt.step()
    _, dw = call_recording(dsched.step)
    assert dw == []


def test_overridden_optimizer_step_warns_like_torch(ref: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.ExponentialLR(topt, 0.5)
    dsched = td_sched.ExponentialLR(dopt, 0.5)
    topt.step = lambda: None  # type: ignore[method-assign]
    dopt.step = lambda: None  # type: ignore[method-assign]
    _, tw = call_recording(tsched.step)
    _, dw = call_recording(dsched.step)
    assert dw == tw and any("has been overridden" in w for w in dw)


def test_get_lr_outside_step_warns_like_torch(ref: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    _, tw = call_recording(ref.optim.lr_scheduler.StepLR(topt, 3).get_lr)
    _, dw = call_recording(td_sched.StepLR(dopt, 3).get_lr)
    assert dw == tw and "get_last_lr()" in dw[0]


@pytest.mark.parametrize(
    "name",
    [
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "LinearLR-decay",
        "ConstantLR",
        "PolynomialLR",
    ],
)
def test_step_with_epoch_uses_closed_form_like_torch(ref: Any, name: str) -> None:
    from torch.optim import lr_scheduler as t_sched

    topt, dopt = make_optimizers(ref, "sgd")
    tsched, dsched = CASES[name](t_sched, topt), CASES[name](td_sched, dopt)
    for epoch in (3, 10, 4, 25, 7):
        topt.step()
        dopt.step()
        _, tw = call_recording(lambda e=epoch: tsched.step(e))
        _, dw = call_recording(lambda e=epoch: dsched.step(e))
        assert dw == tw and any("epoch parameter" in w for w in dw)
        assert_groups_equal(topt, dopt, f"epoch {epoch}")


def test_warm_restarts_fractional_epochs_match_torch(ref: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2)
    dsched = td_sched.CosineAnnealingWarmRestarts(dopt, T_0=4, T_mult=2)
    for epoch in [0.25 * i for i in range(60)] + [3, 40.5, 1]:
        tsched.step(epoch)
        dsched.step(epoch)
        assert_groups_equal(topt, dopt, f"epoch {epoch}")
    with pytest.raises(ValueError, match="Expected non-negative epoch"):
        dsched.step(-1)


def test_verbose_prints_like_torch(ref: Any, capsys: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.StepLR(topt, 2, verbose=True)
    for _ in range(3):
        topt.step()
        tsched.step()
    want = capsys.readouterr().out
    dsched = td_sched.StepLR(dopt, 2, verbose=True)
    for _ in range(3):
        dopt.step()
        dsched.step()
    got = capsys.readouterr().out
    assert got == want and "Adjusting learning rate of group 1 to" in got


def test_one_cycle_past_total_steps_raises_like_torch(ref: Any) -> None:
    topt, dopt = make_optimizers(ref, "sgd")
    tsched = ref.optim.lr_scheduler.OneCycleLR(topt, 1.0, total_steps=3)
    dsched = td_sched.OneCycleLR(dopt, 1.0, total_steps=3)
    for _ in range(3):
        topt.step()
        dopt.step()
        tsched.step()
        dsched.step()
    with pytest.raises(ValueError) as want:
        tsched.step()
    with pytest.raises(ValueError) as got:
        dsched.step()
    assert str(got.value) == str(want.value)


ERRORS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("ConstantLR factor", lambda m, o: m.ConstantLR(o, factor=2.0)),
    ("LinearLR start", lambda m, o: m.LinearLR(o, start_factor=-0.1)),
    ("LinearLR end", lambda m, o: m.LinearLR(o, end_factor=1.5)),
    ("LambdaLR count", lambda m, o: m.LambdaLR(o, [lambda e: 1.0])),
    ("WarmRestarts T_0", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0)),
    (
        "WarmRestarts T_mult",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    ),
    ("OneCycleLR no steps", lambda m, o: m.OneCycleLR(o, 1.0)),
    (
        "OneCycleLR pct",
        lambda m, o: m.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5),
    ),
    (
        "OneCycleLR anneal",
        lambda m, o: m.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp"),
    ),
    ("OneCycleLR max_lr count", lambda m, o: m.OneCycleLR(o, [1.0], total_steps=10)),
    ("CyclicLR mode", lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="square")),
    ("Plateau factor", lambda m, o: m.ReduceLROnPlateau(o, factor=1.0)),
    ("Plateau mode", lambda m, o: m.ReduceLROnPlateau(o, mode="best")),
    ("Plateau threshold", lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct")),
    ("Plateau min_lrs", lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1])),
    (
        "SequentialLR milestones",
        lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]),
    ),
    ("resume without initial_lr", lambda m, o: m.StepLR(o, 2, last_epoch=5)),
    ("not an optimizer", lambda m, o: m.StepLR(object(), 2)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(ref: Any, case: tuple) -> None:
    from torch.optim import lr_scheduler as t_sched

    topt, dopt = make_optimizers(ref, "sgd")
    with pytest.raises(Exception) as want:
        case[1](t_sched, topt)
    with pytest.raises(Exception) as got:
        case[1](td_sched, dopt)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)


def test_base_class_names() -> None:
    assert issubclass(td_sched.StepLR, td_sched.LRScheduler)
    assert issubclass(td_sched._LRScheduler, td_sched.LRScheduler)
    import tensord.optim

    assert tensord.optim.lr_scheduler is td_sched
