"""Elementwise ops against PyTorch 1.13: every op over its dtypes, broadcasting,
0-d / empty shapes, NaN / inf, Python numbers on either side, in-place forms
(also through views), operators, and error types for invalid inputs."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tensord as td
from helpers import FLOAT_DTYPES, TORCH_DTYPES, assert_same, to_numpy

INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]
pytestmark = pytest.mark.filterwarnings("ignore:where received a uint8 condition")
BASE = np.array([[-2.5, -1.0, -0.25, 0.0], [0.3, 0.9, 1.0, 2.0], [3.7, 10.0, -7.5, 0.5]])
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5])
SHAPES = [(3, 4), (), (0, 4), (2, 1, 4)]
BROADCAST = [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (3, 4)), ((0, 4), (4,)), ((2, 3, 1), (3, 4))]


def values(dtype: str, shape: tuple[int, ...] = (3, 4), seed: int = 0, nonzero: bool = False) -> np.ndarray:
    """Deterministic values suited to `dtype` (small, non-negative for uint8)."""
    rs = np.random.RandomState(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        v = rs.rand(n) > 0.5
        if nonzero:
            v[:] = True
        return v.reshape(shape)
    if dtype in INT_DTYPES:
        v = rs.randint(0 if dtype == "uint8" else -6, 7, size=n)
        if nonzero:
            v[v == 0] = 3
        return v.reshape(shape).astype(np.int64)
    v = np.resize(BASE.ravel(), n) * (1 + 0.1 * rs.rand(n))
    if nonzero:
        v[v == 0] = 1.5
    return v.reshape(shape)


def make(ref: Any, arr: np.ndarray, dtype: str) -> tuple[Any, Any]:
    r = ref.tensor(arr).to(getattr(ref, dtype))
    return td.tensor(to_numpy(r), dtype=getattr(td, dtype)), r


def force(x: Any) -> None:
    """Daemon-side errors surface when a value is fetched."""
    for t in x if isinstance(x, tuple) else (x,):
        if isinstance(t, td.Tensor):
            t.tolist()


def _upcast_half(ref: Any, args: tuple) -> tuple:
    return tuple(a.float() if isinstance(a, ref.Tensor) and a.dtype in (ref.float16, ref.bfloat16)
                 else a for a in args)


def _half_fallback(ref: Any, ref_fn: Callable, ref_args: tuple, error: Exception) -> Any:
    """ref_fn's float32 result in the half dtype, where torch lacks a half kernel."""
    msg = str(error)
    if "not implemented for 'Half'" not in msg and "not implemented for 'BFloat16'" not in msg:
        return None
    half = next(a.dtype for a in ref_args if isinstance(a, ref.Tensor)
                and a.dtype in (ref.float16, ref.bfloat16))
    try:
        want = ref_fn(*_upcast_half(ref, ref_args))
    except RuntimeError:
        return None
    return want.to(half) if want.dtype == ref.float32 else want


