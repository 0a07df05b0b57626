"""Spatial functions of tensord.nn.functional: pad, interpolate, unfold/fold,
grid_sample, pixel_shuffle, channel_shuffle.

Composed of daemon ops that carry derivative formulas. Source positions that
depend only on shapes (padding, resampling) are computed here and sent as
int64 index tensors (with float64 weights for resampling), so the daemon only
runs index_select / resample_along / gather and weighted sums; unfold/fold are grouped convolutions with one-hot kernels.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import _C


def _td() -> Any:
    import tensord
    return tensord


def _index(values: Any, like: Any) -> Any:
    return _td().tensor(np.asarray(values, dtype=np.int64), device=like._device_str)


def _values(values: Any, like: Any) -> Any:
    return _td().tensor(np.asarray(values, dtype=np.float64), dtype=like.dtype,
                        device=like._device_str)


# ---- pad ----

def _pad_constant(input: Any, pad: Sequence[int], value: float) -> Any:
    td = _td()
    out = input
    for i in range(len(pad) // 2):
        dim = input.dim() - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left < 0:
            out = out.narrow(dim, -left, out.shape[dim] + left)
        if right < 0:
            out = out.narrow(dim, 0, out.shape[dim] + right)
        pieces = []
        for amount in (left, None, right):
            if amount is None:
                pieces.append(out)
            elif amount > 0:
                shape = list(out.shape)
                shape[dim] = amount
                pieces.append(td.full(shape, value, dtype=out.dtype, device=out._device_str))
        if len(pieces) > 1:
            out = td.cat(pieces, dim)
    return out


def _pad_source(n: int, left: int, right: int, mode: str) -> np.ndarray:
    """For each output position along a dim, the input position it copies."""
    p = np.arange(n + left + right, dtype=np.int64) - left
    if mode == "reflect":
        p = np.abs(p)
        return np.where(p >= n, 2 * (n - 1) - p, p)
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    # circular: negative pads crop first; positive pads wrap around the cropped extent
    start, kept = max(-left, 0), n + min(left, 0) + min(right, 0)
    return start + np.mod(np.arange(kept + max(left, 0) + max(right, 0)) - max(left, 0), kept)


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Any:
    pad = [int(p) for p in pad]
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length too large")
    if mode == "constant":
        return _pad_constant(input, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError("Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  "supported for now")
    if mode == "circular" and input.dim() != k + 2:
        raise RuntimeError(f"Invalid padding size, expected {2 * (input.dim() - 2)} but got {len(pad)}")
    out = input
    for i in range(k):
        dim = input.dim() - 1 - i
        n, left, right = input.shape[dim], pad[2 * i], pad[2 * i + 1]
        if mode == "reflect" and (left >= n or right >= n):
            raise RuntimeError("Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({left}, {right}) at dimension "
                               f"{dim} of input {list(input.shape)}")
        if mode == "circular" and (left > n or right > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0 and left + right > 0:
            raise RuntimeError(f"[pad] replicate padding needs a non-empty dimension {dim}")
        out = _td().index_select(out, dim, _index(_pad_source(n, left, right, mode), input))
    return out


# ---- interpolate ----
#
# Every mode is separable: one pass per spatial dim of the daemon's
# resample_along, which weighs a few source rows per output row through a tap
# table computed here with ATen's index arithmetic (nearest: one tap of
# weight 1, an exact copy; linear 2, cubic 4; 3-d area the window). 1-d and
# 2-d area are adaptive average pooling, as in torch.

def _nearest_source(n_in: int, n_out: int, scale: Optional[float], exact: bool) -> np.ndarray:
    """ATen's nearest_idx / nearest_exact_idx (float32 arithmetic)."""
    j = np.arange(n_out)
    if not exact:
        if n_out == n_in:
            return j
        if n_out == 2 * n_in:
            return j >> 1
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(n_in) / np.float32(n_out)
    pos = (j.astype(np.float32) + np.float32(0.5)) * s if exact else j.astype(np.float32) * s
    return np.minimum(np.floor(pos).astype(np.int64), n_in - 1)


