"""Convolution and pooling (the nn_conv ops) against torch: forward values
for many configurations (stride, padding, dilation, groups, transposed,
output_padding, bias, batched/unbatched, dtypes, non-contiguous input), the
backward ops against torch.autograd.grad of the same forward, and torch's
errors."""
import re

import numpy as np
import pytest

import tensord as td
from helpers import assert_same, pair, to_numpy, torch_or_skip

FLOATS = ["float32", "float64"]


def tol(dtype):
    if dtype == "bfloat16":
        return dict(rtol=3e-2, atol=0.3)
    if dtype == "float32":
        return dict(rtol=1e-4, atol=1e-4)
    return dict(rtol=1e-9, atol=1e-9)


def make(ref, shape, dtype, seed=0, layout="contiguous"):
    """A tensord/torch pair; 'transposed' is a view with the last two dims
    swapped, 'stepped' takes every other element of the last dim."""
    rs = np.random.RandomState(seed)
    gen = (lambda s: rs.randint(-3, 4, size=s)) if dtype.startswith("int") else rs.randn
    if layout == "contiguous" or len(shape) < 2:
        return pair(ref, gen(*shape) if not dtype.startswith("int") else gen(shape), dtype)
    if layout == "transposed":
        s = list(shape)
        s[-1], s[-2] = s[-2], s[-1]
        a, r = pair(ref, gen(*s) if not dtype.startswith("int") else gen(s), dtype)
        return a.transpose(-1, -2), r.transpose(-1, -2)
    if layout == "stepped":
        s = list(shape)
        s[-1] *= 2
        a, r = pair(ref, gen(*s) if not dtype.startswith("int") else gen(s), dtype)
        return a[..., ::2], r[..., ::2]
    raise AssertionError(layout)


# ---------------------------------------------------------------- convolution forward

# (input shape, weight shape, kwargs of torch.nn.functional.conv2d)
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 2, 9, 8), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ((2, 6, 5, 5), (9, 2, 3, 3), dict(groups=3, padding=1)),
    ((2, 4, 6, 6), (4, 1, 3, 3), dict(groups=4, stride=2)),
    ((3, 5, 4, 4), (2, 5, 1, 1), dict(bias=False)),
    ((5, 6, 7), (2, 5, 3, 3), {}),  # unbatched
    ((2, 3, 6, 6), (2, 3, 4, 4), dict(padding="same")),
    ((2, 3, 6, 6), (2, 3, 3, 2), dict(padding="same", dilation=2)),
    ((2, 3, 6, 6), (2, 3, 3, 3), dict(padding="valid")),
    ((2, 3, 5, 5), (4, 3, 5, 5), dict(padding=0)),  # kernel covers the input
    ((0, 3, 5, 5), (4, 3, 3, 3), {}),  # empty batch
]


def conv_args(ref, xs, ws, kw, dtype, layout, bias_channels):
    x, rx = make(ref, xs, dtype, 0, layout)
    w, rw = make(ref, ws, dtype, 1)
    kw = dict(kw)
    if kw.pop("bias", True):
        b, rb = make(ref, (bias_channels,), dtype, 2)
    else:
        b, rb = None, None
    return (x, w, b), (rx, rw, rb), kw


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped"])
@pytest.mark.parametrize("case", range(len(CONV2D)))
def test_conv2d_matches_torch(ref, dtype, layout, case):
    xs, ws, kw = CONV2D[case]
    (x, w, b), (rx, rw, rb), kw = conv_args(ref, xs, ws, kw, dtype, layout, ws[0])
    assert_same(td.conv2d(x, w, b, **kw), ref.nn.functional.conv2d(rx, rw, rb, **kw), **tol(dtype))


CONV1D = [
    ((2, 3, 10), (4, 3, 3), dict(stride=2, padding=2, dilation=2)),
    ((2, 4, 9), (6, 2, 4), dict(groups=2, padding="same")),
    ((3, 9), (2, 3, 3), {}),  # unbatched
    ((1, 1, 5), (1, 1, 5), dict(bias=False)),
]
CONV3D = [
    ((2, 2, 5, 4, 6), (3, 2, 3, 2, 3), dict(stride=(1, 2, 1), padding=1)),
    ((1, 4, 4, 5, 5), (4, 2, 2, 3, 3), dict(groups=2, dilation=(1, 2, 1), bias=False)),
    ((2, 4, 4, 4), (3, 2, 3, 3, 3), dict(padding="same")),  # unbatched
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dims,case", [(1, i) for i in range(len(CONV1D))] +
                         [(3, i) for i in range(len(CONV3D))])