def check(ref: Any, td_fn: Callable, ref_fn: Callable, td_args: tuple, ref_args: tuple,
          name: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """td_fn(*td_args) equals ref_fn(*ref_args), or both raise the same exception type.

    Where PyTorch's CPU build lacks a half/bfloat16 kernel, the reference is
    the float32 result converted back (tensord computes those in float)."""
    try:
        want = ref_fn(*ref_args)
    except Exception as e:  # noqa: BLE001
        want = _half_fallback(ref, ref_fn, ref_args, e)
        if want is None:
            with pytest.raises(type(e)) as info:
                force(td_fn(*td_args))
            assert name in str(info.value), f"message does not name {name}: {info.value}"
            return
    got = td_fn(*td_args)
    assert_same(got, want, rtol=rtol, atol=atol)


# ------------------------------------------------------------------- unary
FLOAT_UNARY = ["exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
               "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
               "asinh", "acosh", "atanh", "sigmoid", "erf", "erfinv", "logit"]
SAME_UNARY = ["neg", "abs", "sign", "square", "relu", "floor", "ceil", "trunc", "round", "frac",
              "bitwise_not", "nan_to_num", "logical_not", "isnan", "isinf", "isfinite"]
ACTIVATIONS = {"gelu": {}, "silu": {}, "softplus": {}}


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("name", FLOAT_UNARY + SAME_UNARY)
def test_unary_over_dtypes(ref, name, dtype):
    x, rx = make(ref, values(dtype), dtype)
    check(ref, getattr(td, name), getattr(ref, name), (x,), (rx,), name)
    check(ref, getattr(td.Tensor, name), getattr(ref.Tensor, name), (x,), (rx,), name)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", FLOAT_UNARY + SAME_UNARY)
def test_unary_edge_shapes(ref, name, shape):
    x, rx = make(ref, values("float32", shape), "float32")
    check(ref, getattr(td, name), getattr(ref, name), (x,), (rx,), name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", FLOAT_UNARY + SAME_UNARY + list(ACTIVATIONS))
def test_unary_nan_and_inf(ref, name, dtype):
    x, rx = make(ref, SPECIAL, dtype)
    ref_fn = getattr(ref.nn.functional, name) if name in ACTIVATIONS else getattr(ref, name)
    check(ref, getattr(td, name), ref_fn, (x,), (rx,), name)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("name,kwargs", [
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("softplus", {}),
    ("softplus", {"beta": 2, "threshold": 1}), ("softplus", {"beta": 0.5})])
def test_activations(ref, name, kwargs, dtype):
    x, rx = make(ref, values(dtype), dtype)
    check(ref, lambda a: getattr(td, name)(a, **kwargs),
          lambda a: getattr(ref.nn.functional, name)(a, **kwargs), (x,), (rx,), name)


def test_gelu_rejects_unknown_approximation(ref):
    with pytest.raises(RuntimeError, match="gelu"):
        force(td.gelu(td.tensor([1.0]), approximate="foo"))
    with pytest.raises(RuntimeError):
        ref.nn.functional.gelu(ref.tensor([1.0]), approximate="foo")


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_round_half_to_even_with_decimals(ref, dtype, decimals):
    arr = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 2.35, 125.0, 135.0, 0.125])
    if dtype in INT_DTYPES or dtype == "bool":
        arr = values(dtype, (10,))
    x, rx = make(ref, arr, dtype)
    check(ref, lambda a: td.round(a, decimals=decimals), lambda a: ref.round(a, decimals=decimals),
          (x,), (rx,), "round")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ["int64", "bool"])
@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 7.0, "neginf": -8.0},
                                    {"nan": -1.0, "posinf": 2.0}])
def test_nan_to_num(ref, dtype, kwargs):
    arr = SPECIAL if dtype in FLOAT_DTYPES else values(dtype, (8,))
    x, rx = make(ref, arr, dtype)
    check(ref, lambda a: td.nan_to_num(a, **kwargs), lambda a: ref.nan_to_num(a, **kwargs),
          (x,), (rx,), "nan_to_num")


@pytest.mark.parametrize("eps", [None, 0.1, 0.0, -1.0])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_logit_eps(ref, eps, dtype):
    arr = np.array([0.0, 0.05, 0.5, 0.95, 1.0, 1.5, -0.5]) if dtype != "int64" else values(dtype, (7,))
    x, rx = make(ref, arr, dtype)
    check(ref, lambda a: td.logit(a, eps), lambda a: ref.logit(a, eps), (x,), (rx,), "logit")


# ------------------------------------------------------------------ binary
ARITH = ["floor_divide", "remainder", "fmod", "pow", "atan2", "maximum", "minimum"]
BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
LOGICAL = ["logical_and", "logical_or", "logical_xor"]
BINARY = ARITH + BITWISE + COMPARE + LOGICAL
DIVIDING = {"floor_divide", "remainder", "fmod"}
DTYPE_PAIRS = [(d, d) for d in TORCH_DTYPES] + [
    ("int64", "float32"), ("bool", "int32"), ("uint8", "int8"), ("float16", "float32"),
    ("bfloat16", "float16"), ("int32", "float64"), ("bool", "float32"), ("int16", "int64")]


