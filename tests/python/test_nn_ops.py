"""torch.nn's ops (normalisation, embedding, losses, activations) against
PyTorch 1.13: forward values against torch.ops.aten / torch.nn.functional,
backward ops against torch.autograd.grad for the same grad_output, on
float32/float64 (some bfloat16), contiguous, transposed and stepped inputs,
0-d and empty shapes, and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
from helpers import assert_same, pair, to_numpy

FLOATS = ["float32", "float64"]
LAYOUTS = ["contig", "T", "step"]


def call(name, *args, **kwargs):
    return td._C.call(name, args, kwargs)


def tol(dtype):
    if dtype == "bfloat16":
        return dict(rtol=2e-2, atol=2e-2)
    return dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)


def make(ref, shape, dtype="float32", seed=0, layout="contig", scale=1.0, lo=None, hi=None):
    """A (tensord, torch) pair of `shape`: 'T' transposes dims 0 and -1 of a
    contiguous tensor, 'step' takes every other element of the last dim."""
    rng = np.random.RandomState(seed)
    if layout == "T" and len(shape) < 2:
        layout = "contig"
    if layout == "step" and len(shape) < 1:
        layout = "contig"
    full = tuple(shape)
    if layout == "T":
        full = (shape[-1],) + tuple(shape[1:-1]) + (shape[0],)
    if layout == "step":
        full = tuple(shape[:-1]) + (shape[-1] * 2,)
    arr = rng.uniform(lo, hi, size=full) if lo is not None else rng.randn(*full) * scale
    t, r = pair(ref, np.asarray(arr), dtype)
    if layout == "T":
        t, r = t.transpose(0, -1), r.transpose(0, -1)
    elif layout == "step":
        t, r = t[..., ::2], r[..., ::2]
    return t, r


def ints(ref, values, dtype="int64"):
    arr = np.asarray(values, dtype=np.int64)
    return pair(ref, arr, dtype)


def grads(ref, out, inputs, grad):
    """torch.autograd.grad of out for the given grad_output (None where an
    input does not reach out). The grad is made contiguous: torch 1.13's
    float32 gelu backward reads non-contiguous grads wrongly."""
    return ref.autograd.grad(out, inputs, grad.contiguous(), allow_unused=True)


def leaf(r):
    """A contiguous copy of r that requires grad (some torch backward
    kernels refuse non-contiguous inputs)."""
    return r.detach().contiguous().requires_grad_(True)


def force(result):
    for x in result if isinstance(result, tuple) else (result,):
        to_numpy(x)


# ---------------------------------------------------------------- batch norm

BN_SHAPES = [(4, 3), (2, 3, 5), (2, 3, 4, 5), (1, 2, 3)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_native_batch_norm_matches_aten(ref, dtype, shape, layout, training, affine):
    c = shape[1]
    x, rx = make(ref, shape, dtype, 0, layout, scale=2.0)
    w, rw = make(ref, (c,), dtype, 1) if affine else (None, None)
    b, rb = make(ref, (c,), dtype, 2) if affine else (None, None)
    rm, rrm = make(ref, (c,), dtype, 3)
    rv, rrv = make(ref, (c,), dtype, 4, lo=0.5, hi=2.0)
    got = td.native_batch_norm(x, w, b, rm, rv, training, 0.3, 1e-5)
    want = ref.ops.aten.native_batch_norm(rx, rw, rb, rrm, rrv, training, 0.3, 1e-5)
    for g_, w_ in zip(got, want):
        assert_same(g_, w_, **tol(dtype))
    # Running statistics are updated in place when training (unbiased var).
    assert_same(rm, rrm, **tol(dtype))
    assert_same(rv, rrv, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_native_batch_norm_backward_matches_autograd(ref, dtype, shape, train, layout):
    c = shape[1]
    x, rx = make(ref, shape, dtype, 0, layout, scale=2.0)
    w, rw = make(ref, (c,), dtype, 1)
    b, rb = make(ref, (c,), dtype, 2)
    rm, rrm = make(ref, (c,), dtype, 3)
    rv, rrv = make(ref, (c,), dtype, 4, lo=0.5, hi=2.0)
    g, rg = make(ref, shape, dtype, 5, layout)
    lx, lw, lb = leaf(rx), leaf(rw), leaf(rb)
    out = ref.ops.aten.native_batch_norm(lx, lw, lb, rrm.clone(), rrv.clone(), train, 0.1, 1e-5)[0]
    want = grads(ref, out, [lx, lw, lb], rg)
    _, save_mean, save_invstd = td.native_batch_norm(x, w, b, rm.clone(), rv.clone(), train, 0.1, 1e-5)
    got = call("native_batch_norm_backward", g, x, w, rm, rv, save_mean, save_invstd, train, 1e-5,
               [1, 1, 1])
    for g_, w_ in zip(got, want):
        assert_same(g_, w_, **tol(dtype))


def test_batch_norm_backward_output_mask_leaves_results_empty(ref):
    x, _ = make(ref, (4, 3))
    g, _ = make(ref, (4, 3), seed=1)
    _, m, s = td.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    gi, gw, gb = call("native_batch_norm_backward", g, x, None, None, None, m, s, True, 1e-5, [1, 0, 0])
    assert tuple(gi.shape) == (4, 3) and tuple(gw.shape) == (0,) and tuple(gb.shape) == (0,)
    gi2, gw2, gb2 = call("native_batch_norm_backward", g, x, None, None, None, m, s, True, 1e-5, [0, 1, 1])
    assert tuple(gi2.shape) == (0,) and tuple(gw2.shape) == (3,)
    assert np.allclose(to_numpy(gb2), to_numpy(g).sum(0), atol=1e-5)


def test_batch_norm_errors(ref):
    x, _ = make(ref, (4, 3))
    with pytest.raises(RuntimeError, match=r"native_batch_norm.*running_mean and running_var"):
        td.native_batch_norm(x, None, None, None, None, False, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match=r"native_batch_norm.*weight"):
        td.native_batch_norm(x, td.ones(4), None, None, None, True, 0.1, 1e-5)
    with pytest.raises(IndexError, match="native_batch_norm"):
        td.native_batch_norm(td.ones(3), None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match=r"native_batch_norm.*not implemented for 'Long'"):
        td.native_batch_norm(td.ones(2, 3, dtype=td.int64), None, None, None, None, True, 0.1, 1e-5)


# ---------------------------------------------------------------- layer / group norm

LN_CASES = [((2, 3, 4), [4]), ((2, 3, 4), [3, 4]), ((5, 7), [7]), ((0, 4), [4]), ((4,), [4])]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,ns", LN_CASES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("affine", [True, False])
def test_native_layer_norm_and_backward(ref, dtype, shape, ns, layout, affine):
    x, rx = make(ref, shape, dtype, 0, layout, scale=3.0)
    w, rw = make(ref, tuple(ns), dtype, 1) if affine else (None, None)
    b, rb = make(ref, tuple(ns), dtype, 2) if affine else (None, None)
    got = td.native_layer_norm(x, ns, w, b, 1e-5)
    lx = leaf(rx)
    lw, lb = (leaf(rw), leaf(rb)) if affine else (None, None)
    want = ref.ops.aten.native_layer_norm(lx, ns, lw, lb, 1e-5)
    for g_, w_ in zip(got, want):
        assert_same(g_, w_.detach(), **tol(dtype))
    g, rg = make(ref, shape, dtype, 5, layout)
    back = call("native_layer_norm_backward", g, x, ns, got[1], got[2], w, b, [1, 1, 1])
    if affine:
        wx, ww, wb = grads(ref, want[0], [lx, lw, lb], rg)
        assert_same(back[1], ww, **tol(dtype))
        assert_same(back[2], wb, **tol(dtype))
    else:
        (wx,) = grads(ref, want[0], [lx], rg)
    assert_same(back[0], wx, **tol(dtype))


def test_layer_norm_errors(ref):
    x = td.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"native_layer_norm.*Given normalized_shape=\[4\]"):
        td.native_layer_norm(x, [4], None, None, 1e-5)
    with pytest.raises(RuntimeError, match="at least 1-dimensional"):
        td.native_layer_norm(x, [], None, None, 1e-5)
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape"):
        td.native_layer_norm(x, [3], td.ones(2), None, 1e-5)


GN_CASES = [((2, 6, 3), 3), ((2, 4, 2, 2), 2), ((3, 4), 2), ((2, 4, 5), 1), ((2, 4, 5), 4)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,group", GN_CASES)
@pytest.mark.parametrize("layout", ["contig", "T"])
@pytest.mark.parametrize("affine", [True, False])
def test_native_group_norm_and_backward(ref, dtype, shape, group, layout, affine):
    n, c = shape[0], shape[1]
    hxw = int(np.prod(shape[2:]))
    x, rx = make(ref, shape, dtype, 0, layout, scale=2.0)
    w, rw = make(ref, (c,), dtype, 1) if affine else (None, None)
    b, rb = make(ref, (c,), dtype, 2) if affine else (None, None)
    got = td.native_group_norm(x, w, b, n, c, hxw, group, 1e-5)
    lx = leaf(rx)
    lw, lb = (leaf(rw), leaf(rb)) if affine else (None, None)
    want = ref.ops.aten.native_group_norm(lx, lw, lb, n, c, hxw, group, 1e-5)
    for g_, w_ in zip(got, want):
        assert_same(g_, w_.detach(), **tol(dtype))
    g, rg = make(ref, shape, dtype, 5)
    back = call("native_group_norm_backward", g, x, got[1], got[2], w, n, c, hxw, group, [1, 1, 1])
    if affine:
        wx, ww, wb = grads(ref, want[0], [lx, lw, lb], rg)
        assert_same(back[1], ww, **tol(dtype))
        assert_same(back[2], wb, **tol(dtype))
    else:
        (wx,) = grads(ref, want[0], [lx], rg)
    assert_same(back[0], wx, **tol(dtype))


def test_group_norm_errors(ref):
    x = td.ones(2, 6, 3)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        td.native_group_norm(x, None, None, 2, 6, 3, 4, 1e-5)
    with pytest.raises(RuntimeError, match="Expected weight to be a vector of size equal"):
        td.native_group_norm(x, td.ones(5), None, 2, 6, 3, 3, 1e-5)
    with pytest.raises(RuntimeError, match=r"N \* C \* HxW"):
        td.native_group_norm(x, None, None, 2, 6, 4, 3, 1e-5)


# ---------------------------------------------------------------- softmax backward

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 0, 3), 2),
                                       ((), 0), ((5,), 0)])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_backward_data_matches_autograd(ref, dtype, shape, dim, layout, log):
    x, rx = make(ref, shape, dtype, 0, layout)
    g, rg = make(ref, shape, dtype, 1, layout)
    lx = leaf(rx)
    out = ref.log_softmax(lx, dim) if log else ref.softmax(lx, dim)
    (want,) = grads(ref, out, [lx], rg)
    y = td.log_softmax(x, dim) if log else td.softmax(x, dim)
    fn = td._log_softmax_backward_data if log else td._softmax_backward_data
    assert_same(fn(g, y, dim, getattr(td, dtype)), want, **tol(dtype))


def test_softmax_backward_errors():
    with pytest.raises(RuntimeError, match="_softmax_backward_data.*same size"):
        td._softmax_backward_data(td.ones(2, 3), td.ones(2, 2), 1, td.float32)
    with pytest.raises(IndexError):
        td._softmax_backward_data(td.ones(2, 3), td.ones(2, 3), 2, td.float32)


# ---------------------------------------------------------------- embedding

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("padding_idx", [-1, 2])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("idx_dtype", ["int64", "int32"])
@pytest.mark.parametrize("idx_shape", [(2, 3), (5,), (0,)])
def test_embedding_dense_backward_matches_autograd(ref, dtype, padding_idx, scale, idx_dtype, idx_shape):
    rng = np.random.RandomState(0)
    idx_vals = rng.randint(0, 5, size=idx_shape)
    if idx_vals.size:
        idx_vals.reshape(-1)[0] = 2
    idx, ridx = ints(ref, idx_vals, idx_dtype)
    rw = leaf(ref.randn(5, 4, dtype=getattr(ref, dtype)))
    out = ref.nn.functional.embedding(ridx.long(), rw, padding_idx if padding_idx >= 0 else None,
                                      scale_grad_by_freq=scale)
    g, rg = make(ref, idx_shape + (4,), dtype, 1, "T" if len(idx_shape) == 2 else "contig")
    (want,) = grads(ref, out, [rw], rg)
    got = call("embedding_dense_backward", g, idx, 5, padding_idx, scale)
    assert_same(got, want, **tol(dtype))


def test_embedding_dense_backward_errors():
    with pytest.raises(IndexError, match="embedding_dense_backward.*index out of range"):
        force(call("embedding_dense_backward", td.ones(3, 4), td.tensor([0, 1, 9]), 5, -1, False))
    with pytest.raises(RuntimeError, match="embedding_dense_backward.*Long, Int"):
        call("embedding_dense_backward", td.ones(3, 4), td.ones(3), 5, -1, False)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_embedding_renorm_matches_torch(ref, norm_type, layout):
    w, rw = make(ref, (6, 4), "float32", 0, layout, scale=2.0)
    idx, ridx = ints(ref, [0, 2, 2, 5])
    r = td.embedding_renorm_(w, idx, 1.5, norm_type)
    with ref.no_grad():
        ref.embedding_renorm_(rw, ridx, 1.5, norm_type)
    assert r is w
    np.testing.assert_allclose(to_numpy(w), to_numpy(rw), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- nll_loss

def nll_inputs(ref, dtype, shape, classes, seed=0, ignore=None, layout="contig"):
    x, rx = make(ref, shape, dtype, seed, layout)
    rng = np.random.RandomState(seed + 1)
    tshape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
    tv = np.array(rng.randint(0, classes, size=tshape))
    if ignore is not None and tv.size:
        tv.reshape(-1)[0] = ignore
    t, rt = ints(ref, tv)
    return x, rx, t, rt


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(5,), (4, 5), (0, 5), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [-100, 1])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_nll_loss_and_backward_match_aten(ref, dtype, shape, reduction, weighted, ignore, layout):
    classes = shape[-1] if len(shape) <= 2 else shape[1]
    x, rx, t, rt = nll_inputs(ref, dtype, shape, classes, 0, ignore if ignore >= 0 else None, layout)
    w, rw = make(ref, (classes,), dtype, 3, lo=0.5, hi=2.0) if weighted else (None, None)
    fwd = "nll_loss2d_forward" if len(shape) == 4 else "nll_loss_forward"
    got = call(fwd, x, t, w, reduction, ignore)
    lx = leaf(rx)
    want = getattr(ref.ops.aten, fwd)(lx, rt, rw, reduction, ignore)
    assert_same(got[0], want[0].detach(), **tol(dtype))
    assert_same(got[1], want[1], **tol(dtype))
    g, rg = make(ref, tuple(want[0].shape), dtype, 4)
    (wx,) = grads(ref, want[0], [lx], rg)
    bwd = "nll_loss2d_backward" if len(shape) == 4 else "nll_loss_backward"
    assert_same(call(bwd, g, x, t, w, reduction, ignore, got[1]), wx, **tol(dtype))


def test_nll_loss_all_ignored_mean_is_nan(ref):
    out, total = call("nll_loss_forward", td.ones(3, 4), td.tensor([-100, -100, -100]), None, 1, -100)
    assert np.isnan(to_numpy(out)) and to_numpy(total) == 0


def test_nll_loss_errors():
    with pytest.raises(IndexError, match=r"nll_loss_forward.*Target 5 is out of bounds\."):
        force(call("nll_loss_forward", td.ones(3, 4), td.tensor([0, 5, 1]), None, 1, -100))
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds\."):
        force(call("nll_loss2d_forward", td.ones(3, 4, 2, 2), td.full([3, 2, 2], 7), None, 1, -100))
    with pytest.raises(IndexError, match=r"nll_loss_backward.*Target -3 is out of bounds\."):
        force(call("nll_loss_backward", td.ones(()), td.ones(3, 4), td.tensor([0, -3, 1]), None, 1,
                   -100, td.ones(())))
    with pytest.raises(RuntimeError, match=r"expected scalar type Long but found Int"):
        call("nll_loss_forward", td.ones(3, 4), td.tensor([0, 1, 1], dtype=td.int32), None, 1, -100)
    with pytest.raises(RuntimeError, match=r"size mismatch \(got input: \[3, 4\], target: \[2\]\)"):
        call("nll_loss_forward", td.ones(3, 4), td.tensor([0, 1]), None, 1, -100)
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4 classes"):
        call("nll_loss_forward", td.ones(3, 4), td.tensor([0, 1, 1]), td.ones(3), 1, -100)
    with pytest.raises(RuntimeError, match="input tensor should be 1D or 2D"):
        call("nll_loss_forward", td.ones(3, 4, 2), td.tensor([0, 1, 1]), None, 1, -100)
    with pytest.raises(RuntimeError, match=r"only batches of spatial inputs supported \(4D tensors\)"):
        call("nll_loss2d_forward", td.ones(3, 4, 2), td.zeros(3, 2, 3, dtype=td.int64), None, 1, -100)
    with pytest.raises(ValueError, match="nll_loss_forward.*reduction"):
        call("nll_loss_forward", td.ones(3, 4), td.tensor([0, 1, 1]), None, 3, -100)


# ---------------------------------------------------------------- pointwise losses

def loss_forward(ref, name, x, t, reduction, w=None, pw=None, extra=None):
    F = ref.nn.functional
    red = ["none", "mean", "sum"][reduction]
    if name == "mse_loss":
        return F.mse_loss(x, t, reduction=red)
    if name == "smooth_l1_loss":
        return F.smooth_l1_loss(x, t, reduction=red, beta=extra)
    if name == "huber_loss":
        return F.huber_loss(x, t, reduction=red, delta=extra)
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy(x, t, weight=w, reduction=red)
    raise AssertionError(name)


POINTWISE = [("mse_loss", None), ("smooth_l1_loss", 1.0), ("smooth_l1_loss", 0.5),
             ("smooth_l1_loss", 0.0), ("huber_loss", 1.0), ("huber_loss", 0.3),
             ("binary_cross_entropy", None)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,extra", POINTWISE)
@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 3), (2, 3, 2)])
@pytest.mark.parametrize("layout", ["contig", "T", "step"])
def test_pointwise_loss_and_backward_match_torch(ref, dtype, name, extra, reduction, shape, layout):
    bce = name == "binary_cross_entropy"
    kw = dict(lo=0.02, hi=0.98) if bce else dict(scale=1.5)
    x, rx = make(ref, shape, dtype, 0, layout, **kw)
    t, rt = make(ref, shape, dtype, 1, **kw)
    w, rw = make(ref, shape[-1:], dtype, 2, lo=0.5, hi=2.0) if bce and shape else (None, None)
    args = [x, t] + ([w] if bce else []) + [reduction] + ([extra] if extra is not None else [])
    got = call(name, *args)
    lx = leaf(rx)
    want = loss_forward(ref, name, lx, rt, reduction, rw, extra=extra)
    assert_same(got, want.detach(), **tol(dtype))
    g, rg = make(ref, tuple(want.shape), dtype, 4)
    (wx,) = grads(ref, want, [lx], rg)
    bargs = [g, x, t] + ([w] if bce else []) + [reduction] + ([extra] if extra is not None else [])
    assert_same(call(name + "_backward", *bargs), wx, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_mse_loss_broadcasts_target(ref, dtype, reduction):
    x, rx = make(ref, (3, 4), dtype, 0)
    t, rt = make(ref, (1, 4), dtype, 1)
    want = ref.ops.aten.mse_loss(rx, rt, reduction)
    assert_same(call("mse_loss", x, t, reduction), want, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_binary_cross_entropy_with_logits_matches_torch(ref, dtype, reduction, weighted, pos, layout):
    x, rx = make(ref, (3, 4), dtype, 0, layout, scale=4.0)
    t, rt = make(ref, (3, 4), dtype, 1, lo=0.0, hi=1.0)
    w, rw = make(ref, (4,), dtype, 2, lo=0.5, hi=2.0) if weighted else (None, None)
    pw, rpw = make(ref, (4,), dtype, 3, lo=0.5, hi=3.0) if pos else (None, None)
    got = td.binary_cross_entropy_with_logits(x, t, w, pw, reduction)
    want = ref.binary_cross_entropy_with_logits(rx, rt, rw, rpw, reduction)
    assert_same(got, want, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (), (0,)])
def test_kl_div_matches_torch(ref, dtype, reduction, log_target, shape):
    x, rx = make(ref, shape, dtype, 0)
    t, rt = make(ref, shape, dtype, 1, lo=0.0, hi=1.0)
    if log_target:
        t, rt = make(ref, shape, dtype, 1)
    elif shape == (3, 4):  # zeros in the target contribute 0
        t, rt = td.relu(t - 0.3), ref.relu(rt - 0.3)
    assert_same(td.kl_div(x, t, reduction, log_target=log_target),
                ref.kl_div(rx, rt, reduction, log_target=log_target), **tol(dtype))


def test_pointwise_loss_errors():
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta"):
        call("smooth_l1_loss", td.ones(3), td.ones(3), 1, -1.0)
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
        call("huber_loss", td.ones(3), td.ones(3), 1, 0.0)
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy.*between 0 and 1"):
        force(call("binary_cross_entropy", td.tensor([1.5]), td.tensor([1.0])))
    with pytest.raises(RuntimeError, match="mse_loss"):
        call("mse_loss", td.ones(3), td.ones(2))
    with pytest.raises(RuntimeError, match="mse_loss.*not implemented for 'Long'"):
        call("mse_loss", td.ones(3, dtype=td.int64), td.ones(3, dtype=td.int64))


# ---------------------------------------------------------------- CTC

def ctc_case(ref, dtype, concat, seed=0):
    T, N, C = 7, 3, 5
    rng = np.random.RandomState(seed)
    lp = ref.tensor(rng.randn(T, N, C)).log_softmax(2).to(getattr(ref, dtype))
    tl = [3, 0, 2]
    il = [7, 4, 6]
    tv = rng.randint(1, C, size=(N, 3))
    tv[0, 1] = tv[0, 0]  # a repeated label needs a blank between them
    if concat:
        tv = np.concatenate([tv[b, :tl[b]] for b in range(N)])
    x, _ = pair(ref, lp.double().numpy(), dtype)
    t, rt = ints(ref, tv)
    return x, lp, t, rt, il, tl


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("concat", [False, True])
@pytest.mark.parametrize("blank", [0])
def test_ctc_loss_forward_and_backward_match_aten(ref, dtype, concat, blank):
    x, rlp, t, rt, il, tl = ctc_case(ref, dtype, concat)
    nll, alpha = td._ctc_loss(x, t, il, tl, blank)
    lx = leaf(rlp)
    wnll, walpha = ref.ops.aten._ctc_loss(lx, rt, il, tl, blank)
    assert_same(nll, wnll.detach(), **tol(dtype))
    assert tuple(alpha.shape) == tuple(walpha.shape)
    a, wa = to_numpy(alpha), to_numpy(walpha.detach())
    for b in range(3):  # ATen leaves the rest of log_alpha uninitialised
        np.testing.assert_allclose(a[b, :il[b], :2 * tl[b] + 1], wa[b, :il[b], :2 * tl[b] + 1],
                                   **tol(dtype))
    g, rg = make(ref, (3,), dtype, 9, lo=0.5, hi=2.0)
    (want,) = grads(ref, wnll, [lx], rg)
    got = call("_ctc_loss_backward", g, x, t, il, tl, nll, alpha, blank)
    assert_same(got, want, **tol(dtype))


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_reductions_and_zero_infinity(ref, reduction, zero_infinity):
    x, rlp, t, rt, il, tl = ctc_case(ref, "float64", False)
    il = [7, 4, 1]  # batch 2: 2 targets in 1 step is impossible: inf
    got = td.ctc_loss(x, t, il, tl, 0, reduction, zero_infinity)
    want = ref.ctc_loss(rlp, rt, il, tl, 0, reduction, zero_infinity)
    assert_same(got, want)
    lx = leaf(rlp)
    wnll = ref.ops.aten._ctc_loss(lx, rt, il, tl, 0, zero_infinity)[0]
    nll, alpha = td._ctc_loss(x, t, il, tl, 0, zero_infinity)
    g, rg = make(ref, (3,), "float64", 9)
    if zero_infinity:
        (want_g,) = grads(ref, wnll, [lx], rg)
        assert_same(call("_ctc_loss_backward", g, x, t, il, tl, nll, alpha, 0, zero_infinity), want_g)


def test_ctc_loss_errors():
    x = td.log_softmax(td.randn(5, 2, 4), 2)
    t = td.tensor([[1, 2], [1, 1]])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        td._ctc_loss(x, t, [5, 5], [2, 2], 4)
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 5, but got value 6"):
        td._ctc_loss(x, t, [6, 5], [2, 2], 0)
    with pytest.raises(RuntimeError, match="Expected tensor to have size at least 3 at dimension 1"):
        td._ctc_loss(x, t, [5, 5], [3, 2], 0)
    with pytest.raises(RuntimeError, match="input_lengths must be of size batch_size"):
        td._ctc_loss(x, t, [5], [2, 2], 0)
    with pytest.raises(IndexError, match="_ctc_loss.*target 9"):
        force(td._ctc_loss(x, td.tensor([[1, 9], [1, 1]]), [5, 5], [2, 2], 0))


# ---------------------------------------------------------------- activations

ACT_SHAPES = [(3, 4), (), (0, 3), (2, 3, 4)]


def act_data(ref, shape, dtype, layout, seed=0):
    # Values away from the kinks (0, +-3, thresholds) where one-sided
    # derivatives differ.
    t, r = make(ref, shape, dtype, seed, layout, scale=3.0)
    return t, r


ACTIVATIONS = [
    # (op, args, torch forward of a tensor, backward op name, backward args builder)
    ("elu", (1.0, 1.0, 1.0), lambda F, x: F.elu(x)),
    ("elu", (1.6732632423543772, 1.0507009873554805, 1.0), lambda F, x: F.selu(x)),
    ("elu", (0.5, 1.0, 2.0), lambda F, x: F.celu(x, 0.5)),
    ("leaky_relu", (0.2,), lambda F, x: F.leaky_relu(x, 0.2)),
    ("hardtanh", (-0.5, 0.7), lambda F, x: F.hardtanh(x, -0.5, 0.7)),
    ("hardswish", (), lambda F, x: F.hardswish(x)),
    ("hardsigmoid", (), lambda F, x: F.hardsigmoid(x)),
    ("mish", (), lambda F, x: F.mish(x)),
]


@pytest.mark.parametrize("dtype", FLOATS + ["bfloat16"])
@pytest.mark.parametrize("op,args,fn", ACTIVATIONS, ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("shape", ACT_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_activation_forward_and_backward_match_torch(ref, dtype, op, args, fn, shape, layout):
    x, rx = act_data(ref, shape, dtype, layout)
    F = ref.nn.functional
    if dtype == "bfloat16":  # torch's CPU build lacks some bfloat16 kernels: float, then round
        want = fn(F, rx.float()).to(ref.bfloat16)
        assert_same(call(op, x, *args), want, **tol(dtype))
        return
    lx = leaf(rx)
    want = fn(F, lx)
    assert_same(call(op, x, *args), want.detach(), **tol(dtype))
    g, rg = make(ref, shape, dtype, 7, layout)
    (wx,) = grads(ref, want, [lx], rg)
    if op == "elu":
        got = call("elu_backward", g, *args, False, x)
        assert_same(got, wx, **tol(dtype))
        if args[0] >= 0:
            got_r = call("elu_backward", g, *args, True, call("elu", x, *args))
            assert_same(got_r, wx, **tol(dtype))
    elif op == "leaky_relu":
        assert_same(call("leaky_relu_backward", g, x, *args, False), wx, **tol(dtype))
    else:
        assert_same(call(op + "_backward", g, x, *args), wx, **tol(dtype))


BACKWARD_ONLY = [
    ("threshold_backward", (0.0,), lambda F, x: F.relu(x)),
    ("threshold_backward", (0.5,), lambda F, x: F.threshold(x, 0.5, 0.0)),
    ("silu_backward", (), lambda F, x: F.silu(x)),
    ("softplus_backward", (1.0, 20.0), lambda F, x: F.softplus(x)),
    ("softplus_backward", (2.0, 3.0), lambda F, x: F.softplus(x, 2.0, 3.0)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op,args,fn", BACKWARD_ONLY, ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("shape", ACT_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_activation_backward_ops_match_autograd(ref, dtype, op, args, fn, shape, layout):
    x, rx = act_data(ref, shape, dtype, layout)
    g, rg = make(ref, shape, dtype, 7, layout)
    lx = leaf(rx)
    (wx,) = grads(ref, fn(ref.nn.functional, lx), [lx], rg)
    assert_same(call(op, g, x, *args), wx, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", ACT_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gelu_and_backward_match_torch(ref, dtype, approximate, shape, layout):
    x, rx = act_data(ref, shape, dtype, layout)
    g, rg = make(ref, shape, dtype, 7, layout)
    lx = leaf(rx)
    want = ref.nn.functional.gelu(lx, approximate=approximate)
    assert_same(td.gelu(x, approximate=approximate), want.detach(), **tol(dtype))
    (wx,) = grads(ref, want, [lx], rg)
    assert_same(call("gelu_backward", g, x, approximate=approximate), wx, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_activation_backward_broadcasts_grad(ref, dtype):
    x, rx = make(ref, (3, 4), dtype, 0)
    g, rg = make(ref, (1, 4), dtype, 1)
    want = ref.ops.aten.threshold_backward(rg, rx, 0.0)
    assert_same(call("threshold_backward", g, x, 0.0), want, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", ACT_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_log_sigmoid_forward_and_backward(ref, dtype, shape, layout):
    x, rx = act_data(ref, shape, dtype, layout)
    g, rg = make(ref, shape, dtype, 7, layout)
    out, buf = call("log_sigmoid_forward", x)
    lx = leaf(rx)
    want = ref.ops.aten.log_sigmoid_forward(lx)
    assert_same(out, want[0].detach(), **tol(dtype))
    assert_same(buf, want[1], **tol(dtype))
    (wx,) = grads(ref, want[0], [lx], rg)
    assert_same(call("log_sigmoid_backward", g, x, buf), wx, **tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((4, 6), 0), ((2, 4, 3), 1), ((0, 2), 1)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_glu_and_backward_match_torch(ref, dtype, shape, dim, layout):
    x, rx = make(ref, shape, dtype, 0, layout, scale=2.0)
    lx = leaf(rx)
    want = ref.nn.functional.glu(lx, dim)
    got = call("glu", x, dim)
    assert_same(got, want.detach(), **tol(dtype))
    g, rg = make(ref, tuple(want.shape), dtype, 7)
    (wx,) = grads(ref, want, [lx], rg)
    assert_same(call("glu_backward", g, x, dim), wx, **tol(dtype))


def test_glu_errors():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        call("glu", td.ones(3, 3), 1)
    with pytest.raises(RuntimeError, match="glu does not support 0-dimensional tensors"):
        call("glu", td.ones(()), 0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,wn", [((3, 4), 4), ((3, 4), 1), ((2, 3, 5), 3), ((2, 3, 2, 2), 3),
                                      ((5,), 1), ((), 1), ((0, 3), 3)])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_prelu_and_backward_match_torch(ref, dtype, shape, wn, layout):
    x, rx = make(ref, shape, dtype, 0, layout, scale=2.0)
    w, rw = make(ref, (wn,), dtype, 1)
    lx, lw = leaf(rx), leaf(rw)
    want = ref.prelu(lx, lw)
    assert_same(td.prelu(x, w), want.detach(), **tol(dtype))
    g, rg = make(ref, shape, dtype, 7, layout)
    wx, ww = grads(ref, want, [lx, lw], rg)
    gi, gw = call("prelu_backward", g, x, w)
    assert_same(gi, wx, **tol(dtype))
    assert_same(gw, ww, **tol(dtype))


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        td.prelu(td.ones(2, 3), td.ones(4))
    with pytest.raises(RuntimeError, match="Expected `weight` to be a scalar or 1D tensor"):
        td.prelu(td.ones(2, 3), td.ones(3, 1))


def test_activation_errors():
    with pytest.raises(RuntimeError, match="elu.*not implemented for 'Long'"):
        call("elu", td.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="leaky_relu_backward.*negative slope"):
        force(call("leaky_relu_backward", td.ones(2), td.ones(2), -0.1, True))
    with pytest.raises(RuntimeError, match="gelu_backward.*approximate"):
        force(call("gelu_backward", td.ones(2), td.ones(2), approximate="bogus"))