def test_conv1d_and_conv3d_match_torch(ref, dtype, layout, dims, case):
    xs, ws, kw = (CONV1D if dims == 1 else CONV3D)[case]
    (x, w, b), (rx, rw, rb), kw = conv_args(ref, xs, ws, kw, dtype, layout, ws[0])
    fn = f"conv{dims}d"
    assert_same(getattr(td, fn)(x, w, b, **kw), getattr(ref.nn.functional, fn)(rx, rw, rb, **kw),
                **tol(dtype))


# (dims, input shape, weight shape [C_in, C_out / groups, K...], kwargs of conv_transpose)
CONV_T = [
    (2, (2, 3, 5, 4), (3, 4, 3, 3), {}),
    (2, (2, 3, 5, 4), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, (1, 4, 4, 4), (4, 3, 2, 3), dict(stride=(2, 3), dilation=(2, 1), output_padding=(1, 2))),
    (2, (2, 6, 3, 3), (6, 2, 3, 3), dict(groups=3, stride=2, padding=(0, 1))),
    (2, (4, 5, 5), (4, 2, 3, 3), dict(bias=False, stride=2)),  # unbatched
    (2, (2, 3, 4, 4), (3, 2, 3, 3), dict(padding=2, output_padding=0, stride=3)),
    (1, (2, 3, 7), (3, 2, 4), dict(stride=3, padding=1, output_padding=2)),
    (1, (3, 6), (3, 4, 3), dict(dilation=3)),
    (3, (1, 2, 3, 3, 2), (2, 3, 2, 2, 3), dict(stride=2, output_padding=(1, 0, 1))),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(CONV_T)))
def test_conv_transpose_matches_torch(ref, dtype, layout, case):
    dims, xs, ws, kw = CONV_T[case]
    groups = kw.get("groups", 1)
    (x, w, b), (rx, rw, rb), kw = conv_args(ref, xs, ws, kw, dtype, layout, ws[1] * groups)
    fn = f"conv_transpose{dims}d"
    assert_same(getattr(td, fn)(x, w, b, **kw), getattr(ref.nn.functional, fn)(rx, rw, rb, **kw),
                **tol(dtype))


@pytest.mark.parametrize("dtype", ["bfloat16", "int64", "int32"])
@pytest.mark.parametrize("transposed", [False, True])
def test_convolution_other_dtypes_match_torch(ref, dtype, transposed):
    x, rx = make(ref, (2, 4, 6, 5), dtype, 0)
    w, rw = make(ref, (4, 2, 3, 3), dtype, 1)
    b, rb = make(ref, (4,), dtype, 2)
    args = ([2, 1], [1, 0], [1, 2], transposed, [1, 0] if transposed else [0, 0], 2)
    if dtype == "bfloat16":  # torch 1.13's bfloat16 CPU path ignores transposed: compare in float64
        want = ref.convolution(rx.double(), rw.double(), rb.double(), *args).bfloat16()
    else:
        want = torch_or_skip(lambda: ref.convolution(rx, rw, rb, *args))
    assert_same(td.convolution(x, w, b, *args), want, **tol(dtype))


def test_convolution_op_takes_aten_arguments(ref):
    x, rx = make(ref, (2, 3, 6, 6), "float32")
    w, rw = make(ref, (4, 3, 3, 3), "float32", 1)
    args = ([1, 2], [1, 0], [1, 1], False, [0, 0], 1)
    assert_same(td.convolution(x, w, None, *args), ref.convolution(rx, rw, None, *args), **tol("float32"))


