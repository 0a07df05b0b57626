"""Factories (linspace, logspace, eye, *_like, zero_) against torch, and the
random ops: draws need not equal torch's stream, so these pin down
reproducibility under manual_seed, value ranges, dtypes/shapes as torch gives
them, distribution moments, and torch's errors."""
import math

import numpy as np
import pytest

import tensord as td
from helpers import TORCH_DTYPES, assert_meta_matches, assert_same, pair, to_numpy

FLOATS = ["float16", "bfloat16", "float32", "float64"]
NUMERIC = ["uint8", "int8", "int16", "int32", "int64"] + FLOATS


def dt(name):
    return getattr(td, name)


@pytest.mark.parametrize("dtype", NUMERIC + [None])
@pytest.mark.parametrize("start,end,steps", [(0, 10, 5), (0, 1, 0), (3, 1, 1), (2, 7.5, 7),
                                             (-5, 5.5, 7), (10, 0, 4), (0.5, 100, 101)])
def test_linspace_matches_torch(ref, dtype, start, end, steps):
    if dtype in ("uint8",) and min(start, end) < 0:
        return
    kw = {} if dtype is None else {"dtype": dt(dtype)}
    rkw = {} if dtype is None else {"dtype": getattr(ref, dtype)}
    assert_same(td.linspace(start, end, steps, **kw), ref.linspace(start, end, steps, **rkw))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bfloat16"])
@pytest.mark.parametrize("start,end,steps,base", [(0, 2, 3, 10), (0, 3, 4, 2), (-2, 2, 5, 10),
                                                  (1, 1, 1, 10), (0, 1, 0, 10), (0, 4, 9, 3.0)])
def test_logspace_matches_torch(ref, dtype, start, end, steps, base):
    if dtype in ("int64", "int32") and start < 0:
        return
    assert_same(td.logspace(start, end, steps, base=base, dtype=dt(dtype)),
                ref.logspace(start, end, steps, base=base, dtype=getattr(ref, dtype)), rtol=1e-5)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("nm", [(3,), (2, 3), (4, 2), (0,), (0, 3), (1, 1)])
def test_eye_matches_torch(ref, dtype, nm):
    if dtype == "bfloat16":  # torch 1.13 has no bfloat16 eye on CPU
        with pytest.raises(RuntimeError, match="\"eye\" not implemented for 'BFloat16'"):
            td.eye(*nm, dtype=td.bfloat16)
        return
    assert_same(td.eye(*nm, dtype=dt(dtype)), ref.eye(*nm, dtype=getattr(ref, dtype)))
    assert_same(td.eye(*nm), ref.eye(*nm))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_zero_writes_through_a_view(ref, dtype):
    base = td.ones(6, dtype=dt(dtype))
    v = base.view(2, 3)
    assert v.zero_() is v
    assert_same(base, ref.zeros(6, dtype=getattr(ref, dtype)))
    e = td.ones(0, 3, dtype=dt(dtype)).zero_()
    assert_same(e, ref.zeros(0, 3, dtype=getattr(ref, dtype)))
    if dtype != "bfloat16":  # the client cannot fetch a 0-d bfloat16 yet
        s = td.tensor(5, dtype=dt(dtype)).zero_()
        assert_same(s, ref.tensor(0, dtype=getattr(ref, dtype)))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_like_factories_follow_the_input(ref, dtype):
    x, rx = pair(ref, np.arange(6).reshape(2, 3) % 2, dtype)
    assert_same(td.zeros_like(x), ref.zeros_like(rx))
    assert_same(td.ones_like(x), ref.ones_like(rx))
    assert_same(td.full_like(x, 1), ref.full_like(rx, 1))
    assert_same(td.ones_like(x, dtype=td.float64), ref.ones_like(rx, dtype=ref.float64))
    e = td.empty_like(x)
    assert e.dtype is x.dtype and e.shape == x.shape
    assert_meta_matches(e)
    if dtype in FLOATS:
        for name in ("rand_like", "randn_like"):
            r = getattr(td, name)(x)
            assert r.dtype is x.dtype and r.shape == x.shape
            assert_meta_matches(r)
    else:
        with pytest.raises(RuntimeError, match="not implemented for"):
            td.rand_like(x)
    if dtype != "bool":
        r = td.randint_like(x, 3)
        assert r.dtype is x.dtype and r.shape == x.shape
        assert set(to_numpy(r).ravel().tolist()) <= {0, 1, 2}
        r = td.randint_like(x, 1, high=3)
        assert set(to_numpy(r).ravel().tolist()) <= {1, 2}


