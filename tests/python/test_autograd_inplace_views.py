"""In-place ops on views of tensors that require grad (PyTorch's CopySlices).

Every pattern runs on tensord and on PyTorch 1.13 with the same values; the
gradients of the inputs and the grad_fn names of the tensors involved must
match. Error cases check PyTorch's exception type and message.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tensord as td
from helpers import to_numpy

X = np.arange(1.0, 13.0).reshape(3, 4) / 7.0  # distinct values: relu_ and masks see both signs after - 0.8
Z3 = np.array([0.5, -1.5, 2.0])
Z4 = np.array([1.0, -2.0, 3.0, -0.25])


def slice_assign(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    y[:, 0] = z3
    return {"y": y}


def select_mul(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[1]
    v.mul_(3)
    return {"y": y, "v": v}


def select_mul_by_tensor(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[1]
    v.mul_(z4)  # the op's other input requires grad too
    return {"y": y, "v": v}


def narrow_copy(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    n = y.narrow(1, 1, 2)
    n.copy_(z3.unsqueeze(1).expand(3, 2))
    return {"y": y, "n": n}


def diagonal_zero(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x[:, :3] * 2
    d = y.diagonal()
    d.zero_()
    return {"y": y, "d": d}


def transpose_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    t = y.t()
    t[2].add_(z3, alpha=2)
    return {"y": y, "t": t}


def view_of_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[1:]
    w = v[:, 1:3]
    w.mul_(w.detach() + 1)
    return {"y": y, "v": v, "w": w}


def index_put_through_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[2]
    v[m.tensor([0, 3])] = z3[:2]
    return {"y": y, "v": v}


def relu_on_slice(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x - 0.8
    s = y[:, 1:3]
    s.relu_()
    return {"y": y, "s": s}


def loop_builds_rows(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    out = m.zeros(3, 4, dtype=m.float64)  # requires no grad until a row is written
    for i in range(3):
        out[i] = x[i].sin() * (i + 1)
    return {"out": out}


def masked_fill_on_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[1:]
    v.masked_fill_(v > 1.5, 0.0)
    return {"y": y, "v": v}


def base_in_place_after_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    a = y[0]
    y.mul_(3)  # a now reads the multiplied values: its grad_fn is regenerated
    return {"y": y, "a": a, "a2": a * a}


def sibling_view_goes_stale(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    a = y[0]
    b = y[1]
    b.copy_(z4)
    return {"y": y, "a": a, "b": b}


def view_of_base_without_grad(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    buf = m.ones(3, 4, dtype=m.float64)
    r = buf[2]  # taken before buf requires grad: picks it up through its base
    buf[0].copy_(z4 * 2)
    return {"buf": buf, "r": r}


def in_place_twice_on_one_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    v = y[:, 2]
    v.mul_(z3)
    v.exp_()
    return {"y": y, "v": v}


def as_strided_view(m: Any, x: Any, z3: Any, z4: Any) -> dict:
    y = x * 2
    s = y.as_strided((2, 3), (4, 1), 1)
    return {"y": y, "s": s * s}


PATTERNS = [slice_assign, select_mul, select_mul_by_tensor, narrow_copy, diagonal_zero,
            transpose_view, view_of_view, index_put_through_view, relu_on_slice,
            loop_builds_rows, masked_fill_on_view, base_in_place_after_view,
            sibling_view_goes_stale, view_of_base_without_grad, in_place_twice_on_one_view,
            as_strided_view]


def run_pattern(m: Any, pattern: Callable) -> tuple[dict, dict, list]:
    """(grad_fn names, requires_grad flags, input gradients) of `pattern`."""
    x = m.tensor(X, requires_grad=True)
    z3 = m.tensor(Z3, requires_grad=True)
    z4 = m.tensor(Z4, requires_grad=True)
    out = pattern(m, x, z3, z4)
    names = {k: None if t.grad_fn is None else t.grad_fn.name() for k, t in out.items()}
    flags = {k: (t.requires_grad, t.is_leaf) for k, t in out.items()}
    # A weighted loss, so that every element's gradient differs.
    loss = sum(((t * m.arange(t.numel(), dtype=m.float64).reshape(t.shape) + t * t).sum()
                for t in out.values()))
    loss.backward()
    grads = [None if t.grad is None else to_numpy(t.grad) for t in (x, z3, z4)]
    return names, flags, grads


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.__name__)
def test_pattern_matches_torch(ref, pattern):
    names, flags, grads = run_pattern(td, pattern)
    want_names, want_flags, want_grads = run_pattern(ref, pattern)
    assert names == want_names
    assert flags == want_flags
    for got, want in zip(grads, want_grads):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_copy_slices_name_and_repr_like_torch(ref):
    for m in (td, ref):
        y = m.ones(2, 3, requires_grad=True) * 1
        y[0] = 5.0
        assert y.grad_fn.name() == "torch::autograd::CopySlices"
        assert "grad_fn=<CopySlices>" in repr(y)
        assert y[0].grad_fn.name() == "SelectBackward0"  # a new view of the rebased base
        assert not y.is_leaf


def test_values_after_in_place_through_views(ref):
    got = loop_builds_rows(td, td.tensor(X, requires_grad=True), None, None)["out"]
    want = loop_builds_rows(ref, ref.tensor(X, requires_grad=True), None, None)["out"]
    np.testing.assert_allclose(to_numpy(got), want.detach().numpy())


# ---- gradcheck through functions that write into views (float64) ----

def _fill_rows(x: Any, w: Any) -> Any:
    out = td.zeros(3, 4, dtype=td.float64)
    for i in range(3):
        out[i] = (x[i] * w).tanh()
    out[:, 1:3].mul_(x[:, :2])
    return out


def _edit_views(x: Any, w: Any) -> Any:
    y = x * 1.5
    y.diagonal().mul_(w[:3])
    y.t()[1].sub_(w[:3])
    y[1:, 2:].pow_(2)
    return y


def _as_strided_overlapping(x: Any, w: Any) -> Any:
    return x.reshape(-1).as_strided((4, 3), (2, 1), 1) * w[:3]


@pytest.mark.parametrize("fn", [_fill_rows, _edit_views, _as_strided_overlapping],
                         ids=lambda f: f.__name__)
def test_gradcheck_through_in_place_views(fn):
    rng = np.random.default_rng(0)
    x = td.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = td.tensor(rng.standard_normal(4), requires_grad=True)
    assert td.autograd.gradcheck(fn, (x, w))


@pytest.mark.parametrize("fn", [_fill_rows, _edit_views, _as_strided_overlapping],
                         ids=lambda f: f.__name__)
def test_gradgradcheck_through_in_place_views(fn):
    # Double backward runs CopySlices and AsStridedBackward0 recorded.
    rng = np.random.default_rng(1)
    x = td.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = td.tensor(rng.standard_normal(4), requires_grad=True)
    assert td.autograd.gradgradcheck(fn, (x, w))


AS_STRIDED_CASES = {
    "overlapping_result": lambda t: t.reshape(-1).as_strided((3, 2), (1, 1)),
    "overlapping_input": lambda t: t.expand(6, 3).as_strided((6, 3), (1, 0)),
    "offset_and_gaps": lambda t: t.reshape(-1).as_strided((2, 2), (2, 1), 1),
}


@pytest.mark.parametrize("case", AS_STRIDED_CASES)
def test_as_strided_backward_like_torch(ref, case):
    grads = []
    for m in (td, ref):
        base = m.tensor(np.arange(1.0, 7.0).reshape(6, 1), requires_grad=True)
        out = AS_STRIDED_CASES[case](base)
        assert out.grad_fn.name() == "AsStridedBackward0"
        (out * m.arange(out.numel(), dtype=m.float64).reshape(out.shape)).sum().backward()
        grads.append(to_numpy(base.grad))
    np.testing.assert_allclose(grads[0], grads[1])


# ---- version counters ----

def test_modified_saved_view_is_still_caught(ref):
    for m in (td, ref):
        x = m.ones(2, 3, requires_grad=True)
        y = x * 2
        v = y[0]
        e = v.exp()  # saves its result
        e.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            e.sum().backward()
            x.grad.tolist() if m is td else None


def test_write_through_a_view_invalidates_what_saved_the_base(ref):
    for m in (td, ref):
        x = m.ones(2, 3, requires_grad=True)
        y = x * 2
        s = y.sigmoid()  # saves its result, s
        s[0].mul_(2)  # allowed (CopySlices), but sigmoid's saved result is now stale
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            s.sum().backward()
            x.grad.tolist() if m is td else None


def test_sibling_view_saved_by_the_in_place_op_is_caught(ref):
    # mul_ saves its other operand, a view of the storage it then writes.
    for m in (td, ref):
        x = m.ones(3, 4, requires_grad=True)
        y = x * 2
        y[0].mul_(y[1])
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
            x.grad.tolist() if m is td else None
    # The same with a copy of the operand is fine.
    grads = []
    for m in (td, ref):
        x = m.tensor(X, requires_grad=True)
        y = x * 2
        y[0].mul_(y[1].clone())
        (y * y).sum().backward()
        grads.append(to_numpy(x.grad))
    np.testing.assert_allclose(grads[0], grads[1])


def test_in_place_without_grad_mode_leaves_history_alone(ref):
    for m in (td, ref):
        x = m.tensor(X, requires_grad=True)
        y = x * 2
        v = y[0]
        with m.no_grad():
            v.mul_(3)
        assert y.grad_fn.name() == "MulBackward0"
        assert v.grad_fn.name() == "AsStridedBackward0"
        v.sum().backward()
        assert to_numpy(x.grad)[0].tolist() == [2.0] * 4


# ---- errors, as PyTorch raises them ----

MULTI_OUTPUT = ("is a view and is being modified inplace. This view is the output of a function "
                "that returns multiple views. Such functions do not allow the output views to be "
                "modified inplace. You should replace the inplace operation by an out-of-place one.")


def _message(m: Any, fn: Callable) -> tuple[type, str]:
    try:
        fn()
        if m is td:
            td.synchronize()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    raise AssertionError("no error raised")


def _same_error(ref: Any, make: Callable[[Any], Callable]) -> str:
    got_type, got = _message(td, make(td))
    want_type, want = _message(ref, make(ref))
    assert got_type is want_type, (got_type, want_type)
    assert want in got, (got, want)  # tensord prefixes the op name
    return got


def test_view_of_leaf_in_place_error(ref):
    msg = _same_error(ref, lambda m: (lambda: m.ones(2, 3, requires_grad=True)[0].mul_(2)))
    assert "a view of a leaf Variable that requires grad is being used in an in-place" in msg
    _same_error(ref, lambda m: (lambda: m.ones(2, 3, requires_grad=True).t().zero_()))


def test_leaf_in_place_error(ref):
    msg = _same_error(ref, lambda m: (lambda: m.ones(2, 3, requires_grad=True).add_(1)))
    assert "a leaf Variable that requires grad is being used in an in-place operation." in msg


@pytest.mark.parametrize("split", ["unbind", "split", "chunk"])
def test_multi_output_view_in_place_error(ref, split):
    def make(m: Any) -> Callable:
        y = m.ones(2, 4, requires_grad=True) * 2
        pieces = {"unbind": lambda: y.unbind(0), "split": lambda: y.split(1),
                  "chunk": lambda: y.chunk(2)}[split]()
        return lambda: pieces[1].mul_(2)
    msg = _same_error(ref, make)
    assert MULTI_OUTPUT in msg
    assert "Output 1 of" in msg


def test_multi_output_view_of_base_without_grad(ref):
    def make(m: Any) -> Callable:
        buf = m.zeros(2, 3, dtype=m.float64)
        rows = buf.unbind(0)
        return lambda: rows[0].copy_(m.ones(3, dtype=m.float64, requires_grad=True))
    msg = _same_error(ref, make)
    assert msg.endswith("You should replace the inplace operation by an out-of-place one.")


def test_multi_output_view_made_stale_through_its_base(ref):
    def make(m: Any) -> Callable:
        y = m.ones(2, 4, requires_grad=True) * 2
        rows = y.unbind(0)
        y.mul_(2)
        return lambda: rows[0] + 1
    msg = _same_error(ref, make)
    assert "Output 0 of UnbindBackward0 is a view and its base or another view of its base has been modified inplace" in msg

    def name(m: Any) -> Callable:
        y = m.ones(2, 4, requires_grad=True) * 2
        rows = y.unbind(0)
        y.mul_(2)
        return lambda: rows[1].grad_fn
    _same_error(ref, name)


def test_view_made_in_no_grad_errors(ref):
    def direct(m: Any) -> Callable:
        y = m.ones(2, 4, requires_grad=True) * 2
        with m.no_grad():
            v = y[0]
        return lambda: v.mul_(2)
    msg = _same_error(ref, direct)
    assert msg.startswith("[mul_] A view was created in no_grad mode and is being modified inplace")

    def indirect(m: Any) -> Callable:
        y = m.ones(2, 4, requires_grad=True) * 2
        with m.no_grad():
            v = y[0]
        y.add_(1)
        return lambda: v * 2
    msg = _same_error(ref, indirect)
    assert "its base or another view of its base has been modified inplace" in msg


def test_errors_leave_the_session_working(ref):
    y = td.ones(2, 4, requires_grad=True) * 2
    rows = y.unbind(0)
    with pytest.raises(RuntimeError):
        rows[0].mul_(2)
    with pytest.raises(RuntimeError):
        td.ones(2, requires_grad=True)[0].mul_(2)
    z = td.ones(3, requires_grad=True)
    out = td.zeros(2, 3)
    out[1] = z * 3
    out.sum().backward()
    assert z.grad.tolist() == [3.0, 3.0, 3.0]