def test_conv2d_float32_larger_case_matches_torch(ref):
    """The bench shape: oneDNN's blocked kernels, not only the small cases."""
    x, rx = make(ref, (16, 3, 28, 28), "float32")
    w, rw = make(ref, (32, 3, 3, 3), "float32", 1)
    b, rb = make(ref, (32,), "float32", 2)
    assert_same(td.conv2d(x, w, b), ref.nn.functional.conv2d(rx, rw, rb), **tol("float32"))
    w2, rw2 = make(ref, (64, 32, 3, 3), "float32", 3)
    y, ry = td.conv2d(x, w, b), ref.nn.functional.conv2d(rx, rw, rb)
    assert_same(td.conv2d(y, w2, stride=2, padding=1),
                ref.nn.functional.conv2d(ry, rw2, stride=2, padding=1), rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------- convolution_backward

# (input shape, weight shape, stride, padding, dilation, transposed, output_padding, groups)
CONV_BW = [
    ((2, 3, 7, 6), (4, 3, 3, 3), [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
    ((2, 3, 8, 7), (4, 3, 3, 2), [2, 1], [1, 2], [1, 2], False, [0, 0], 1),
    ((2, 6, 5, 5), (9, 2, 3, 3), [2, 2], [1, 1], [1, 1], False, [0, 0], 3),
    ((2, 3, 10), (4, 3, 3), [3], [1], [2], False, [0], 1),
    ((2, 3, 5, 4), (3, 2, 3, 3), [2, 2], [1, 1], [1, 1], True, [1, 0], 1),
    ((2, 4, 3, 3), (4, 3, 2, 3), [2, 3], [0, 1], [2, 1], True, [1, 2], 2),
    ((2, 3, 7), (3, 2, 4), [3], [1], [1], True, [2], 1),
    ((1, 2, 4, 3, 5), (3, 2, 2, 2, 3), [1, 2, 1], [1, 0, 1], [1, 1, 2], False, [0, 0, 0], 1),
    ((0, 3, 5, 5), (4, 3, 3, 3), [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
]


def torch_conv_grads(ref, rx, rw, rb, args, seed=5):
    rx = rx.detach().requires_grad_(True)
    rw = rw.detach().requires_grad_(True)
    rb = rb.detach().requires_grad_(True)
    y = ref.convolution(rx, rw, rb, *args)
    go = ref.tensor(np.random.RandomState(seed).randn(*y.shape)).to(rx.dtype)
    grads = ref.autograd.grad(y, (rx, rw, rb), go)
    return go, grads


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(CONV_BW)))
def test_convolution_backward_matches_autograd(ref, dtype, layout, case):
    xs, ws, *args = CONV_BW[case]
    transposed, groups = args[3], args[5]
    x, rx = make(ref, xs, dtype, 0, layout)
    w, rw = make(ref, ws, dtype, 1)
    oc = ws[1] * groups if transposed else ws[0]
    _, rb = make(ref, (oc,), dtype, 2)
    go, want = torch_conv_grads(ref, rx, rw, rb, args)
    g = td.tensor(go.numpy(), dtype=getattr(td, dtype))
    if layout == "transposed" and g.dim() >= 2:  # a non-contiguous grad_output too
        g = td.tensor(go.transpose(-1, -2).contiguous().numpy(), dtype=g.dtype).transpose(-1, -2)
    got = td._C.call("convolution_backward", (g, x, w, [oc], *args, [1, 1, 1]))
    assert len(got) == 3
    t = tol(dtype)
    if dtype == "float32":  # sums over a batch of products
        t = dict(rtol=1e-4, atol=1e-3)
    for a, b in zip(got, want):
        assert_same(a, b, **t)


@pytest.mark.parametrize("mask", [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [True, False, True]])
def test_convolution_backward_masked_results_are_empty(ref, mask):
    xs, ws, *args = CONV_BW[1]
    x, rx = make(ref, xs, "float64")
    w, rw = make(ref, ws, "float64", 1)
    _, rb = make(ref, (ws[0],), "float64", 2)
    go, want = torch_conv_grads(ref, rx, rw, rb, args)
    got = td._C.call("convolution_backward",
                     (td.tensor(go.numpy()), x, w, None, *args, mask))
    for on, a, b in zip(mask, got, want):
        if on:
            assert_same(a, b, rtol=1e-9, atol=1e-9)
        else:
            assert tuple(a.shape) == (0,) and a.dtype == td.float64


def test_convolution_backward_bfloat16_close_to_float64(ref):
    xs, ws, *args = CONV_BW[2]
    x, rx = make(ref, xs, "bfloat16")
    w, rw = make(ref, ws, "bfloat16", 1)
    _, rb = make(ref, (ws[0],), "float64", 2)
    go, want = torch_conv_grads(ref, rx.double(), rw.double(), rb, args)
    got = td._C.call("convolution_backward",
                     (td.tensor(go.numpy(), dtype=td.bfloat16), x, w, [ws[0]], *args, [1, 1, 1]))
    for a, b in zip(got, want):
        assert a.dtype == td.bfloat16
        np.testing.assert_allclose(to_numpy(a), b.numpy(), rtol=5e-2, atol=0.5)


# ---------------------------------------------------------------- pooling forward

POOL_DTYPES = ["float32", "float64", "bfloat16"]

# (input shape, kwargs of max_pool2d)
MAX_POOL = [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 3))),
    ((2, 2, 7, 7), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 1, 6, 6), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),
    ((3, 5, 5), dict(kernel_size=2, stride=1)),  # unbatched
    ((0, 2, 4, 4), dict(kernel_size=2)),
]