def test_full_like_keeps_the_input_dtype(ref):
    x = td.ones(2, dtype=td.int64)
    assert_same(td.full_like(x, 2.5), ref.full_like(ref.ones(2, dtype=ref.int64), 2.5))


# ------------------------------------------------------------------ random

DRAWS = {
    "rand": lambda m: m.rand(3, 4),
    "randn": lambda m: m.randn((5,), dtype=m.float64),
    "randint": lambda m: m.randint(0, 100, (6,)),
    "randperm": lambda m: m.randperm(20),
    "normal": lambda m: m.normal(1.0, 2.0, (4,)),
    "normal_tensor": lambda m: m.normal(m.zeros(3), m.ones(2, 1)),
    "normal_": lambda m: m.zeros(5).normal_(),
    "uniform_": lambda m: m.zeros(5, dtype=m.float64).uniform_(-1, 1),
    "bernoulli": lambda m: m.bernoulli(m.full((8,), 0.5)),
    "bernoulli_": lambda m: m.zeros(8, dtype=m.int32).bernoulli_(0.5),
    "multinomial": lambda m: m.multinomial(m.ones(2, 10), 4),
    "rand_like": lambda m: m.rand_like(m.zeros(2, 2)),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_manual_seed_makes_draws_reproducible(ref, name):
    draw = DRAWS[name]
    td.manual_seed(1234)
    a = draw(td)
    b = draw(td)
    td.manual_seed(1234)
    c = draw(td)
    want = draw(ref)
    assert a.dtype._name == str(want.dtype).replace("torch.", "") and a.shape == tuple(want.shape)
    assert_meta_matches(a)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(c))
    assert not np.array_equal(to_numpy(a), to_numpy(b)), "consecutive draws repeat"
    td.manual_seed(99)
    assert not np.array_equal(to_numpy(draw(td)), to_numpy(a)), "seed did not change the draw"


@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_is_uniform_on_0_1(dtype):
    x = to_numpy(td.rand(100_000, dtype=dt(dtype)))
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.01
    assert abs(x.std() - math.sqrt(1 / 12)) < 0.01


@pytest.mark.parametrize("dtype", FLOATS)
def test_randn_moments(dtype):
    x = to_numpy(td.randn(100_000, dtype=dt(dtype))).astype(np.float64)
    assert abs(x.mean()) < 0.02 and abs(x.std() - 1) < 0.02
    assert abs(((x - x.mean()) ** 3).mean()) < 0.05  # symmetric
    assert abs((x ** 4).mean() - 3) < 0.15  # normal kurtosis


def test_randn_varargs_and_shapes(ref):
    assert td.randn(2, 3).shape == td.Size([2, 3])
    assert td.rand((2, 3)).shape == td.Size([2, 3])
    assert td.rand([0, 3]).shape == td.Size([0, 3])
    assert td.randn(()).shape == td.Size([])
    assert td.rand(2, generator=None).dtype is td.float32


def test_normal_forms_and_moments(ref):
    x = to_numpy(td.normal(3.0, 2.0, (100_000,)))
    assert abs(x.mean() - 3) < 0.03 and abs(x.std() - 2) < 0.03
    x = to_numpy(td.normal(td.full((50_000,), -1.0), td.full((50_000,), 0.5)))
    assert abs(x.mean() + 1) < 0.02 and abs(x.std() - 0.5) < 0.02
    for args in [(ref.ones(3), 1), (ref.ones(3), ref.ones(2, 1)), (0, ref.ones(3)),
                 (ref.ones(3, dtype=ref.float64), ref.ones(3))]:
        targs = tuple(td.tensor(to_numpy(a), dtype=dt(str(a.dtype)[6:])) if hasattr(a, "dtype") else a
                      for a in args)
        got, want = td.normal(*targs), ref.normal(*args)
        assert got.dtype._name == str(want.dtype)[6:] and got.shape == tuple(want.shape)
    assert td.normal(2, 3, (2,), dtype=td.float64).dtype is td.float64
    assert (to_numpy(td.normal(td.zeros(4), 0.0)) == 0).all()


