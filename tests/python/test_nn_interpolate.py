"""F.interpolate against torch 1.13: every mode on the inputs it takes
(3-D, 4-D, 5-D), with size or scale_factor, align_corners and
recompute_scale_factor, outputs and input gradients in float64 (and float32
on non-contiguous input), and torch's errors for wrong combinations."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
import tensord.nn.functional as F
from helpers import assert_close
from test_nn_functional_extra import compare, raises_like, randn

# (input shape, interpolate keywords)
CASES = [
    # nearest and nearest-exact, 1-3 spatial dims, up and down, odd scales
    ((2, 3, 5), dict(size=9, mode="nearest")),
    ((2, 3, 7), dict(scale_factor=0.6, mode="nearest")),
    ((1, 2, 4, 5), dict(scale_factor=(1.7, 0.5), mode="nearest")),
    ((1, 2, 4, 5), dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
    ((1, 2, 3, 4, 2), dict(size=(5, 3, 4), mode="nearest")),
    ((1, 2, 3, 4, 2), dict(scale_factor=(2, 0.75, 1.5), mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.3, mode="nearest-exact")),
    ((1, 2, 5, 4), dict(size=(3, 7), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(0.7, 1.6, 2), mode="nearest-exact")),
    # linear family: align_corners, scale kept or recomputed, down-sampling
    ((2, 3, 5), dict(size=8, mode="linear")),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear", align_corners=True)),
    ((2, 3, 9), dict(scale_factor=0.4, mode="linear")),
    ((2, 3, 9), dict(scale_factor=0.4, mode="linear", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=(1.5, 2.25), mode="bilinear")),
    ((1, 2, 6, 7), dict(size=(3, 11), mode="bilinear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(size=(4, 6, 3), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.5, mode="trilinear", align_corners=True)),
    ((2, 1, 4, 3, 6), dict(scale_factor=(0.5, 1.4, 0.7), mode="trilinear", recompute_scale_factor=False)),
    # bicubic: 4-D only; borders clamp, so small inputs reach past the edges
    ((1, 2, 4, 5), dict(size=(7, 9), mode="bicubic")),
    ((1, 2, 4, 5), dict(size=(7, 9), mode="bicubic", align_corners=True)),
    ((2, 1, 2, 3), dict(scale_factor=2.6, mode="bicubic")),
    ((1, 2, 9, 8), dict(scale_factor=(0.5, 0.45), mode="bicubic")),
    ((1, 2, 9, 8), dict(scale_factor=(0.5, 0.45), mode="bicubic", recompute_scale_factor=True)),
    ((1, 1, 5, 5), dict(size=(1, 1), mode="bicubic", align_corners=True)),
    ((1, 1, 5, 5), dict(size=(5, 5), mode="bicubic")),
    # area: adaptive average pooling (uneven windows too)
    ((2, 3, 7), dict(size=3, mode="area")),
    ((1, 2, 6, 7), dict(scale_factor=0.5, mode="area")),
    ((1, 2, 5, 6, 7), dict(size=(2, 3, 4), mode="area")),
    ((1, 2, 5, 6, 7), dict(scale_factor=(0.5, 1.5, 0.4), mode="area")),
]


def case_id(case):
    shape, kw = case
    return f"{len(shape)}d-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("shape,kw", CASES, ids=[case_id(c) for c in CASES])
def test_interpolate_mode_matches_torch(ref, shape, kw):
    compare(ref, lambda lib, f, x: f.interpolate(x, **kw), randn(*shape))


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area", "nearest-exact"])
def test_interpolate_float32_non_contiguous(ref, mode):
    a = randn(3, 7, 2, 5).astype(np.float32)
    x = td.tensor(a, requires_grad=True)
    rx = ref.tensor(a, requires_grad=True)
    kw = dict(size=(6, 4), mode=mode)
    if mode in ("bilinear", "bicubic"):
        kw["align_corners"] = False
    got = F.interpolate(x.permute(2, 0, 1, 3), **kw)  # (2, 3, 7, 5), not contiguous
    want = ref.nn.functional.interpolate(rx.permute(2, 0, 1, 3), **kw)
    assert_close(got, want, 1e-5)
    g = randn(*want.shape).astype(np.float32)
    got.backward(td.tensor(g))
    want.backward(ref.tensor(g))
    assert_close(x.grad, rx.grad, 1e-5)


def test_interpolate_second_derivative_matches_torch(ref):
    """resample_along's backward is differentiable (its derivative is
    resample_along again): grad of a grad-dependent loss matches torch."""
    a = randn(1, 2, 3, 4)
    results = []
    for lib, f in ((td, F), (ref, ref.nn.functional)):
        x = lib.tensor(a, requires_grad=True)
        y = f.interpolate(x * x, size=(5, 6), mode="bicubic", align_corners=False)
        (gx,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), x)
        results.append((gx, ggx))
    assert_close(results[0][0], results[1][0], 1e-9)
    assert_close(results[0][1], results[1][1], 1e-9)


ERRORS = [
    ((1, 2, 3), dict(size=4, mode="bicubic")),
    ((1, 2, 3, 4, 5), dict(size=4, mode="bicubic")),
    ((1, 2, 3, 4), dict(size=4, mode="trilinear")),
    ((1, 2, 3, 4), dict(size=4, mode="linear")),
    ((1, 2, 3, 4, 5), dict(size=4, mode="bilinear")),
    ((1, 2, 3), dict(size=4, mode="trilinear")),
    ((2, 3), dict(size=4, mode="nearest")),
    ((1, 2, 3), dict(size=4, mode="cubic")),
    ((1, 2, 3), dict(size=4, mode="area", align_corners=False)),
    ((1, 2, 3), dict(size=4, mode="nearest", antialias=True)),
    ((1, 2, 3, 4), dict(size=(4,), mode="bilinear")),
    ((1, 2, 3, 4), dict(scale_factor=(2, 2, 2), mode="nearest")),
    ((1, 2, 3, 4), dict(size=4, mode="nearest", recompute_scale_factor=True)),
    ((1, 2, 3, 4), dict(mode="nearest")),
]


@pytest.mark.parametrize("shape,kw", ERRORS, ids=[case_id(c) for c in ERRORS])
def test_interpolate_errors_match_torch(ref, shape, kw):
    raises_like(ref, lambda lib, f, x: f.interpolate(x, **kw), randn(*shape))


def test_interpolate_empty_output_is_refused(ref):
    for lib, f in ((ref, ref.nn.functional), (td, F)):
        with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
            f.interpolate(lib.zeros(1, 2, 4, 4), scale_factor=0.2, mode="bilinear")


def test_resample_along_rejects_bad_tap_tables():
    x = td.zeros(2, 3)
    w = td.ones(1, 2, dtype=td.float64)
    with pytest.raises(IndexError, match=r"\[resample_along\] index 3 is out of bounds for a dim of size 3"):
        td._C.call("resample_along", (x, 1, td.tensor([[0, 3]]), w), {}).tolist()
    with pytest.raises(RuntimeError, match="expected weight to be float64 of index's size"):
        td._C.call("resample_along", (x, 1, td.tensor([[0, 1]]), td.ones(1, 2)), {})
    with pytest.raises(RuntimeError, match="expected index to be an int64 matrix"):
        td._C.call("resample_along", (x, 1, td.tensor([0, 1]), w), {})
    with pytest.raises(RuntimeError, match="expected grad_output of size"):
        td._C.call("resample_along_backward", (td.zeros(2, 2), [2, 3], 1, td.tensor([[0, 1]]), w), {})
    assert td.zeros(2).add(1).tolist() == [1.0, 1.0]  # the session goes on


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_nearest_copies_values_exactly(ref, mode):
    a = np.array([[[-0.0, np.inf, np.nan, 1e-300, -np.inf]]])
    got = np.asarray(F.interpolate(td.tensor(a), size=9, mode=mode).tolist())
    want = ref.nn.functional.interpolate(ref.tensor(a), size=9, mode=mode).numpy()
    np.testing.assert_array_equal(got, want)
    assert (np.signbit(got) == np.signbit(want)).all()