@pytest.mark.parametrize("dtype", POOL_DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(MAX_POOL)))
def test_max_pool2d_values_and_indices_match_torch(ref, dtype, layout, case):
    shape, kw = MAX_POOL[case]
    x, rx = make(ref, shape, dtype, 0, layout)
    v, i = td.max_pool2d(x, return_indices=True, **kw)
    rv, ri = ref.nn.functional.max_pool2d(rx, return_indices=True, **kw)
    assert_same(v, rv, **tol(dtype))
    assert_same(i, ri)
    assert_same(td.max_pool2d(x, **kw), ref.max_pool2d(rx, **kw), **tol(dtype))


def test_max_pool2d_nan_wins_and_ties_take_the_first(ref):
    arr = np.array([[[[1.0, 1.0, 0.0], [np.nan, 1.0, 2.0], [3.0, 3.0, np.nan]]]])
    x, rx = pair(ref, arr, "float32")
    v, i = td.max_pool2d_with_indices(x, 2, 1)
    rv, ri = ref.nn.functional.max_pool2d_with_indices(rx, 2, 1)
    assert_same(v, rv)
    assert_same(i, ri)


AVG_POOL = [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 8, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)),
    ((1, 2, 8, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True,
                        count_include_pad=False)),
    ((2, 5, 5), dict(kernel_size=2, divisor_override=3)),  # unbatched
    ((1, 1, 5, 5), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
]


