"""The core ops (arithmetic, copies, conversions, factories) over the dtype
matrix, against Debian's PyTorch."""
import itertools

import numpy as np
import pytest
from helpers import TORCH_DTYPES, assert_meta_matches, assert_same, pair

import tensord as td

ARITH = ["add", "sub", "mul", "div"]
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (5,)), ((0, 3), (3,))]


def values(shape, dtype, seed):
    rs = np.random.RandomState(seed)
    if dtype == "bool":
        return rs.rand(*shape) > 0.5
    if dtype == "uint8":
        return rs.randint(1, 20, size=shape)
    if dtype.startswith("int"):
        return rs.randint(-20, 20, size=shape) | 1  # odd: no division by zero
    return rs.randn(*shape) * 3


@pytest.mark.parametrize("op", ARITH)
@pytest.mark.parametrize("da,db", [(d, d) for d in TORCH_DTYPES] + [
    ("int32", "float32"), ("uint8", "int8"), ("float16", "bfloat16"), ("bool", "int64"),
    ("int64", "float64"), ("float16", "float32")])
def test_binary_arithmetic_matches_torch(ref, op, da, db):
    for (sa, sb), seed in zip(SHAPES, itertools.count()):
        ta, ra = pair(ref, values(sa, da, seed), da)
        tb, rb = pair(ref, values(sb, db, seed + 100), db)
        try:
            want = getattr(ref, op)(ra, rb)
        except RuntimeError as e:
            with pytest.raises(RuntimeError):
                getattr(td, op)(ta, tb).tolist()
            continue
        assert_same(getattr(td, op)(ta, tb), want, rtol=1e-5)


@pytest.mark.parametrize("op", ARITH)
@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "float64", "bool"])
@pytest.mark.parametrize("scalar", [2, -3, 1.5, True])
def test_python_numbers_promote_like_torch(ref, op, dtype, scalar):
    ta, ra = pair(ref, values((2, 3), dtype, 7), dtype)
    for args_t, args_r in [((ta, scalar), (ra, scalar))]:
        try:
            want = getattr(ref, op)(*args_r)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                getattr(td, op)(*args_t).tolist()
            continue
        assert_same(getattr(td, op)(*args_t), want)


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dtype", ["int64", "int16", "float32", "float64"])
def test_div_rounding_modes(ref, mode, dtype):
    ta, ra = pair(ref, values((4, 5), dtype, 3) * 7, dtype)
    tb, rb = pair(ref, values((5,), dtype, 4), dtype)
    assert_same(td.div(ta, tb, rounding_mode=mode), ref.div(ra, rb, rounding_mode=mode))
    with pytest.raises(ValueError, match="rounding_mode"):
        td.div(ta, tb, rounding_mode="nearest").tolist()


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_in_place_arithmetic(ref, op, dtype):
    a = values((3, 4), dtype, 11)
    b = values((4,), dtype, 12)
    ta, ra = pair(ref, a, dtype)
    tb, rb = pair(ref, b, dtype)
    try:
        getattr(ra, op)(rb)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(ta, op)(tb)
        return
    r = getattr(ta, op)(tb)
    assert r is ta
    assert_same(ta, ra)


def test_in_place_cannot_broadcast_self(ref):
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        td.zeros(3).add_(td.zeros(2, 3))


@pytest.mark.parametrize("src,dst", list(itertools.product(TORCH_DTYPES, repeat=2)))
def test_to_dtype_converts_like_torch(ref, src, dst):
    arr = np.array([-3.7, -1.0, 0.0, 0.49, 1.5, 2.5, 100.25, 255.0])
    t, r = pair(ref, arr if src not in ("uint8",) else np.abs(arr), src)
    want = r.to(getattr(ref, dst))
    got = t.to(getattr(td, dst))
    if src == dst:
        assert got is t
    assert_same(got, want)


def test_clone_contiguous_copy_fill(ref):
    t = td.arange(6).view(2, 3)
    c = t.clone()
    c.fill_(7)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert c.tolist() == [[7] * 3] * 2
    assert t.contiguous() is t
    d = td.zeros(2, 3, dtype=td.float64)
    d.copy_(td.tensor([1, 2, 3]))  # broadcast and convert
    assert d.tolist() == [[1.0, 2.0, 3.0]] * 2
    assert_meta_matches(d)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        td.zeros(3).copy_(td.zeros(2, 3))
    # contiguous() of a non-contiguous result is a real copy.
    e = td._C.call("contiguous", (t,))
    assert e.tolist() == t.tolist()


def test_reshape_and_exp(ref):
    x = np.random.RandomState(0).randn(2, 3, 4).astype(np.float32)
    t, r = td.tensor(x), ref.tensor(x)
    assert_same(t.reshape(6, 4), r.reshape(6, 4))
    assert_same(td.reshape(t, (-1,)), ref.reshape(r, (-1,)))
    assert_same(t.exp(), r.exp())
    assert_same(td.exp(td.tensor([1, 2])), ref.exp(ref.tensor([1, 2])))
    with pytest.raises(RuntimeError, match="invalid for input of size 24"):
        t.reshape(5, 5)


def test_empty_and_factories(ref):
    e = td.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype is td.float32
    assert td.empty((0, 4), dtype=td.int32).numel() == 0
    assert_same(td.zeros(2, 3, dtype=td.int16), ref.zeros(2, 3, dtype=ref.int16))
    assert_same(td.ones(4, dtype=td.bool), ref.ones(4, dtype=ref.bool))
    assert_same(td.full((2, 2), 2.5, dtype=td.float64), ref.full((2, 2), 2.5, dtype=ref.float64))
    with pytest.raises(RuntimeError, match="negative dimension"):
        td.zeros(2, -1)


def test_manual_seed_is_accepted():
    td.manual_seed(1234)
    td.synchronize()


def test_default_dtype_applies_to_factories(ref):
    td.set_default_dtype(td.float64)
    try:
        assert td.zeros(2).dtype is td.float64
        assert td.tensor([1.5]).dtype is td.float64
    finally:
        td.set_default_dtype(td.float32)
    assert td.zeros(2).dtype is td.float32


def _inplace_ops():
    out = []
    for op in td._C.op_table():
        name = op["name"]
        random = name in ("normal_", "uniform_", "bernoulli_")  # tested in test_creation.py
        if name.endswith("_") and not random and op["python"] in ("method", "both"):
            out.append((name, [p[1] for p in op["params"] if not p[2]]))
    return out


@pytest.mark.parametrize("name,ptypes", _inplace_ops(), ids=[n for n, _ in _inplace_ops()])
def test_every_in_place_method_matches_torch(ref, name, ptypes):
    """Each in-place method of the schema, on values in every op's domain
    (0.2..0.8, or 1.2..1.8 for acosh_), with a tensor for other operands."""
    base = np.linspace(0.2, 0.8, 12).reshape(3, 4)
    if name == "acosh_":
        base = base + 1
    extra_t, extra_r = [], []
    for i, pt in enumerate(ptypes[1:]):
        if pt in ("Tensor", "Tensor|Scalar"):
            other = np.linspace(0.8, 0.2, 4) + 0.05 * i
            extra_t.append(td.tensor(other))
            extra_r.append(ref.tensor(other))
        else:
            break
    t, r = td.tensor(base), ref.tensor(base)
    try:
        want = getattr(r, name)(*extra_r)
    except (RuntimeError, TypeError) as e:
        pytest.skip(f"torch rejects this sample: {e}")
    got = getattr(t, name)(*extra_t)
    assert got is t
    assert_same(t, want)