def binary_args(ref, name, da, db, sa=(3, 4), sb=(3, 4)):
    a = values(da, sa, seed=1)
    b = values(db, sb, seed=2, nonzero=name in DIVIDING)
    if name == "pow" and db in INT_DTYPES:
        b = np.clip(b, 0 if da in INT_DTYPES + ["bool"] else -3, 3)
    return make(ref, a, da), make(ref, b, db)


@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_over_dtypes(ref, name, da, db):
    (a, ra), (b, rb) = binary_args(ref, name, da, db)
    check(ref, getattr(td, name), getattr(ref, name), (a, b), (ra, rb), name)
    check(ref, getattr(td.Tensor, name), getattr(ref.Tensor, name), (a, b), (ra, rb), name)


@pytest.mark.parametrize("sa,sb", BROADCAST)
@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcasts(ref, name, sa, sb):
    (a, ra), (b, rb) = binary_args(ref, name, "float32", "float32", sa, sb)
    check(ref, getattr(td, name), getattr(ref, name), (a, b), (ra, rb), name)
    check(ref, getattr(td, name), getattr(ref, name), (b, a), (rb, ra), name)


@pytest.mark.parametrize("scalar", [2, -3, 2.5, True, 0.5])
@pytest.mark.parametrize("dtype", ["int64", "int8", "float32", "float16", "bool"])
@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "pow"] + BITWISE + COMPARE)
def test_binary_with_a_python_number(ref, name, dtype, scalar):
    x, rx = make(ref, values(dtype, seed=3, nonzero=True), dtype)
    check(ref, getattr(td, name), getattr(ref, name), (x, scalar), (rx, scalar), name)
    if name not in ("fmod",) + tuple(COMPARE):  # ops with a Scalar self overload
        check(ref, getattr(td, name), getattr(ref, name), (scalar, x), (scalar, rx), name)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name", ARITH + COMPARE + LOGICAL)