@pytest.mark.parametrize("dtype", POOL_DTYPES + ["int64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(AVG_POOL)))
def test_avg_pool2d_matches_torch(ref, dtype, layout, case):
    shape, kw = AVG_POOL[case]
    x, rx = make(ref, shape, dtype, 0, layout)
    assert_same(td.avg_pool2d(x, **kw), ref.nn.functional.avg_pool2d(rx, **kw), **tol(dtype))


ADAPTIVE = [((2, 3, 7, 6), (3, 2)), ((2, 3, 7, 6), 1), ((1, 2, 5, 5), (7, 9)),
            ((3, 10, 4), (None, 3)), ((2, 3, 6, 6), (6, 6)), ((2, 0, 4, 4), 2), ((2, 3, 4, 4), (0, 2))]


@pytest.mark.parametrize("dtype", POOL_DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "stepped"])
@pytest.mark.parametrize("case", range(len(ADAPTIVE)))
def test_adaptive_pools_match_torch(ref, dtype, layout, case):
    shape, out = ADAPTIVE[case]
    x, rx = make(ref, shape, dtype, 0, layout)
    F = ref.nn.functional
    assert_same(td.adaptive_avg_pool2d(x, out), F.adaptive_avg_pool2d(rx, out), **tol(dtype))
    if 0 in shape[1:]:
        return  # adaptive_max_pool2d refuses empty channels
    v, i = td.adaptive_max_pool2d(x, out, return_indices=True)
    rv, ri = F.adaptive_max_pool2d(rx, out, return_indices=True)
    assert_same(v, rv, **tol(dtype))
    assert_same(i, ri)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_1d_pools_match_torch(ref, dtype, layout):
    x, rx = make(ref, (2, 3, 11), dtype, 0, layout)
    for kw in (dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, dilation=2),
               dict(kernel_size=4, stride=3, ceil_mode=True)):
        assert_same(td.max_pool1d(x, **kw), ref.max_pool1d(rx, **kw), **tol(dtype))
        v, i = td.max_pool1d_with_indices(x, **kw)
        rv, ri = ref.max_pool1d_with_indices(rx, **kw)
        assert_same(v, rv, **tol(dtype))
        assert_same(i, ri)
    for kw in (dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
               dict(kernel_size=2, ceil_mode=True)):
        assert_same(td.avg_pool1d(x, **kw), ref.avg_pool1d(rx, **kw), **tol(dtype))
    for out in (4, 1, 15):
        assert_same(td.adaptive_avg_pool1d(x, out), ref.adaptive_avg_pool1d(rx, out), **tol(dtype))
        v, i = td.adaptive_max_pool1d(x, out)
        rv, ri = ref.adaptive_max_pool1d(rx, out)
        assert_same(v, rv, **tol(dtype))
        assert_same(i, ri)
    u, ru = make(ref, (3, 8), dtype)  # unbatched
    assert_same(td.max_pool1d(u, 2), ref.max_pool1d(ru, 2), **tol(dtype))


# ---------------------------------------------------------------- pooling backward


def grad_of(ref, fn, rx, seed=7, pick=lambda y: y):
    rx = rx.detach().requires_grad_(True)
    y = pick(fn(rx))
    go = ref.tensor(np.random.RandomState(seed).randn(*y.shape)).to(rx.dtype)
    (gi,) = ref.autograd.grad(y, (rx,), go)
    return go, gi


def td_like(go, dtype, layout):
    g = td.tensor(to_numpy(go), dtype=getattr(td, dtype))
    if layout == "transposed" and g.dim() >= 2:
        g = td.tensor(to_numpy(go.transpose(-1, -2).contiguous()), dtype=g.dtype).transpose(-1, -2)
    return g


@pytest.mark.parametrize("dtype", POOL_DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(MAX_POOL)))
def test_max_pool2d_backward_matches_autograd(ref, dtype, layout, case):
    shape, kw = MAX_POOL[case]
    x, rx = make(ref, shape, dtype, 0, layout)
    go, want = grad_of(ref, lambda t: ref.nn.functional.max_pool2d(t, **kw), rx)
    _, ind = td.max_pool2d(x, return_indices=True, **kw)
    ks = kw["kernel_size"]
    args = (ks if isinstance(ks, tuple) else [ks], kw.get("stride", []), kw.get("padding", 0),
            kw.get("dilation", 1), kw.get("ceil_mode", False), ind)
    got = td._C.call("max_pool2d_with_indices_backward", (td_like(go, dtype, layout), x) + args)
    assert_same(got, want, **tol(dtype))