def _source_position(n_in: int, n_out: int, scale: Optional[float], align_corners: bool,
                     cubic: bool) -> np.ndarray:
    """ATen's area_pixel_compute_scale + area_pixel_compute_source_index."""
    j = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0) * j
    s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    real = s * (j + 0.5) - 0.5
    return real if cubic else np.maximum(real, 0.0)


def _linear_taps(n_in: int, n_out: int, scale: Optional[float], align_corners: bool) -> tuple:
    """ATen's compute_indices_weights_linear: 2 taps per output position."""
    real = _source_position(n_in, n_out, scale, align_corners, cubic=False)
    i0 = np.minimum(real.astype(np.int64), n_in - 1)
    lam1 = np.clip(real - i0, 0.0, 1.0)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], 1), np.stack([1.0 - lam1, lam1], 1)


def _cubic_taps(n_in: int, n_out: int, scale: Optional[float], align_corners: bool) -> tuple:
    """ATen's upsample_bicubic2d: 4 taps around floor(real), clamped to the
    input, with the cubic convolution coefficients of A = -0.75."""
    real = _source_position(n_in, n_out, scale, align_corners, cubic=True)
    base = np.floor(real)
    t = real - base
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weight = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], 1)
    index = np.clip(base.astype(np.int64)[:, None] + np.arange(-1, 3), 0, n_in - 1)
    return index, weight


def _area_taps(n_in: int, n_out: int) -> tuple:
    """adaptive average pooling's windows [floor(j*I/O), ceil((j+1)*I/O)),
    padded to the widest with weight 0."""
    j = np.arange(n_out)
    start = (j * n_in) // n_out
    end = ((j + 1) * n_in + n_out - 1) // n_out
    taps = int((end - start).max())
    index = np.minimum(start[:, None] + np.arange(taps), end[:, None] - 1)
    weight = np.where(start[:, None] + np.arange(taps) < end[:, None], 1.0 / (end - start)[:, None], 0.0)
    return index, weight


def _resample(input: Any, dim: int, taps: tuple) -> Any:
    td = _td()
    index = td.tensor(np.ascontiguousarray(taps[0], dtype=np.int64), device=input._device_str)
    weight = td.tensor(np.ascontiguousarray(taps[1], dtype=np.float64), device=input._device_str)
    return _C.call("resample_along", (input, dim, index, weight))


_INTERP_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
# the spatial dims each mode takes (torch 1.13)
_MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,),
              "bilinear": (2,), "trilinear": (3,), "bicubic": (2,)}


def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Any:
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    scales: Optional[List[float]] = None
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            out_size = [int(s) for s in size]
        else:
            out_size = [int(size)] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and scale_factor "
                    f"of shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out_size = [int(math.floor(float(input.shape[i + 2]) * scales[i])) for i in range(dim)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and size is None:
        recompute_scale_factor = True
    if recompute_scale_factor:
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic") and input.dim() == 4):
        raise ValueError("Anti-alias option is only supported for bilinear and bicubic modes")
    if dim not in _MODE_DIMS.get(mode, ()):
        wanted = {"linear": 1, "bilinear": 2, "trilinear": 3}.get(mode)
        if wanted is not None and 1 <= dim <= 3:
            raise NotImplementedError(f"Got {dim + 2}D input, but {mode} mode needs {wanted + 2}D input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})")
    if antialias:
        raise NotImplementedError("tensord: interpolate(antialias=True) is not supported")
    for i, s in enumerate(out_size):
        if s <= 0 or input.shape[i + 2] <= 0:
            raise RuntimeError(f"[interpolate] Input and output sizes should be greater than 0, "
                               f"but got input ({list(input.shape[2:])}) and output ({out_size})")
    td = _td()
    if mode == "area" and dim < 3:
        return td.adaptive_avg_pool1d(input, out_size) if dim == 1 else \
            td.adaptive_avg_pool2d(input, out_size)
    out = input
    for i in range(dim):
        d, n_in, n_out = i + 2, input.shape[i + 2], out_size[i]
        scale = scales[i] if scales is not None else None
        if mode in ("nearest", "nearest-exact"):
            src = _nearest_source(n_in, n_out, scale, mode == "nearest-exact")
            out = _resample(out, d, (src[:, None], np.ones((n_out, 1))))
        elif mode == "area":
            out = _resample(out, d, _area_taps(n_in, n_out))
        elif mode == "bicubic":
            out = _resample(out, d, _cubic_taps(n_in, n_out, scale, align_corners))
        else:
            out = _resample(out, d, _linear_taps(n_in, n_out, scale, align_corners))
    return out


