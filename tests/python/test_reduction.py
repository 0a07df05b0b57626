"""Reductions, scans and sorts against PyTorch 1.13: values, dtypes, shapes,
index results, errors, and the return_types wrappers.

Where ties make indices ambiguous, the indices are checked by gathering the
input at them (they must select the reference's values). Floating inputs of
float16/bfloat16 are integer-valued so sums are exact in every order.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tensord as td
from helpers import FLOAT_DTYPES, TORCH_DTYPES, assert_meta_matches, assert_same, pair, to_numpy

INF = math.inf
SHAPES = [(), (0,), (5,), (3, 4), (2, 3, 4), (2, 0, 3)]


def data(shape, dtype, seed=0, nan=False):
    rng = np.random.RandomState(seed)
    if dtype == "bool":
        return rng.rand(*shape) > 0.5
    if dtype in ("float32", "float64") and not nan:
        return rng.randn(*shape) * 3
    if dtype in FLOAT_DTYPES:
        arr = rng.randint(-4, 5, size=shape).astype(np.float64)
        if nan and arr.size:
            arr.reshape(-1)[rng.rand(arr.size) < 0.2] = np.nan
        return arr
    lo = 0 if dtype == "uint8" else -5
    return rng.randint(lo, 6, size=shape)


def make(ref, shape, dtype, seed=0, nan=False, layout="contig"):
    """A (tensord, torch) pair; layout 'T' transposes, 'step' slices every other element."""
    if layout == "T":
        if not hasattr(td.Tensor, "transpose"):
            pytest.skip("tensord has no transpose yet for non-contiguous inputs")
        shape = tuple(reversed(shape))
    if layout == "step":
        if not hasattr(td.Tensor, "__getitem__"):
            pytest.skip("tensord has no slicing yet for non-contiguous inputs")
        shape = shape[:-1] + (shape[-1] * 2,)
    t, r = pair(ref, data(shape, dtype, seed, nan), dtype)
    if layout == "T":
        t, r = t.transpose(0, -1), r.transpose(0, -1)
        assert not t.is_contiguous()
    elif layout == "step":
        t, r = t[..., ::2], r[..., ::2]
    return t, r


def force(result):
    """Fetches every tensor of a result, so errors from the daemon surface."""
    if isinstance(result, tuple):
        for x in result:
            force(x)
    elif isinstance(result, td.Tensor):
        result.tolist()


def outcome(ref, td_call, ref_call):
    """(got, want), or None after checking that tensord raises what torch raises."""
    try:
        want = ref_call()
    except Exception as e:  # noqa: BLE001  the reference's exception is the spec
        with pytest.raises(type(e)):
            force(td_call())
        return None
    return td_call(), want


def tol(dtype):
    return (2e-2, 1e-1) if dtype in ("float16", "bfloat16") else (1e-5, 1e-6)


def check_indices(ref, x, got_idx, want_vals, dim, keepdim=True):
    """The input gathered at got_idx along dim equals the reference values."""
    assert got_idx.dtype is td.int64
    assert tuple(got_idx.shape) == tuple(want_vals.shape)
    assert_meta_matches(got_idx)
    idx = ref.tensor(to_numpy(got_idx), dtype=ref.int64)
    if dim is None:
        sel = x.reshape(-1)[idx.reshape(-1)].reshape(idx.shape)
    elif x.dim() == 0:
        sel = x.reshape(1)[idx.reshape(1)].reshape(idx.shape)
    else:
        g = idx if keepdim else idx.unsqueeze(dim)
        sel = ref.gather(x, dim, g)
        sel = sel if keepdim else sel.squeeze(dim)
    np.testing.assert_array_equal(to_numpy(sel), to_numpy(want_vals))


def same_or_raises(ref, td_call, ref_call, dtype="float32"):
    res = outcome(ref, td_call, ref_call)
    if res is None:
        return None
    got, want = res
    rtol, atol = tol(dtype)
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        assert type(got).__name__ == type(want).__name__
        for g, w in zip(got, want):
            assert_same(g, w, rtol, atol)
    else:
        assert_same(got, want, rtol, atol)
    return got, want


# ----------------------------------------------------------- dim-list reductions

def _red(name, keep=True):
    def call(m, x, d, k):
        kw = {} if d is None else ({"dim": d, "keepdim": k} if keep else {"dim": d})
        return getattr(m, name)(x, **kw)
    return call


DIMLIST = {
    "sum": _red("sum"), "nansum": _red("nansum"), "mean": _red("mean"),
    "amax": _red("amax"), "amin": _red("amin"), "std": _red("std"), "var": _red("var"),
    "std_mean": _red("std_mean"), "var_mean": _red("var_mean"),
    "count_nonzero": _red("count_nonzero", keep=False),
    "logsumexp": lambda m, x, d, k: m.logsumexp(x, 0 if d is None else d, k),
    "norm": _red("norm"),
}


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("op", sorted(DIMLIST))
def test_dimlist_reductions_over_dtypes(ref, op, dtype):
    x, r = make(ref, (3, 4), dtype)
    for d, k in [(None, False), (1, False), ((0, 1), True)]:
        same_or_raises(ref, lambda: DIMLIST[op](td, x, d, k), lambda: DIMLIST[op](ref, r, d, k), dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", sorted(DIMLIST))
def test_dimlist_reductions_over_shapes_and_dims(ref, op, shape):
    n = len(shape)
    dims = [None, 0, -1] + ([(0, -1), [-1, 0, 1]] if n >= 3 else [])
    if n and op != "logsumexp":  # torch 1.13's logsumexp(t, dim=()) fails to write its result
        dims.append(())
    for dtype in ("float32", "int64"):
        x, r = make(ref, shape, dtype, seed=1)
        for d in dims:
            for k in (False, True):
                same_or_raises(ref, lambda: DIMLIST[op](td, x, d, k), lambda: DIMLIST[op](ref, r, d, k))


@pytest.mark.parametrize("layout", ["T", "step"])
@pytest.mark.parametrize("op", sorted(DIMLIST))
def test_dimlist_reductions_of_non_contiguous_inputs(ref, op, layout):
    x, r = make(ref, (3, 4, 5), "float32", layout=layout)
    for d, k in [(None, False), (0, True), ((0, 2), False)]:
        same_or_raises(ref, lambda: DIMLIST[op](td, x, d, k), lambda: DIMLIST[op](ref, r, d, k))


@pytest.mark.parametrize("op", ["sum", "nansum", "mean", "amax", "norm", "logsumexp", "std"])
def test_nan_in_reductions(ref, op):
    x, r = make(ref, (4, 6), "float32", nan=True, seed=3)
    for d, k in [(None, False), (1, True)]:
        same_or_raises(ref, lambda: DIMLIST[op](td, x, d, k), lambda: DIMLIST[op](ref, r, d, k))


def test_sum_like_dtype_argument(ref):
    for dtype in ("int32", "float32"):
        x, r = make(ref, (3, 4), dtype)
        for out in (td.float64, td.int32, td.bool, td.float16):
            rd = getattr(ref, out._name)
            same_or_raises(ref, lambda: td.sum(x, 1, dtype=out), lambda: ref.sum(r, 1, dtype=rd))
            same_or_raises(ref, lambda: td.nansum(x, dtype=out), lambda: ref.nansum(r, dtype=rd))
            same_or_raises(ref, lambda: td.prod(x, 0, dtype=out), lambda: ref.prod(r, 0, dtype=rd))
            same_or_raises(ref, lambda: td.mean(x, dtype=out), lambda: ref.mean(r, dtype=rd))


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, 0, INF, -INF, "fro"])
def test_norm_orders(ref, p):
    x, r = make(ref, (3, 4), "float32", seed=4)
    for d, k in [(None, False), (1, True), ((0, 1), False), (0, False)]:
        same_or_raises(ref, lambda: td.norm(x, p, d, k), lambda: ref.norm(r, p, d, k))
        same_or_raises(ref, lambda: x.norm(p, d, k), lambda: r.norm(p, d, k))
    e, re_ = make(ref, (0,), "float32")
    same_or_raises(ref, lambda: td.norm(e, p), lambda: ref.norm(re_, p))


def test_norm_errors(ref):
    x, r = make(ref, (2, 3, 4), "float32")
    same_or_raises(ref, lambda: td.norm(x, dtype=td.float64), lambda: ref.norm(r, dtype=ref.float64))
    same_or_raises(ref, lambda: td.norm(x, "fro", (0, 1, 2)), lambda: ref.norm(r, "fro", (0, 1, 2)))
    same_or_raises(ref, lambda: td.norm(x, 2, dtype=td.float64), lambda: ref.norm(r, 2, dtype=ref.float64))
    with pytest.raises(RuntimeError, match=r"\[norm\].*floating point"):
        td.norm(td.tensor([1, 2]))


def test_std_var_unbiased_and_correction_forms(ref):
    x, r = make(ref, (3, 5), "float64")
    for name in ("std", "var", "std_mean", "var_mean"):
        tf, rf = getattr(td, name), getattr(ref, name)
        same_or_raises(ref, lambda: tf(x, False), lambda: rf(r, False))
        same_or_raises(ref, lambda: tf(x, 1, False, True), lambda: rf(r, 1, False, True))
        same_or_raises(ref, lambda: tf(x, unbiased=False), lambda: rf(r, unbiased=False))
        for c in (0, 1, 2, 5, 7):
            same_or_raises(ref, lambda: tf(x, 1, correction=c), lambda: rf(r, 1, correction=c))
    assert type(td.std_mean(x)) is tuple
    same_or_raises(ref, lambda: x.std(0, True), lambda: r.std(0, True))
    with pytest.raises(RuntimeError, match=r"\[std\] std and var only support floating"):
        td.std(td.tensor([1, 2]))


# -------------------------------------------------- one-dim reductions with indices

def _values_only(name):
    return lambda m, x, d, k: getattr(m, name)(x) if d is None else getattr(m, name)(x, d, k)


PAIR_OPS = {
    "max": _values_only("max"), "min": _values_only("min"), "median": _values_only("median"),
    "mode": lambda m, x, d, k: m.mode(x, -1 if d is None else d, k),
    "kthvalue": lambda m, x, d, k: m.kthvalue(x, 2, -1 if d is None else d, k),
    "aminmax": lambda m, x, d, k: m.aminmax(x) if d is None else m.aminmax(x, dim=d, keepdim=k),
}
INDEX_OPS = {
    "argmax": lambda m, x, d, k: m.argmax(x, d, k), "argmin": lambda m, x, d, k: m.argmin(x, d, k),
}
VALUE_OPS = {
    "prod": lambda m, x, d, k: m.prod(x) if d is None else m.prod(x, d, k),
    "all": lambda m, x, d, k: m.all(x) if d is None else m.all(x, d, k),
    "any": lambda m, x, d, k: m.any(x) if d is None else m.any(x, d, k),
}
ONE_DIM = {**PAIR_OPS, **INDEX_OPS, **VALUE_OPS}


def check_one_dim(ref, op, x, r, d, k, dtype):
    res = outcome(ref, lambda: ONE_DIM[op](td, x, d, k), lambda: ONE_DIM[op](ref, r, d, k))
    if res is None:
        return
    got, want = res
    rtol, atol = tol(dtype)
    if op in INDEX_OPS:
        # Ties make indices ambiguous: the input at ours must equal the input at torch's.
        assert_meta_matches(got)
        assert got.dtype is td.int64 and tuple(got.shape) == tuple(want.shape)
        if d is None:
            flat = r.reshape(-1)
            np.testing.assert_array_equal(to_numpy(flat[int(got.item())]), to_numpy(flat[int(want.item())]))
        elif r.dim() == 0:
            assert got.item() == want.item() == 0
        else:
            wv = ref.gather(r, d, want if k else want.unsqueeze(d))
            check_indices(ref, r, got, wv if k else wv.squeeze(d), d, keepdim=k)
        return
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__
        assert_same(got[0], want[0], rtol, atol)
        if op == "aminmax":
            assert_same(got[1], want[1], rtol, atol)
        else:
            check_indices(ref, r, got.indices, want.values, d if d is not None else -1 % max(r.dim(), 1),
                          keepdim=k)
    else:
        assert_same(got, want, rtol, atol)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("op", sorted(ONE_DIM))
def test_one_dim_reductions_over_dtypes(ref, op, dtype):
    x, r = make(ref, (4, 5), dtype, seed=2)
    for d, k in [(None, False), (1, False), (0, True), (-1, True)]:
        check_one_dim(ref, op, x, r, d, k, dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", sorted(ONE_DIM))
def test_one_dim_reductions_over_shapes(ref, op, shape):
    dims = [None, 0, -1] + ([1] if len(shape) >= 2 else []) + [len(shape) + 1]
    for dtype in ("float32", "int32"):
        x, r = make(ref, shape, dtype, seed=5)
        for d in dims:
            for k in (False, True):
                check_one_dim(ref, op, x, r, d, k, dtype)


@pytest.mark.parametrize("layout", ["T", "step"])
@pytest.mark.parametrize("op", sorted(ONE_DIM))
def test_one_dim_reductions_of_non_contiguous_inputs(ref, op, layout):
    x, r = make(ref, (3, 4, 5), "float32", layout=layout)
    for d, k in [(None, False), (0, True), (2, False)]:
        check_one_dim(ref, op, x, r, d, k, "float32")


@pytest.mark.parametrize("op", ["max", "min", "median", "kthvalue", "argmax", "argmin", "aminmax", "prod"])
def test_nan_propagates_through_extremes(ref, op):
    x, r = make(ref, (5, 6), "float32", nan=True, seed=7)
    for d, k in [(None, False), (1, False)]:
        check_one_dim(ref, op, x, r, d, k, "float32")
    # The reported index of a NaN extreme is its first NaN.
    if op in ("max", "min", "median"):
        t, rr = pair(ref, np.array([1.0, np.nan, 3.0, np.nan]), "float32")
        assert getattr(td, op)(t, 0).indices.item() == getattr(ref, op)(rr, 0).indices.item()


def test_all_any_keep_uint8(ref):
    x, r = make(ref, (3, 4), "uint8")
    same_or_raises(ref, lambda: td.all(x), lambda: ref.all(r))
    same_or_raises(ref, lambda: x.any(1, True), lambda: r.any(1, True))
    assert td.all(x).dtype is td.uint8


def test_empty_extremes_raise_like_torch(ref):
    x = td.zeros(0, 3)
    with pytest.raises(RuntimeError, match=r"\[max\].*Specify the reduction dim"):
        td.max(x)
    with pytest.raises(IndexError, match=r"\[max\].*dim 0 to have non-zero size"):
        td.max(x, 0)
    with pytest.raises(IndexError, match=r"\[argmin\]"):
        td.argmin(x)
    with pytest.raises(RuntimeError, match=r"\[aminmax\]"):
        td.aminmax(x)
    assert tuple(td.max(x, 1).values.shape) == (0,)
    assert tuple(td.amin(x, 1).shape) == (0,)


# ------------------------------------------------------------------ along one dim

ALONG = {
    "cumsum": lambda m, x, d: m.cumsum(x, d),
    "cumprod": lambda m, x, d: m.cumprod(x, d),
    "cummax": lambda m, x, d: m.cummax(x, d),
    "cummin": lambda m, x, d: m.cummin(x, d),
    "softmax": lambda m, x, d: m.softmax(x, d),
    "log_softmax": lambda m, x, d: m.log_softmax(x, d),
    "sort": lambda m, x, d: m.sort(x, d),
    "sort_desc": lambda m, x, d: m.sort(x, d, descending=True),
    "sort_stable": lambda m, x, d: m.sort(x, stable=True, dim=d, descending=True),
    "argsort": lambda m, x, d: m.argsort(x, d),
    "argsort_desc": lambda m, x, d: m.argsort(x, d, True),
    "topk": lambda m, x, d: m.topk(x, min(2, x.shape[d] if x.dim() else 1), d),
    "topk_small": lambda m, x, d: m.topk(x, min(3, x.shape[d] if x.dim() else 1), d, largest=False),
}


def check_along(ref, op, x, r, d, dtype):
    res = outcome(ref, lambda: ALONG[op](td, x, d), lambda: ALONG[op](ref, r, d))
    if res is None:
        return
    got, want = res
    rtol, atol = tol(dtype)
    if op.startswith("argsort"):
        assert_meta_matches(got)
        wv = ref.gather(r, d, want) if r.dim() else r
        check_indices(ref, r, got, wv, d)
        return
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__
        assert_same(got.values, want.values, rtol, atol)
        check_indices(ref, r, got.indices, want.values, d)
        if op == "sort_stable":
            assert to_numpy(got.indices).tolist() == to_numpy(want.indices).tolist()
    else:
        assert_same(got, want, rtol, atol)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("op", sorted(ALONG))
def test_along_dim_ops_over_dtypes(ref, op, dtype):
    x, r = make(ref, (4, 5), dtype, seed=8)
    for d in (0, -1):
        check_along(ref, op, x, r, d, dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", sorted(ALONG))
def test_along_dim_ops_over_shapes(ref, op, shape):
    for dtype in ("float32", "int64"):
        x, r = make(ref, shape, dtype, seed=9)
        for d in range(-max(len(shape), 1), max(len(shape), 1)):
            check_along(ref, op, x, r, d, dtype)


@pytest.mark.parametrize("layout", ["T", "step"])
@pytest.mark.parametrize("op", sorted(ALONG))
def test_along_dim_ops_of_non_contiguous_inputs(ref, op, layout):
    x, r = make(ref, (3, 4, 5), "float32", layout=layout)
    for d in (0, 1, 2):
        check_along(ref, op, x, r, d, "float32")


@pytest.mark.parametrize("op", ["sort", "sort_desc", "topk", "topk_small", "cummax", "cummin",
                                "softmax", "cumsum"])
def test_nan_along_dim(ref, op):
    x, r = make(ref, (4, 7), "float32", nan=True, seed=10)
    check_along(ref, op, x, r, 1, "float32")


def test_dtype_argument_of_scans_and_softmax(ref):
    for dtype in ("int32", "float16", "float32"):
        x, r = make(ref, (3, 4), dtype)
        for out in (td.float64, td.float32, td.int64):
            rd = getattr(ref, out._name)
            for name in ("cumsum", "cumprod", "softmax", "log_softmax"):
                same_or_raises(ref, lambda: getattr(td, name)(x, 1, dtype=out),
                               lambda: getattr(ref, name)(r, 1, dtype=rd))


def test_topk_and_kthvalue_bounds(ref):
    x, r = make(ref, (3, 4), "float32")
    for k in (-1, 0, 4, 5):
        same_or_raises(ref, lambda: td.topk(x, k), lambda: ref.topk(r, k))
        same_or_raises(ref, lambda: td.kthvalue(x, k), lambda: ref.kthvalue(r, k))
    s, rs = make(ref, (), "float32")
    same_or_raises(ref, lambda: td.topk(s, 0), lambda: ref.topk(rs, 0))
    same_or_raises(ref, lambda: td.topk(s, 1), lambda: ref.topk(rs, 1))
    with pytest.raises(RuntimeError, match=r"\[topk\]"):
        td.topk(x, 9)
    with pytest.raises(RuntimeError, match=r"\[topk\] \"topk_cpu\" not implemented for 'Bool'"):
        td.topk(td.tensor([True]), 1)


def test_topk_unsorted_returns_the_same_set(ref):
    x, r = make(ref, (3, 8), "float64")
    got = td.topk(x, 3, sorted=False)
    want = ref.topk(r, 3, sorted=False)
    np.testing.assert_array_equal(np.sort(to_numpy(got.values), 1), np.sort(to_numpy(want.values), 1))


# ------------------------------------------------------------------- data-dependent

@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_unique_over_dtypes(ref, dtype):
    x, r = make(ref, (4, 5), dtype, seed=11)
    for ri in (False, True):
        for rc in (False, True):
            kw = {"return_inverse": ri, "return_counts": rc}
            for extra in ({}, {"dim": 0}, {"dim": -1}):
                res = same_or_raises(ref, lambda: td.unique(x, **kw, **extra),
                                     lambda: ref.unique(r, **kw, **extra), dtype)
                if res is not None and isinstance(res[0], td.Tensor):
                    assert_meta_matches(res[0])


@pytest.mark.parametrize("shape", SHAPES)
def test_unique_over_shapes(ref, shape):
    x, r = make(ref, shape, "int64", seed=12)
    same_or_raises(ref, lambda: td.unique(x, return_inverse=True, return_counts=True),
                   lambda: ref.unique(r, return_inverse=True, return_counts=True))
    same_or_raises(ref, lambda: x.unique(sorted=False), lambda: r.unique(sorted=True))
    for d in (0, -1, 5):
        same_or_raises(ref, lambda: td.unique(x, return_inverse=True, return_counts=True, dim=d),
                       lambda: ref.unique(r, return_inverse=True, return_counts=True, dim=d))


def test_unique_of_non_contiguous_input(ref):
    for layout in ("T", "step"):
        x, r = make(ref, (3, 4), "int32", seed=13, layout=layout)
        same_or_raises(ref, lambda: td.unique(x, return_inverse=True, return_counts=True),
                       lambda: ref.unique(r, return_inverse=True, return_counts=True))
        same_or_raises(ref, lambda: td.unique(x, dim=1, return_inverse=True),
                       lambda: ref.unique(r, dim=1, return_inverse=True))


def test_unique_result_is_usable_in_later_ops(ref):
    u = td.unique(td.tensor([3, 1, 3, 2, 1]))
    assert u.shape == td.Size([3])
    assert (u.sum()).item() == 6
    assert td.cumsum(u, 0).tolist() == [1, 3, 6]


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_bincount_over_dtypes(ref, dtype):
    arr = np.random.RandomState(14).randint(0, 7, size=9)
    x, r = pair(ref, arr, dtype)
    same_or_raises(ref, lambda: td.bincount(x), lambda: ref.bincount(r))
    same_or_raises(ref, lambda: x.bincount(minlength=12), lambda: r.bincount(minlength=12))
    if dtype in ("int64", "uint8"):
        for wd in ("float32", "float64", "float16", "int32"):
            w, rw = pair(ref, np.arange(9) * 0.5, wd)
            same_or_raises(ref, lambda: td.bincount(x, w), lambda: ref.bincount(r, rw))


def test_bincount_edges_and_errors(ref):
    e, re_ = pair(ref, np.zeros(0, dtype=np.int64), "int64")
    same_or_raises(ref, lambda: td.bincount(e), lambda: ref.bincount(re_))
    same_or_raises(ref, lambda: td.bincount(e, minlength=3), lambda: ref.bincount(re_, minlength=3))
    m, rm = pair(ref, np.array([[1, 2]]), "int64")
    same_or_raises(ref, lambda: td.bincount(m), lambda: ref.bincount(rm))
    v, rv = pair(ref, np.array([1, 2]), "int64")
    w, rw = pair(ref, np.array([1.0, 2.0, 3.0]), "float32")
    same_or_raises(ref, lambda: td.bincount(v, w), lambda: ref.bincount(rv, rw))
    same_or_raises(ref, lambda: td.bincount(v, minlength=-1), lambda: ref.bincount(rv, minlength=-1))
    n, rn = pair(ref, np.array([1, -2]), "int64")
    same_or_raises(ref, lambda: td.bincount(n), lambda: ref.bincount(rn))
    with pytest.raises(RuntimeError, match="bincount"):
        td.bincount(td.tensor([1, -2])).tolist()


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_histc_over_dtypes(ref, dtype):
    x, r = make(ref, (4, 6), dtype, seed=15)
    same_or_raises(ref, lambda: td.histc(x), lambda: ref.histc(r), dtype)
    same_or_raises(ref, lambda: x.histc(7, -2, 3), lambda: r.histc(7, -2, 3), dtype)


def test_histc_edges_and_errors(ref):
    for arr, args in [([1.0, 1.0, 1.0], (4,)), ([], (4,)), ([1.0, 2.0, 5.0], (4, 0, 3)),
                      ([0.0, 3.0, 3.0, 1.5], (3, 0, 3)), ([1.0, 2.0], (0,)), ([1.0, 2.0], (3, 3, 1)),
                      ([1.0, math.inf], (3,)), ([2.0], (5, 2, 2))]:
        x, r = pair(ref, np.array(arr), "float32")
        same_or_raises(ref, lambda: td.histc(x, *args), lambda: ref.histc(r, *args))


# ------------------------------------------------------------------ Python forms

def test_return_types_behave_like_torchs(ref):
    x, r = pair(ref, np.array([[1, 5, 2], [7, 0, 7]]), "int64")
    got, want = td.max(x, 1), ref.max(r, 1)
    assert repr(got) == repr(want)
    values, indices = got
    assert got[0] is values and got.values is values and got.indices is indices and len(got) == 2
    assert values.tolist() == [5, 7] and indices.tolist() == [1, 0]
    assert type(got) is td.return_types.max
    assert repr(td.aminmax(x)) == repr(ref.aminmax(r))
    for name in ("mode", "sort", "topk", "kthvalue", "cummax", "cummin"):
        args = (1,) if name in ("topk", "kthvalue") else ((0,) if name.startswith("cum") else ())
        assert repr(getattr(x, name)(*args)) == repr(getattr(r, name)(*args))


def test_max_min_forms(ref):
    x, r = make(ref, (3, 4), "float32")
    y, ry = make(ref, (3, 4), "float32", seed=1)
    same_or_raises(ref, lambda: x.max(), lambda: r.max())
    same_or_raises(ref, lambda: td.min(x, dim=1, keepdim=True), lambda: ref.min(r, dim=1, keepdim=True))
    same_or_raises(ref, lambda: x.max(-1), lambda: r.max(-1))
    same_or_raises(ref, lambda: td.median(x), lambda: ref.median(r))
    same_or_raises(ref, lambda: x.median(dim=0), lambda: r.median(dim=0))
    for name, binary in (("max", "maximum"), ("min", "minimum")):
        if hasattr(td, binary):
            same_or_raises(ref, lambda: getattr(td, name)(x, y), lambda: getattr(ref, name)(r, ry))
        else:
            with pytest.raises(NotImplementedError, match=binary):
                getattr(td, name)(x, y)
    with pytest.raises(TypeError):
        td.max(x, 0, False, True)


def test_kernel_dtype_gaps_fail_at_the_call_like_torch(ref):
    h = td.ones(2, 2, dtype=td.float16)
    with pytest.raises(RuntimeError, match=r"\[cumsum\] \"cumsum_out_cpu\" not implemented for 'Half'"):
        td.cumsum(h, 0)
    with pytest.raises(RuntimeError, match=r"\[softmax\] \"softmax_lastdim_kernel_impl\" not implemented for 'Half'"):
        td.softmax(h, 1)
    with pytest.raises(RuntimeError, match=r"\[mean\] could not infer output dtype"):
        td.mean(td.tensor([1, 2]))


def test_large_reductions_are_correct_when_parallel(ref):
    arr = np.random.RandomState(16).randn(300, 257)
    x, r = pair(ref, arr, "float64")
    same_or_raises(ref, lambda: x.sum(1), lambda: r.sum(1), "float64")
    same_or_raises(ref, lambda: x.var(0), lambda: r.var(0), "float64")
    same_or_raises(ref, lambda: x.logsumexp(1), lambda: r.logsumexp(1), "float64")
    same_or_raises(ref, lambda: x.cumsum(0), lambda: r.cumsum(0), "float64")
    got, want = x.sort(1), r.sort(1)
    assert_same(got.values, want.values)
    assert (to_numpy(got.indices) == to_numpy(want.indices)).all()
    check_one_dim(ref, "max", x, r, 0, False, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((64, 5000), 0), ((3, 4, 3000), [0, 1]), ((7, 2, 5), (0,)),
                                       ((0, 6), 0), ((5,), 0), ((2, 3), [1, 0])])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_and_mean_over_leading_dims_match_torch(ref, dtype, shape, dim, op):
    # Leading-dim sums of contiguous floats take a fast path (bias gradients).
    a = np.random.default_rng(5).standard_normal(shape)
    for keepdim in (False, True):
        want = getattr(ref.tensor(a, dtype=getattr(ref, dtype)), op)(dim, keepdim=keepdim)
        got = getattr(td.tensor(a, dtype=getattr(td, dtype)), op)(dim, keepdim=keepdim)
        assert_same(got, want, rtol=1e-5, atol=1e-5)