def test_binary_nan_and_inf(ref, name, dtype):
    a, ra = make(ref, SPECIAL, dtype)
    b, rb = make(ref, SPECIAL[::-1].copy(), dtype)
    check(ref, getattr(td, name), getattr(ref, name), (a, b), (ra, rb), name)


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_division_by_zero_raises(ref, name, dtype):
    x = td.tensor([1, 2, 3], dtype=getattr(td, dtype))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(ref, name)(ref.tensor([1, 2, 3], dtype=getattr(ref, dtype)), 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        force(getattr(td, name)(x, 0))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        force(getattr(td, name)(x, td.tensor([1, 0, 1], dtype=getattr(td, dtype))))


def test_integer_min_divided_by_minus_one_wraps_without_crashing():
    # PyTorch itself dies of SIGFPE here; the daemon must not.
    for dtype in ("int32", "int64"):
        lo = int(np.iinfo(dtype).min)
        x = td.tensor([lo, 7, -7], dtype=getattr(td, dtype))
        assert td.floor_divide(x, -1).tolist() == [lo, -7, 7]
        assert td.remainder(x, -1).tolist() == [0, 0, 0]
        assert td.fmod(x, -1).tolist() == [0, 0, 0]


def test_integer_pow(ref):
    base, rbase = make(ref, np.array([-2, -1, 0, 1, 2, 3, 7]), "int64")
    for e in (0, 1, 2, 3, 21):
        assert_same(td.pow(base, e), ref.pow(rbase, e))
    exps, rexps = make(ref, np.array([-1, -2, -3, 0, -1, 2, 30]), "int64")
    assert_same(td.pow(base, exps), ref.pow(rbase, rexps))
    small, rsmall = make(ref, np.array([3, -3, 100]), "int8")
    assert_same(small ** 5, rsmall ** 5)
    with pytest.raises(RuntimeError, match="negative integer powers"):
        ref.pow(rbase, -1)
    with pytest.raises(RuntimeError, match="pow"):
        td.pow(base, -1).tolist()


@pytest.mark.parametrize("name", ["maximum", "minimum", "atan2", "logical_and"])
def test_tensor_only_other_rejects_numbers(ref, name):
    with pytest.raises(TypeError):
        getattr(ref, name)(ref.tensor([1.0]), 2)
    with pytest.raises(TypeError, match=name):
        getattr(td, name)(td.tensor([1.0]), 2)


def test_bitwise_ops_reject_floating(ref):
    for name in BITWISE:
        with pytest.raises(RuntimeError):
            getattr(ref, name)(ref.tensor([1.0]), ref.tensor([1.0]))
        with pytest.raises(RuntimeError, match=name):
            force(getattr(td, name)(td.tensor([1.0]), td.tensor([1.0])))
        with pytest.raises(RuntimeError, match=name):
            force(getattr(td, name)(td.tensor([1]), 1.5))
    with pytest.raises(RuntimeError, match="bitwise_not"):
        force(td.bitwise_not(td.tensor([1.0])))


def test_binary_shape_mismatch_raises_at_the_call(ref):
    for name in BINARY:
        with pytest.raises(RuntimeError, match=name):
            getattr(td, name)(td.zeros(2, 3), td.zeros(4))


# ------------------------------------------------------------ ternary ops
@pytest.mark.parametrize("cond_dtype", ["bool", "uint8"])
@pytest.mark.parametrize("da,db", [("float32", "float32"), ("int64", "float32"), ("int8", "int16"),
                                   ("bool", "bool"), ("float16", "float64"), ("bfloat16", "int64")])
def test_where_over_dtypes(ref, cond_dtype, da, db):
    c, rc = make(ref, values("bool", (3, 4), seed=5), cond_dtype)
    (a, ra), (b, rb) = binary_args(ref, "where", da, db)
    check(ref, td.where, ref.where, (c, a, b), (rc, ra, rb), "where")


@pytest.mark.parametrize("shapes", [((3, 4), (4,), (3, 1)), ((), (3, 4), ()), ((0, 4), (4,), ()),
                                    ((2, 1, 4), (3, 1), (4,))])
def test_where_broadcasts(ref, shapes):
    c, rc = make(ref, values("bool", shapes[0], seed=6), "bool")
    a, ra = make(ref, values("float32", shapes[1], seed=7), "float32")
    b, rb = make(ref, values("float32", shapes[2], seed=8), "float32")
    check(ref, td.where, ref.where, (c, a, b), (rc, ra, rb), "where")
    assert_same(c.where(a, b) if False else a.where(c, b), ra.where(rc, rb))


@pytest.mark.parametrize("x,y", [(1, 2.0), (1, 2), (True, 2), (2.5, "t"), ("t", 3), ("t8", 1.5)])
def test_where_with_python_numbers(ref, x, y):
    c, rc = make(ref, values("bool", (3, 4), seed=9), "bool")
    t8, rt8 = make(ref, values("int8", (3, 4)), "int8")
    t, rt = make(ref, values("int64", (3, 4)), "int64")
    pick = {"t": (t, rt), "t8": (t8, rt8)}
    tx, rx = pick.get(x, (x, x)) if isinstance(x, str) else (x, x)
    ty, ry = pick.get(y, (y, y)) if isinstance(y, str) else (y, y)
    check(ref, td.where, ref.where, (c, tx, ty), (rc, rx, ry), "where")


def test_where_rejects_a_non_bool_condition(ref):
    with pytest.raises(RuntimeError):
        ref.where(ref.tensor([1, 0]), ref.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(RuntimeError, match="where"):
        td.where(td.tensor([1, 0]), td.tensor([1.0, 2.0]), 0.0)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("weight", [0.25, 0.75, "tensor", "tensor0d"])
def test_lerp(ref, dtype, weight):
    (a, ra), (b, rb) = binary_args(ref, "lerp", dtype, dtype, (3, 4), (4,))
    if weight == "tensor":
        w, rw = make(ref, np.linspace(-0.5, 1.5, 12).reshape(3, 4), dtype)
    elif weight == "tensor0d":
        w, rw = make(ref, np.array(0.6), dtype)
    else:
        w, rw = weight, weight
    check(ref, td.lerp, ref.lerp, (a, b, w), (ra, rb, rw), "lerp")


def test_lerp_needs_one_dtype(ref):
    a = td.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError):
        ref.lerp(ref.tensor([1.0]), ref.tensor([1.0], dtype=ref.float64), 0.5)
    with pytest.raises(RuntimeError, match="lerp"):
        td.lerp(a, a.double(), 0.5)
    with pytest.raises(RuntimeError, match="lerp"):
        td.lerp(a, a, td.tensor(0.5, dtype=td.float64))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("lo,hi", [(-1, 1), (None, 0.5), (0.5, None), (2, -2), (-1.5, 1.5),
                                   (True, None), ("t", "t"), ("t", None), (None, "t0"),
                                   (float("nan"), None), ("nan", None)])
def test_clamp(ref, dtype, lo, hi):
    x, rx = make(ref, values(dtype, seed=11), dtype)
    tensors = {"t": make(ref, values(dtype, (4,), seed=12), dtype),
               "t0": make(ref, np.array(1.0), "float32"),
               "nan": make(ref, np.array(np.nan), "float32")}
    tlo, rlo = tensors.get(lo, (lo, lo)) if isinstance(lo, str) else (lo, lo)
    thi, rhi = tensors.get(hi, (hi, hi)) if isinstance(hi, str) else (hi, hi)
    for name in ("clamp", "clip"):
        check(ref, lambda a, m, n: getattr(td, name)(a, min=m, max=n),
              lambda a, m, n: getattr(ref, name)(a, min=m, max=n), (x, tlo, thi), (rx, rlo, rhi), name)


def test_clamp_needs_a_bound(ref):
    with pytest.raises(RuntimeError):
        ref.clamp(ref.tensor([1.0]))
    with pytest.raises(RuntimeError, match="clamp"):
        td.clamp(td.tensor([1.0]))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"rtol": 0.1}, {"atol": 0.5, "rtol": 0.0},
                                    {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}])