def upsample(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: Optional[bool] = None) -> Any:
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---- unfold / fold ----

def _pair(v: Any, name: str) -> List[int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise RuntimeError(f"[{name}] expected 2 values, got {list(v)}")
        return [int(x) for x in v]
    return [int(v)] * 2


def _one_hot_kernel(channels: int, kh: int, kw: int, like: Any) -> Any:
    """(channels * kh * kw, 1, kh, kw): output channel c * K + k picks kernel position k."""
    k = kh * kw
    eye = np.tile(np.eye(k).reshape(k, 1, kh, kw), (channels, 1, 1, 1))
    return _values(eye, like)


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    k, d, p, s = (_pair(kernel_size, "unfold"), _pair(dilation, "unfold"),
                  _pair(padding, "unfold"), _pair(stride, "unfold"))
    if input.dim() not in (3, 4):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    h, w = x.shape[2], x.shape[3]
    blocks = [(h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1,
              (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1]
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape "
                           f"of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), but its "
                           "components must be at least one.")
    c = x.shape[1]
    weight = _one_hot_kernel(c, k[0], k[1], x)
    out = _C.call("convolution", (x, weight, None, s, p, d, False, [0, 0], c))
    out = out.reshape(x.shape[0], c * k[0] * k[1], blocks[0] * blocks[1])
    return out if batched else out.squeeze(0)


def fold(input: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Any:
    o, k, d, p, s = (_pair(output_size, "fold"), _pair(kernel_size, "fold"),
                     _pair(dilation, "fold"), _pair(padding, "fold"), _pair(stride, "fold"))
    if input.dim() not in (2, 3):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    kk = k[0] * k[1]
    if x.shape[1] % kk != 0:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size=({k[0]}, {k[1]})")
    blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if blocks[0] * blocks[1] != x.shape[2]:
        raise RuntimeError(f"Given output_size=({o[0]}, {o[1]}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, "
                           f"{s[1]}), expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={x.shape[2]}.")
    c = x.shape[1] // kk
    cols = x.reshape(x.shape[0], x.shape[1], blocks[0], blocks[1])
    # conv_transpose output = (L - 1) s - 2 p + d (k - 1) + 1 + output_padding
    out_pad = [o[i] - ((blocks[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1) for i in range(2)]
    weight = _one_hot_kernel(c, k[0], k[1], x)
    out = _C.call("convolution", (cols, weight, None, s, p, d, True, out_pad, c))
    return out if batched else out.squeeze(0)


# ---- grid_sample ----
#
# ATen's GridSampler.h as a composition: grid coordinates unnormalised, then
# clipped (border) or reflected and clipped (reflection) with the same
# piecewise gradients, then the 2^k corners of each point (k = 2 or 3
# spatial dims) gathered from the flattened planes and weighted; corners
# outside the input count as zeros.

def _unnormalize(coord: Any, size: int, align_corners: bool) -> Any:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _clip(coord: Any, size: int) -> Any:
    """min(size - 1, max(coord, 0)) with zero gradient at and beyond the bounds, as ATen."""
    td = _td()
    return td.where(coord <= 0, 0.0, td.where(coord >= size - 1, float(size - 1), coord))


def _reflect(coord: Any, twice_low: int, twice_high: int) -> Any:
    """ATen's reflect_coordinates: coord mirrored at low and high until inside."""
    td = _td()
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    flips = td.floor(dist.detach() / span)
    extra = td.fmod(dist, span)
    odd = td.fmod(flips, 2.0) == 1
    return td.where(odd, span - extra + low, extra + low)


def _source_coord(coord: Any, size: int, padding_mode: str, align_corners: bool) -> Any:
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
        return _clip(coord, size)
    return coord


def _nearest(coord: Any, k: int) -> Any:
    """ATen's nearest source position: nearbyint (halves to even) in its 2-d
    kernel, std::round (halves away from zero) in its 3-d one."""
    td = _td()
    if k == 2:
        return td.round(coord)
    whole = td.trunc(coord)
    return whole + td.where((coord - whole).abs() >= 0.5, td.sign(coord), 0.0)


def grid_sample(input: Any, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Any:
    td = _td()
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' "
                         f"or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for details.")
        align_corners = False
    # ATen's grid_sampler checks, in its order
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    k = input.dim() - 2
    if grid.shape[-1] != k:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {k} in last dimension, but "
                           f"got grid with sizes {list(grid.shape)}")
    for i in range(2, input.dim()):
        if input.shape[i] <= 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial dimensions, "
                               f"but input has sizes {list(input.shape)} with dimension {i} being empty")
    kernel_dims = 4 if input.dim() == 4 else 5  # ATen picks the 2-d kernel for 4-D input, else the 3-d one
    if input.dim() != kernel_dims or grid.dim() != input.dim():
        raise RuntimeError(f"grid_sampler(): expected {kernel_dims}D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    if mode == "bicubic" and k == 3:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if mode == "bicubic":
        raise NotImplementedError("tensord: grid_sample(mode='bicubic') is not supported")
    n, c = input.shape[0], input.shape[1]
    sizes = list(input.shape[2:])  # (D,) H, W
    out_sizes = list(grid.shape[1:-1])
    points = math.prod(out_sizes)
    # spatial dim d of the input is read from grid component k - 1 - d (x is W)
    coords = [_source_coord(grid.select(-1, k - 1 - d), sizes[d], padding_mode, align_corners)
              for d in range(k)]
    flat = input.reshape(n, c, math.prod(sizes))

    def sample(at: List[Any]) -> tuple:
        """Values (N, C, *out) at integer positions `at` (one per spatial dim)
        and whether each position is inside the input."""
        inside = None
        lin = None
        for d, p in enumerate(at):
            ok = (p >= 0) & (p <= sizes[d] - 1)
            inside = ok if inside is None else inside & ok
            lin = p if lin is None else lin * sizes[d] + p
        lin = td.where(inside, lin, 0.0).to(td.int64).reshape(n, 1, points)
        vals = td.gather(flat, 2, lin.expand(n, c, points)).reshape([n, c] + out_sizes)
        return vals, inside

    if mode == "nearest":
        vals, inside = sample([_nearest(x, k) for x in coords])
        return td.where(inside.unsqueeze(1), vals, 0.0)
    low = [td.floor(x) for x in coords]
    out = None
    for corner in range(2 ** k):
        at, weight = [], None
        for d in range(k):
            upper = (corner >> (k - 1 - d)) & 1
            at.append(low[d] + 1 if upper else low[d])
            w = coords[d] - low[d] if upper else low[d] + 1 - coords[d]
            weight = w if weight is None else weight * w
        vals, inside = sample(at)
        term = vals * td.where(inside, weight, 0.0).unsqueeze(1)
        out = term if out is None else out + term
    return out


# ---- pixel / channel shuffle ----

def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    c, h, w = input.shape[-3:]
    if c % (r * r) != 0:
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    lead = list(input.shape[:-3])
    oc = c // (r * r)
    x = input.reshape(lead + [oc, r, r, h, w])
    k = len(lead)
    x = x.permute(list(range(k)) + [k, k + 3, k + 1, k + 4, k + 2])
    return x.reshape(lead + [oc, h * r, w * r])


def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    c, h, w = input.shape[-3:]
    if h % r != 0:
        raise RuntimeError("pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r != 0:
        raise RuntimeError("pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    lead = list(input.shape[:-3])
    k = len(lead)
    x = input.reshape(lead + [c, h // r, r, w // r, r])
    x = x.permute(list(range(k)) + [k, k + 2, k + 4, k + 1, k + 3])
    return x.reshape(lead + [c * r * r, h // r, w // r])


def channel_shuffle(input: Any, groups: int) -> Any:
    if input.dim() <= 2:
        raise RuntimeError("channel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = input.shape[1]
    if c % groups != 0:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and "
                           f"{groups} groups.")
    n, rest = input.shape[0], list(input.shape[2:])
    x = input.reshape([n, groups, c // groups] + rest).transpose(1, 2)
    return x.reshape([n, c] + rest)