def test_normal_and_uniform_in_place_fill_only_the_view():
    base = td.full((4, 6), 7.0)
    v = base.view(24)
    r = v.normal_(5, 0.0)
    assert r is v and (to_numpy(base) == 5).all()
    x = to_numpy(td.empty(100_000).uniform_(2, 5))
    assert x.min() >= 2 and x.max() < 5
    assert abs(x.mean() - 3.5) < 0.02
    x = to_numpy(td.empty(100_000, dtype=td.float64).normal_(-2, 3))
    assert abs(x.mean() + 2) < 0.05 and abs(x.std() - 3) < 0.05
    assert (to_numpy(td.empty(5).uniform_(1, 1)) == 1).all()


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "float32", "float64"])
def test_randint_range_and_dtype(ref, dtype):
    x = td.randint(3, 10, (10_000,), dtype=dt(dtype))
    assert x.dtype is dt(dtype) and x.shape == td.Size([10_000])
    v = to_numpy(x)
    assert set(v.ravel().tolist()) == set(range(3, 10))
    assert abs(v.mean() - 6) < 0.1


def test_randint_python_forms(ref):
    assert td.randint(5, (2, 3)).dtype is td.int64
    assert td.randint(5, (2, 3)).shape == td.Size([2, 3])
    assert set(to_numpy(td.randint(2, size=(1000,))).tolist()) == {0, 1}
    assert set(to_numpy(td.randint(low=4, high=6, size=(1000,))).tolist()) == {4, 5}
    assert set(to_numpy(td.randint(high=3, size=[1000])).tolist()) == {0, 1, 2}
    assert td.randint(0, 2, (4,), dtype=td.bool).dtype is td.bool
    assert td.randint(0, 2, (0,)).shape == td.Size([0])
    big = to_numpy(td.randint(-(2 ** 62), 2 ** 62, (1000,)))
    assert big.min() < -(2 ** 60) and big.max() > 2 ** 60


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000])
@pytest.mark.parametrize("dtype", [None, "int32", "float32", "uint8"])
def test_randperm_is_a_permutation(ref, n, dtype):
    if dtype == "uint8" and n > 256:
        return
    kw = {} if dtype is None else {"dtype": dt(dtype)}
    p = td.randperm(n, **kw)
    want = ref.randperm(n, **({} if dtype is None else {"dtype": getattr(ref, dtype)}))
    assert p.dtype._name == str(want.dtype)[6:] and p.shape == tuple(want.shape)
    assert sorted(to_numpy(p).tolist()) == list(range(n))
    if n >= 10:
        assert to_numpy(p).tolist() != list(range(n))


def test_bernoulli_frequencies():
    x = to_numpy(td.bernoulli(td.full((100_000,), 0.3)))
    assert set(x.tolist()) <= {0.0, 1.0} and abs(x.mean() - 0.3) < 0.01
    p = td.tensor([0.0, 1.0, 0.0, 1.0] * 100, dtype=td.float64)
    r = td.bernoulli(p)
    assert r.dtype is td.float64
    np.testing.assert_array_equal(to_numpy(r), to_numpy(p))
    x = to_numpy(td.ones(100_000, dtype=td.int64).bernoulli(0.8))
    assert x.dtype == np.int64 and abs(x.mean() - 0.8) < 0.01
    x = to_numpy(td.bernoulli(td.full((100_000,), 0.5), p=0.1))
    assert abs(x.mean() - 0.1) < 0.01


def test_bernoulli_in_place_scalar_and_broadcast_tensor(ref):
    b = td.zeros(50_000, dtype=td.bool)
    assert b.bernoulli_(0.25) is b
    assert abs(to_numpy(b).mean() - 0.25) < 0.01
    base = td.zeros(4, 3)
    v = base.view(12).view(4, 3)
    v.bernoulli_(td.tensor([0.0, 1.0, 0.0], dtype=td.float64))
    np.testing.assert_array_equal(to_numpy(base), [[0, 1, 0]] * 4)
    assert to_numpy(td.zeros(1000).bernoulli_()).mean() > 0.4


def test_multinomial_without_replacement_gives_distinct_indices(ref):
    w = td.tensor([[1.0, 2.0, 3.0, 4.0, 0.0, 5.0]] * 200)
    s = td.multinomial(w, 5)
    assert s.dtype is td.int64 and s.shape == td.Size([200, 5])
    for row in to_numpy(s):
        assert len(set(row.tolist())) == 5 and 4 not in row.tolist()
    # zero-weight categories come only after every positive one
    s = to_numpy(td.multinomial(td.tensor([0.0, 1.0, 1.0, 0.0]), 3))
    assert set(s[:2].tolist()) == {1, 2} and s[2] in (0, 3)
    # the first pick follows the weights
    first = to_numpy(td.multinomial(td.tensor([[1.0, 3.0]] * 20_000), 1))[:, 0]
    assert abs(first.mean() - 0.75) < 0.02