def test_isclose(ref, dtype, kwargs):
    a_arr = values(dtype, (3, 4), seed=13)
    b_arr = a_arr + (np.random.RandomState(14).rand(3, 4) * 0.2 if dtype in FLOAT_DTYPES else 0)
    if dtype in FLOAT_DTYPES:
        a_arr[0, :] = [np.nan, np.inf, -np.inf, np.nan]
        b_arr[0, :] = [np.nan, np.inf, np.inf, 1.0]
    a, ra = make(ref, a_arr, dtype)
    b, rb = make(ref, b_arr[0] if dtype == "int64" else b_arr, dtype)
    check(ref, lambda x, y: td.isclose(x, y, **kwargs), lambda x, y: ref.isclose(x, y, **kwargs),
          (a, b), (ra, rb), "isclose")


def test_isclose_errors(ref):
    a = td.tensor([1.0])
    with pytest.raises(RuntimeError, match="isclose"):
        td.isclose(a, td.tensor([1]))
    with pytest.raises(RuntimeError, match="isclose"):
        td.isclose(a, a, rtol=-1.0)
    with pytest.raises(RuntimeError, match="isclose"):
        td.isclose(a, a, atol=-1.0)


# ---------------------------------------------------------------- in place
INPLACE_UNARY = ["exp_", "log_", "sqrt_", "abs_", "neg_", "floor_", "ceil_", "trunc_", "round_",
                 "relu_", "sigmoid_", "tanh_", "sign_", "square_", "frac_", "reciprocal_",
                 "sin_", "erf_", "logit_", "nan_to_num_", "bitwise_not_", "logical_not_", "zero_"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int8", "bool"])
@pytest.mark.parametrize("name", INPLACE_UNARY)
def test_unary_in_place(ref, name, dtype):
    x, rx = make(ref, values(dtype, seed=15), dtype)
    try:
        getattr(rx, name)()
    except RuntimeError as e:
        want = _half_fallback(ref, lambda a: getattr(a, name)(), (rx,), e)
        if want is not None:
            rx.copy_(want)
        else:
            with pytest.raises(RuntimeError, match=name):
                force(getattr(x, name)())
            return
    r = getattr(x, name)()
    assert r is x
    assert_same(x, rx, rtol=1e-4, atol=1e-5)


INPLACE_BINARY = ["add_", "sub_", "mul_", "div_", "pow_", "floor_divide_", "remainder_", "fmod_",
                  "atan2_", "bitwise_and_", "bitwise_or_", "bitwise_xor_", "eq_", "lt_", "ge_",
                  "logical_and_", "logical_or_", "logical_xor_"]


@pytest.mark.parametrize("ds,do", [("float32", "float32"), ("float32", "int64"), ("int64", "int32"),
                                   ("int64", "float32"), ("bool", "bool"), ("int8", "bool"),
                                   ("float16", "float64")])
@pytest.mark.parametrize("name", INPLACE_BINARY)
def test_binary_in_place(ref, name, ds, do):
    (x, rx), (o, ro) = binary_args(ref, name.rstrip("_"), ds, do, (3, 4), (4,))
    try:
        getattr(rx, name)(ro)
    except (RuntimeError, TypeError) as e:
        with pytest.raises(type(e), match=name):
            force(getattr(x, name)(o))
        return
    r = getattr(x, name)(o)
    assert r is x
    assert_same(x, rx, rtol=1e-4, atol=1e-5)


def test_in_place_through_a_view_updates_the_base(ref):
    base, rbase = make(ref, values("float32", (3, 4), seed=16), "float32")
    v, rv = base.view(4, 3), rbase.view(4, 3)
    v.clamp_(-1, 1).mul_(2).pow_(2).sqrt_()
    rv.clamp_(-1, 1).mul_(2).pow_(2).sqrt_()
    assert_same(base, rbase)
    base.view(-1).zero_()
    assert base.tolist() == [[0.0] * 4] * 3


@pytest.mark.parametrize("lo,hi", [(-1, 1), (None, 0.0), ("t", "t"), ("t", None)])
def test_clamp_and_lerp_in_place(ref, lo, hi):
    x, rx = make(ref, values("float32", seed=17), "float32")
    t, rt = make(ref, values("float32", (4,), seed=18), "float32")
    tlo, rlo = (t, rt) if lo == "t" else (lo, lo)
    thi, rhi = (t, rt) if hi == "t" else (hi, hi)
    assert x.clamp_(tlo, thi) is x
    rx.clamp_(rlo, rhi)
    assert_same(x, rx)
    x.lerp_(t, 0.3)
    rx.lerp_(rt, 0.3)
    assert_same(x, rx)


def test_in_place_rejects_results_self_cannot_hold(ref):
    i = td.tensor([1, 2, 3])
    for fn in (lambda m, t: t.sqrt_(), lambda m, t: t.clamp_(0.5), lambda m, t: t.pow_(2.5),
               lambda m, t: t.exp_(), lambda m, t: t.add_(m.tensor([1.5]))):
        with pytest.raises(RuntimeError):
            fn(ref, ref.tensor([1, 2, 3]))
        with pytest.raises(RuntimeError, match="can't be cast"):
            fn(td, i)
    with pytest.raises(RuntimeError, match="square_"):
        td.tensor([True]).square_()
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        td.zeros(4).mul_(td.zeros(2, 4))


# --------------------------------------------------------------- operators
OPERATORS = [
    ("==", lambda a, b: a == b), ("!=", lambda a, b: a != b), ("<", lambda a, b: a < b),
    ("<=", lambda a, b: a <= b), (">", lambda a, b: a > b), (">=", lambda a, b: a >= b),
    ("//", lambda a, b: a // b), ("%", lambda a, b: a % b), ("**", lambda a, b: a ** b),
    ("&", lambda a, b: a & b), ("|", lambda a, b: a | b), ("^", lambda a, b: a ^ b),
]


@pytest.mark.parametrize("da,db", [("int64", "int64"), ("float32", "float32"), ("bool", "bool"),
                                   ("int32", "float64"), ("uint8", "bool")])
@pytest.mark.parametrize("sym,fn", OPERATORS)
def test_operators(ref, sym, fn, da, db):
    name = {"//": "floor_divide", "%": "remainder", "**": "pow", "&": "bitwise_and",
            "|": "bitwise_or", "^": "bitwise_xor"}.get(sym, "")
    (a, ra), (b, rb) = binary_args(ref, name or "eq", da, db, (3, 4), (4,))
    check(ref, fn, fn, (a, b), (ra, rb), name)
    for s in (2, 1.5, True):
        check(ref, fn, fn, (a, s), (ra, s), name)
        check(ref, fn, fn, (s, a), (s, ra), name)


@pytest.mark.parametrize("sym", ["//=", "%=", "**=", "&=", "|=", "^="])
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
def test_in_place_operators(ref, sym, dtype):
    name = {"//=": "floor_divide_", "%=": "remainder_", "**=": "pow_", "&=": "bitwise_and_",
            "|=": "bitwise_or_", "^=": "bitwise_xor_"}[sym]
    (x, rx), (o, ro) = binary_args(ref, name.rstrip("_"), dtype, dtype, (3, 4), (4,))
    code = f"x {sym} o"
    try:
        ns = {"x": rx, "o": ro}
        exec(code, ns)
        rx = ns["x"]
    except (RuntimeError, TypeError) as e:
        with pytest.raises(type(e), match=name):
            ns = {"x": x, "o": o}
            exec(code, ns)
            force(ns["x"])
        return
    ns = {"x": x, "o": o}
    exec(code, ns)
    assert ns["x"] is x
    assert_same(x, rx)


def test_unary_operators(ref):
    for dtype in ("int64", "bool", "uint8"):
        x, rx = make(ref, values(dtype), dtype)
        assert_same(~x, ~rx)
    f, rf = make(ref, values("float32"), "float32")
    assert_same(abs(f), abs(rf))
    assert_same(-f, -rf)
    with pytest.raises(TypeError):
        ~rf
    with pytest.raises(TypeError, match="invert"):
        ~f


def test_comparison_with_other_objects(ref):
    x, rx = td.tensor([1, 2]), ref.tensor([1, 2])
    assert (x == "a") == (rx == "a") is False
    assert (x == None) == (rx == None) is False  # noqa: E711
    assert (x != None) == (rx != None) is True  # noqa: E711
    with pytest.raises(TypeError):
        rx < "a"
    with pytest.raises(TypeError):
        x < "a"


def test_aliases(ref):
    x, rx = make(ref, values("float32"), "float32")
    for alias in ("absolute", "negative", "arctan", "fix", "greater", "less_equal", "not_equal",
                  "multiply", "subtract", "true_divide"):
        args = (x,) if alias in ("absolute", "negative", "arctan", "fix") else (x, x)
        rargs = (rx,) if len(args) == 1 else (rx, rx)
        check(ref, getattr(td, alias), getattr(ref, alias), args, rargs, alias)
        check(ref, getattr(td.Tensor, alias), getattr(ref.Tensor, alias), args, rargs, alias)


# ------------------------------------------------------------ non-contiguous
def _transpose(x: Any) -> Any:
    for name in ("t", "transpose", "permute"):
        if hasattr(td.Tensor, name):
            return x.t() if name == "t" else (x.transpose(0, 1) if name == "transpose" else x.permute(1, 0))
    pytest.skip("needs a transposing view op (shape family)")


@pytest.mark.parametrize("name", ["exp", "abs", "round", "sigmoid", "isnan", "floor_divide",
                                  "pow", "maximum", "eq", "logical_xor", "bitwise_and"])
def test_non_contiguous_inputs(ref, name):
    dtype = "int64" if name == "bitwise_and" else "float32"
    base, rbase = make(ref, values(dtype, (4, 3), seed=19, nonzero=True), dtype)
    other, rother = make(ref, values(dtype, (3, 4), seed=20, nonzero=True), dtype)
    x, rx = _transpose(base), rbase.t()
    args, rargs = ((x,), (rx,)) if name in FLOAT_UNARY + SAME_UNARY else ((x, other), (rx, rother))
    check(ref, getattr(td, name), getattr(ref, name), args, rargs, name)