@pytest.mark.parametrize("dtype", POOL_DTYPES + ["float64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("case", range(len(AVG_POOL)))
def test_avg_pool2d_backward_matches_autograd(ref, dtype, layout, case):
    shape, kw = AVG_POOL[case]
    x, rx = make(ref, shape, dtype, 0, layout)
    go, want = grad_of(ref, lambda t: ref.nn.functional.avg_pool2d(t, **kw), rx)
    ks = kw["kernel_size"]
    args = (ks if isinstance(ks, tuple) else [ks], kw.get("stride", []), kw.get("padding", 0),
            kw.get("ceil_mode", False), kw.get("count_include_pad", True),
            kw.get("divisor_override"))
    got = td._C.call("avg_pool2d_backward", (td_like(go, dtype, layout), x) + args)
    assert_same(got, want, **tol(dtype))


@pytest.mark.parametrize("dtype", POOL_DTYPES)
@pytest.mark.parametrize("case", range(len(ADAPTIVE)))
def test_adaptive_pool_backward_matches_autograd(ref, dtype, case):
    shape, out = ADAPTIVE[case]
    if 0 in shape[1:] or 0 in (out if isinstance(out, tuple) else (out,)):
        pytest.skip("torch's adaptive_avg_pool2d_backward refuses empty gradients")
    x, rx = make(ref, shape, dtype, 0)
    F = ref.nn.functional
    go, want = grad_of(ref, lambda t: F.adaptive_avg_pool2d(t, out), rx)
    got = td._C.call("adaptive_avg_pool2d_backward", (td_like(go, dtype, "contiguous"), x))
    assert_same(got, want, **tol(dtype))
    if 0 in shape[1:]:
        return
    go, want = grad_of(ref, lambda t: F.adaptive_max_pool2d(t, out), rx)
    _, ind = td.adaptive_max_pool2d(x, out, return_indices=True)
    got = td._C.call("adaptive_max_pool2d_backward", (td_like(go, dtype, "transposed"), x, ind))
    assert_same(got, want, **tol(dtype))


def test_max_pool_backward_rejects_out_of_range_indices(ref):
    x = td.randn(1, 1, 4, 4)
    v, ind = td.max_pool2d(x, 2, return_indices=True)
    bad = ind + 100
    with pytest.raises(IndexError, match="max_pool2d_with_indices_backward"):
        td._C.call("max_pool2d_with_indices_backward", (td.ones(1, 1, 2, 2), x, [2], [2], [0], [1],
                                                        False, bad)).numpy()


# ---------------------------------------------------------------- errors


def F(lib):
    return lib.nn.functional


ERRORS = [
    (lambda t: F(t).conv2d(t.randn(2, 3), t.randn(4, 3, 3, 3)),
     "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]"),
    (lambda t: F(t).conv2d(t.randn(2, 4, 5, 5), t.randn(4, 3, 3, 3)),
     "Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 4, 5, 5] to have 3 channels, "
     "but got 4 channels instead"),
    (lambda t: F(t).conv2d(t.randn(4, 5, 5), t.randn(4, 3, 3, 3)),
     "expected input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), groups=2),
     "Given groups=2, weight of size [4, 3, 3, 3], expected input[2, 3, 5, 5] to have 6 channels"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 1, 3, 3), groups=3),
     "Given groups=3, expected weight to be divisible by 3 at dimension 0"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 2, 2), t.randn(4, 3, 3, 3)),
     "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't "
     "be greater than actual input size"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), t.randn(3)),
     "Given weight of size [4, 3, 3, 3], expected bias to be 1-dimensional with 4 elements, but got "
     "bias of size [3] instead"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), stride=0),
     "non-positive stride is not supported"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), padding=-1),
     "negative padding is not supported"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), dilation=0),
     "non-positive dilation is not supported"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3).double()),
     "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5).double(), t.randn(4, 3, 3, 3)),
     "expected scalar type Double but found Float"),
    (lambda t: F(t).conv2d(t.randn(2, 3, 5, 5).half(), t.randn(4, 3, 3, 3).half()),
     "\"slow_conv2d_cpu\" not implemented for 'Half'"),
    (lambda t: F(t).conv2d(t.randn(1, 3, 5, 5), t.randn(2, 3, 3, 3), padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    (lambda t: F(t).conv2d(t.randn(1, 3, 5, 5), t.randn(2, 3, 3, 3), padding="foo"),
     "Invalid padding string: 'foo'"),
    (lambda t: t.convolution(t.randn(3, 5, 5), t.randn(4, 3, 3, 3), None, [1], [0], [1], False, [0], 1),
     "Expected 4-dimensional input for 4-dimensional weight [4, 3, 3, 3], but got 3-dimensional "
     "input of size [3, 5, 5] instead"),
    (lambda t: t.convolution(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3), None, [1, 1, 1], [0], [1],
                             False, [0], 1),
     "expected stride to be a single integer value or a list of 2 values to match the convolution "
     "dimensions, but got stride=[1, 1, 1]"),
    (lambda t: F(t).conv_transpose2d(t.randn(2, 3, 5, 5), t.randn(4, 3, 3, 3)),
     "Given transposed=1, weight of size [4, 3, 3, 3], expected input[2, 3, 5, 5] to have 4 "
     "channels, but got 3 channels instead"),
    (lambda t: F(t).conv_transpose2d(t.randn(2, 3), t.randn(3, 3, 3, 3)),
     "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: [2, 3]"),
    (lambda t: F(t).conv_transpose2d(t.randn(2, 3, 5, 5), t.randn(3, 4, 3, 3), output_padding=1),
     "output padding must be smaller than either stride or dilation"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5), 3, padding=2),
     "pad should be at most half of kernel size, but got pad=2 and kernel_size=3"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5), 6),
     "Given input size: (3x5x5). Calculated output size: (3x0x0). Output size is too small"),
    (lambda t: F(t).max_pool2d(t.randn(5, 5), 2),
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5), 2, stride=0), "stride should not be zero"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5), [2, 2, 2]),
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5), 2, dilation=0),
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda t: F(t).max_pool2d(t.randn(2, 0, 5, 5), 2),
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 0, 5, 5]"),
    (lambda t: F(t).max_pool2d(t.randn(2, 3, 5, 5).long(), 2),
     "\"max_pool2d\" not implemented for 'Long'"),
    (lambda t: F(t).avg_pool2d(t.randn(2, 3, 5, 5), 2, divisor_override=0), "divisor must be not zero"),
    (lambda t: F(t).avg_pool2d(t.randn(2, 3, 5, 5).int(), 2), "\"avg_pool2d\" not implemented for 'Int'"),
    (lambda t: F(t).adaptive_avg_pool2d(t.randn(5, 5), 2),
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [5, 5]"),
    (lambda t: F(t).adaptive_avg_pool2d(t.randn(2, 3, 5, 5), [2, 2, 2]),
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda t: F(t).adaptive_avg_pool2d(t.randn(2, 3, 0, 5), 2),
     "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
     "input has sizes [2, 3, 0, 5] with dimension 2 being empty"),
    (lambda t: F(t).adaptive_max_pool2d(t.randn(5, 5), 2),
     "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [5, 5]"),
    (lambda t: F(t).adaptive_max_pool2d(t.randn(2, 0, 5, 5), 2),
     "with dimension 1 being empty"),
    (lambda t: F(t).max_pool1d(t.randn(5), 2),
     "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:[5]"),
    (lambda t: F(t).avg_pool1d(t.randn(5), 2), "Expected 2 to 3 dimensions, but got 1-dimensional tensor"),
]


