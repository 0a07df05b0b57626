"""torch's convolution and pooling functions over the nn_conv ops (installed
by tensord/__init__.py).

The daemon's ops are ATen's: `convolution` takes batched input and explicit
per-dim lists, the pooling ops are 2-d. Here are torch's Python forms:
unbatched input (a batch dim added and removed), int-or-tuple arguments,
padding='same'/'valid', and the 1-d pools as 2-d pools over a height of 1.
The backward ops (convolution_backward, *_backward) are reached through
tensord._C.call by the autograd engine.
"""
from __future__ import annotations

import builtins
from typing import Any, Callable

from . import _C

_ns: dict[str, Any] = {}


def _tuple(v: Any, n: int, name: str = "") -> list[int]:
    """An int, or a sequence of n ints, as a list of n ints."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return [builtins.int(v[0])] * n
        return [builtins.int(x) for x in v]
    return [builtins.int(v)] * n


def _batchify(input: Any, spatial: int, fn: str) -> tuple[Any, bool]:
    d = input.dim()
    if d == spatial + 1:
        return input.unsqueeze(0), False
    if d != spatial + 2:
        raise RuntimeError(f"[{fn}] Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                           f"to {fn}, but got input of size: {list(input.shape)}")
    return input, True


def _same_padding(input: Any, weight: Any, spatial: int, dilation: list[int]) -> tuple[Any, list[int]]:
    """Symmetric padding for padding='same'; odd totals get one zero row/col
    appended on the right of the input first, as torch does."""
    pad = []
    for i in range(spatial):
        total = dilation[i] * (weight.shape[2 + i] - 1)
        left = total // 2
        pad.append(left)
        if total - left > left:  # one extra on the right
            dim = 2 + i
            shape = list(input.shape)
            shape[dim] = 1
            zeros = _ns["zeros"](*shape, dtype=input.dtype)
            input = _ns["cat"]([input, zeros], dim)
    return input, pad


def _conv(spatial: int) -> Callable[..., Any]:
    fn_name = f"conv{spatial}d"

    def conv(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1) -> Any:
        x, batched = _batchify(input, spatial, fn_name)
        st, dl = _tuple(stride, spatial), _tuple(dilation, spatial)
        if isinstance(padding, str):
            if padding == "valid":
                pad = [0] * spatial
            elif padding == "same":
                if any(s != 1 for s in st):
                    raise RuntimeError(f"[{fn_name}] padding='same' is not supported for strided "
                                       "convolutions")
                x, pad = _same_padding(x, weight, spatial, dl)
            else:
                raise RuntimeError(f"[{fn_name}] Invalid padding string: '{padding}'")
        else:
            pad = _tuple(padding, spatial)
        out = _C.call("convolution", (x, weight, bias, st, pad, dl, False, [0] * spatial, groups))
        return out if batched else out.squeeze(0)

    conv.__name__ = conv.__qualname__ = fn_name
    return conv


def _conv_transpose(spatial: int) -> Callable[..., Any]:
    fn_name = f"conv_transpose{spatial}d"

    def conv_transpose(input: Any, weight: Any, bias: Any = None, stride: Any = 1,
                       padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                       dilation: Any = 1) -> Any:
        x, batched = _batchify(input, spatial, fn_name)
        out = _C.call("convolution", (x, weight, bias, _tuple(stride, spatial),
                                      _tuple(padding, spatial), _tuple(dilation, spatial), True,
                                      _tuple(output_padding, spatial), groups))
        return out if batched else out.squeeze(0)

    conv_transpose.__name__ = conv_transpose.__qualname__ = fn_name
    return conv_transpose


def _stride(stride: Any, n: int) -> list[int]:
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return []
    return _tuple(stride, n) if not isinstance(stride, (list, tuple)) else [builtins.int(s) for s in stride]


def _ints(v: Any) -> list[int]:
    return [builtins.int(x) for x in v] if isinstance(v, (list, tuple)) else [builtins.int(v)]


# ---------------------------------------------------------------- 2-d pools


def max_pool2d_with_indices(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Any, Any]:
    """(values, indices), as torch.nn.functional.max_pool2d_with_indices."""
    return tuple(_C.call("max_pool2d_with_indices", (input, _ints(kernel_size), _stride(stride, 2),
                                                     _ints(padding), _ints(dilation), ceil_mode)))


def max_pool2d(input: Any, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.max_pool2d (values); return_indices=True as torch.nn.functional's."""
    out = max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return out if return_indices else out[0]


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> Any:
    return _C.call("avg_pool2d", (input, _ints(kernel_size), _stride(stride, 2), _ints(padding),
                                  ceil_mode, count_include_pad, divisor_override))