def test_multinomial_with_replacement_frequencies():
    s = to_numpy(td.multinomial(td.tensor([1.0, 0.0, 3.0], dtype=td.float64), 40_000, True))
    assert s.shape == (40_000,) and 1 not in s.tolist()
    assert abs((s == 2).mean() - 0.75) < 0.01
    assert td.multinomial(td.ones(0, 3), 2).shape == td.Size([0, 2])


def test_multinomial_data_errors_raise_when_fetched():
    with pytest.raises(RuntimeError, match="invalid multinomial distribution"):
        td.multinomial(td.zeros(3), 1).tolist()
    with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan` or element < 0"):
        td.multinomial(td.tensor([1.0, -1.0]), 1).tolist()
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        td.bernoulli(td.full((3,), 2.0)).tolist()
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        td.normal(td.ones(3), -td.ones(3)).tolist()


ERRORS = [
    (lambda m: m.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda m: m.logspace(0, 1, -2), RuntimeError, "number of steps must be non-negative"),
    (lambda m: m.linspace(0, 1, 5, dtype=m.bool), RuntimeError, "not implemented for 'Bool'"),
    (lambda m: m.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda m: m.eye(2, -1), RuntimeError, "m must be greater or equal to 0, got -1"),
    (lambda m: m.rand(2, dtype=m.int64), RuntimeError, "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda m: m.randn(2, dtype=m.int64), RuntimeError, "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda m: m.rand(-1), RuntimeError, "negative dimension"),
    (lambda m: m.randint(5, 5, (3,)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=5"),
    (lambda m: m.randint(0, 300, (2,), dtype=m.uint8), RuntimeError, "to - 1 is out of bounds for unsigned char"),
    (lambda m: m.randint(-1, 3, (2,), dtype=m.uint8), RuntimeError, "from is out of bounds for unsigned char"),
    (lambda m: m.randint(2.5, 10, (3,)), TypeError, "randint"),
    (lambda m: m.randperm(-1), RuntimeError, "negative dimension"),
    # Its bytes wrap 64 bits to 64 (a fuzzer-found daemon crash).
    (lambda m: m.randint(0, 10, (2**61 + 8,)), RuntimeError, "Storage size calculation overflowed"),
    (lambda m: m.zeros(2**40, 2**40), RuntimeError, "Storage size calculation overflowed"),
    (lambda m: m.randperm(5, dtype=m.bool), RuntimeError, "\"randperm\" not implemented for 'Bool'"),
    (lambda m: m.randperm(300, dtype=m.uint8), RuntimeError, "without overflow"),
    (lambda m: m.randperm(3000, dtype=m.float16), RuntimeError, "n cannot be greater than 2049 for Half type"),
    (lambda m: m.ones(3).normal_(0, -1), RuntimeError, "normal expects std >= 0.0, but found std -1"),
    (lambda m: m.ones(3, dtype=m.int64).normal_(), RuntimeError, "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda m: m.ones(3).uniform_(2, 1), RuntimeError,
     r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"),
    (lambda m: m.normal(2, -1, (2,)), RuntimeError, "normal expects std >= 0.0, but found std -1"),
    (lambda m: m.normal(m.ones(3), m.ones(4)), RuntimeError, "must match the size of tensor b"),
    (lambda m: m.normal(m.ones(3, dtype=m.int64), 1.0), RuntimeError, "not implemented for 'Long'"),
    (lambda m: m.normal(m.ones(3), 1, (3,)), TypeError, "normal"),
    (lambda m: m.bernoulli(m.ones(3, dtype=m.int64)), RuntimeError, "not implemented for 'Long'"),
    (lambda m: m.ones(3).bernoulli_(2.0), RuntimeError, "bernoulli_ expects p to be in \\[0, 1\\], but got p=2"),
    (lambda m: m.ones(3).bernoulli_(m.full((2,), 0.5)), RuntimeError,
     r"The expanded size of the tensor \(3\) must match the existing size \(2\)"),
    (lambda m: m.multinomial(m.ones(3), 4), RuntimeError,
     "cannot sample n_sample > prob_dist.size\\(-1\\) samples without replacement"),
    (lambda m: m.multinomial(m.ones(3), 0), RuntimeError, "cannot sample n_sample <= 0 samples"),
    (lambda m: m.multinomial(m.ones(3, dtype=m.int64), 1), RuntimeError,
     "multinomial only supports floating-point dtypes for input, got: Long"),
    (lambda m: m.multinomial(m.ones(2, 2, 2), 1), RuntimeError, "prob_dist must be 1 or 2 dim"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(ref, i):
    fn, exc, msg = ERRORS[i]
    with pytest.raises(exc, match=msg):
        fn(ref)
    with pytest.raises(exc, match=msg):
        fn(td)