def td_functional():
    """tensord with the nn.functional names torch has (nn.functional itself comes later)."""
    import types
    return types.SimpleNamespace(nn=types.SimpleNamespace(functional=td), **{
        k: getattr(td, k) for k in dir(td) if not k.startswith("__") and k != "nn"})


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(ref, i):
    fn, msg = ERRORS[i]
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        fn(ref)
    with pytest.raises(RuntimeError, match=re.escape(msg)) as e:
        r = fn(td_functional())
        r = r[0] if isinstance(r, tuple) else r
        r.numpy()
    assert "[" in str(e.value) or "conv" in str(e.value) or "pool" in str(e.value)


def test_avg_pool2d_on_2d_input_raises_index_error_like_torch(ref):
    with pytest.raises(IndexError, match=re.escape("Dimension out of range")):
        ref.nn.functional.avg_pool2d(ref.randn(5, 5), 2)
    with pytest.raises(IndexError, match=re.escape("Dimension out of range")):
        td.avg_pool2d(td.randn(5, 5), 2)


def test_backward_ops_check_grad_output_shape():
    x, w = td.randn(2, 3, 5, 5), td.randn(4, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"\[convolution_backward\] expected grad_output of size"):
        td._C.call("convolution_backward", (td.randn(2, 4, 2, 2), x, w, None, [1], [0], [1], False,
                                            [0], 1, [1, 1, 1]))
    with pytest.raises(RuntimeError, match=r"\[avg_pool2d_backward\] expected grad_output of size"):
        td._C.call("avg_pool2d_backward", (td.randn(2, 3, 3, 3), x, [2], [], [0], False, True, None))
