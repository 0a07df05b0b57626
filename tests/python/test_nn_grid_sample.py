"""F.grid_sample against torch 1.13 on 4-D and 5-D input: bilinear
(trilinear on 5-D) and nearest, every padding mode, both align_corners,
grids reaching far outside [-1, 1] (several reflections) and points on pixel
centres and borders; outputs and the gradients of input and grid in float64,
float32 on non-contiguous tensors, and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
import tensord.nn.functional as F
from helpers import assert_close
from test_nn_functional_extra import compare, raises_like, randn

RNG = np.random.default_rng(11)


def make_grid(n, out, k, reach):
    """A (n, *out, k) grid uniform on [-reach, reach], with some points on
    pixel centres, corners and the borders of [-1, 1]."""
    grid = RNG.uniform(-reach, reach, (n,) + tuple(out) + (k,))
    flat = grid.reshape(-1, k)
    flat[0] = 1.0
    flat[1] = -1.0
    flat[2] = [0.0] * k
    flat[3] = [0.5, -0.25, 0.75][:k]
    flat[4] = [-1 / 3, 1 / 3, 0.2][:k]  # halfway between pixels for some sizes: rounding rules differ
    return grid


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(ref, k, mode, padding_mode, align_corners):
    shape = (2, 3, 4, 5) if k == 2 else (2, 3, 3, 4, 5)
    out = (3, 4) if k == 2 else (2, 3, 4)
    x, grid = randn(*shape), make_grid(2, out, k, reach=2.7)

    def fn(lib, f, a, g):
        return f.grid_sample(a, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    # nearest has no grid gradient (torch's is zero; ours too)
    compare(ref, fn, x, grid, grad=[0, 1] if mode == "bilinear" else [0])


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_5d_float32_non_contiguous(ref, padding_mode):
    a = randn(4, 3, 2, 5, 6).astype(np.float32)
    g = make_grid(2, (3, 2, 4), 3, reach=1.6).astype(np.float32)
    results = []
    for lib, f in ((td, F), (ref, ref.nn.functional)):
        x = lib.tensor(a, requires_grad=True)
        grid = lib.tensor(np.ascontiguousarray(g.transpose(0, 3, 2, 1, 4)), requires_grad=True)
        y = f.grid_sample(x.permute(2, 1, 0, 3, 4), grid.transpose(1, 3), padding_mode=padding_mode,
                          align_corners=False)  # (2, 3, 4, 5, 6) input, (2, 3, 2, 4, 3) grid
        y.backward(lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)).astype(np.float32)))
        results.append((y, x.grad, grid.grad))
    for got, want in zip(*results):
        assert_close(got, want, 1e-4)


def test_grid_sample_empty_grid(ref):
    for lib, f in ((td, F), (ref, ref.nn.functional)):
        y = f.grid_sample(lib.ones(1, 2, 3, 3, 3), lib.zeros(1, 0, 2, 2, 3), align_corners=True)
        assert tuple(y.shape) == (1, 2, 0, 2, 2)


ERRORS = [
    (dict(mode="bicubic"), (1, 2, 3, 3, 3), (1, 2, 2, 2, 3)),
    (dict(), (1, 2, 3, 3, 3), (1, 2, 2, 2, 2)),
    (dict(), (1, 2, 3, 3, 3), (2, 2, 2, 2, 3)),
    (dict(), (1, 2, 0, 3, 3), (1, 2, 2, 2, 3)),
    (dict(), (1, 2, 3, 3, 3), (1, 2, 2, 3)),
    (dict(), (1, 2, 3), (1, 2, 1)),
    (dict(), (1, 2, 3, 3), (1, 2, 2, 2, 2)),
    (dict(padding_mode="mirror"), (1, 2, 3, 3, 3), (1, 2, 2, 2, 3)),
]


@pytest.mark.parametrize("kw,shape,grid_shape", ERRORS)
def test_grid_sample_errors_match_torch(ref, kw, shape, grid_shape):
    raises_like(ref, lambda lib, f, x, g: f.grid_sample(x, g, align_corners=False, **kw),
                randn(*shape), randn(*grid_shape))