def _output_size(input: Any, output_size: Any, n: int) -> list[int]:
    """An int or a tuple whose None entries keep the input's size."""
    sizes = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * n
    return [input.shape[input.dim() - n + i] if s is None else builtins.int(s)
            for i, s in enumerate(sizes)]


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    return _C.call("adaptive_avg_pool2d", (input, _output_size(input, output_size, 2)))


def adaptive_max_pool2d_with_indices(input: Any, output_size: Any,
                                     return_indices: bool = False) -> tuple[Any, Any]:
    return tuple(_C.call("adaptive_max_pool2d", (input, _output_size(input, output_size, 2))))


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    out = adaptive_max_pool2d_with_indices(input, output_size)
    return out if return_indices else out[0]


# ---------------------------------------------------------------- 1-d pools (2-d over a height of 1)


def _check_1d(input: Any, fn: str, max_style: bool) -> None:
    if input.dim() in (2, 3):
        return
    if max_style:
        raise RuntimeError(f"[{fn}] {fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(input.shape)}")
    raise RuntimeError(f"[{fn}] Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for "
                       f"argument #1 'self' (while checking arguments for {fn})")


def max_pool1d_with_indices(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Any, Any]:
    _check_1d(input, "max_pool1d", True)
    st = _stride(stride, 1)
    v, i = _C.call("max_pool2d_with_indices",
                   (input.unsqueeze(-2), [1] + _tuple(kernel_size, 1), [1] + st if st else [],
                    [0] + _tuple(padding, 1), [1] + _tuple(dilation, 1), ceil_mode))
    return v.squeeze(-2), i.squeeze(-2)


def max_pool1d(input: Any, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    out = max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return out if return_indices else out[0]


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Any:
    _check_1d(input, "avg_pool1d", False)
    st = _stride(stride, 1)
    out = _C.call("avg_pool2d", (input.unsqueeze(-2), [1] + _tuple(kernel_size, 1),
                                 [1] + st if st else [1] + _tuple(kernel_size, 1),
                                 [0] + _tuple(padding, 1), ceil_mode, count_include_pad, None))
    return out.squeeze(-2)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Any:
    _check_1d(input, "adaptive_avg_pool1d", False)
    out = _C.call("adaptive_avg_pool2d", (input.unsqueeze(-2), [1] + _output_size(input, output_size, 1)))
    return out.squeeze(-2)


def adaptive_max_pool1d(input: Any, output_size: Any) -> Any:
    """torch.adaptive_max_pool1d: (values, indices)."""
    _check_1d(input, "adaptive_max_pool1d", False)
    v, i = _C.call("adaptive_max_pool2d",
                   (input.unsqueeze(-2), [1] + _output_size(input, output_size, 1)))
    return v.squeeze(-2), i.squeeze(-2)


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds torch.conv*d, torch.conv_transpose*d and the pooling functions."""
    _ns.update(namespace)
    fns: dict[str, Callable[..., Any]] = {
        "max_pool2d": max_pool2d, "max_pool2d_with_indices": max_pool2d_with_indices,
        "avg_pool2d": avg_pool2d, "adaptive_avg_pool2d": adaptive_avg_pool2d,
        "adaptive_max_pool2d": adaptive_max_pool2d,
        "adaptive_max_pool2d_with_indices": adaptive_max_pool2d_with_indices,
        "max_pool1d": max_pool1d, "max_pool1d_with_indices": max_pool1d_with_indices,
        "avg_pool1d": avg_pool1d, "adaptive_avg_pool1d": adaptive_avg_pool1d,
        "adaptive_max_pool1d": adaptive_max_pool1d,
    }
    for n in (1, 2, 3):
        fns[f"conv{n}d"] = _conv(n)
        fns[f"conv_transpose{n}d"] = _conv_transpose(n)
    namespace.update(fns)
