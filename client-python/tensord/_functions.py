"""The torch.* functions and Tensor methods generated from the op table.

Every op the schema marks py = function/method/both becomes a thin wrapper
around _C.call, which binds arguments to the op's signature in C++. The
functions whose Python form differs from the op (tensor, arange, the
varargs-size factories, *_like) are written out here.
"""
from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from . import _C, _dtype, _memory_format
from ._dtype import normalize_size

Tensor = _C.Tensor
_TABLE = _C.op_table()


def _make_function(name: str, takes_size: builtins.bool) -> Callable[..., Any]:
    if takes_size:
        def fn(*args: Any, **kwargs: Any) -> Any:
            size = kwargs.pop("size", None)
            if size is None:
                nsize = 0
                while nsize < len(args) and not isinstance(args[nsize], Tensor) and (
                        isinstance(args[nsize], (tuple, list)) or hasattr(args[nsize], "__index__")):
                    nsize += 1
                    if isinstance(args[nsize - 1], (tuple, list)):
                        break
                size, args = normalize_size(args[:nsize]), args[nsize:]
            if kwargs.get("dtype") is None and name in _DEFAULT_FLOAT:
                kwargs["dtype"] = _dtype.get_default_dtype()
            requires_grad = kwargs.pop("requires_grad", False)
            kwargs.pop("generator", None)
            return _with_grad(_C.call(name, (size,) + tuple(args), kwargs), requires_grad)
    else:
        def fn(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("generator", None)  # draws use the session's generator
            return _C.call(name, args, kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


def _make_method(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("generator", None)
        return _C.call(name, (self,) + args, kwargs)
    method.__name__ = method.__qualname__ = name
    return method


_DEFAULT_FLOAT = {"empty", "zeros", "ones", "rand", "randn"}
functions: dict[str, Callable[..., Any]] = {}
for _op in _TABLE:
    _name, _py, _params = _op["name"], _op["python"], _op["params"]
    _takes_size = bool(_params) and _params[0][0] == "size" and _params[0][1] == "int[]"
    if _py in ("function", "both"):
        functions[_name] = _make_function(_name, _takes_size)
    if _py in ("method", "both") and not hasattr(Tensor, _name):
        setattr(Tensor, _name, _make_method(_name))

# ---------------------------------------------------------------- by hand


def _infer_dtype(arr: np.ndarray, from_python: builtins.bool) -> _dtype.dtype:
    if arr.dtype.kind == "f" and from_python:
        return _dtype.get_default_dtype()
    if arr.dtype.kind in "iu" and from_python:
        return _dtype.int64
    return _dtype.from_numpy_dtype(arr.dtype)


def _upload(arr: np.ndarray, dtype: _dtype.dtype) -> Any:
    if dtype is _dtype.bfloat16:
        f = np.ascontiguousarray(arr, dtype=np.float32)
        bits = f.view(np.uint32)
        # round to nearest even; NaN stays NaN
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        rounded[np.isnan(f)] = 0x7FC0
        data = np.ascontiguousarray(rounded)
    else:
        data = np.ascontiguousarray(arr, dtype=_dtype.to_numpy_dtype(dtype))
    return _C.from_array(data.reshape(-1).view(np.uint8), dtype._index, list(arr.shape))


def tensor(data: Any, *, dtype: _dtype.dtype | None = None, device: Any = None,
           requires_grad: builtins.bool = False, pin_memory: builtins.bool = False) -> Any:
    if isinstance(data, Tensor):
        out = _C.call("clone", (data.detach(),))
        return _with_grad(out if dtype is None else out.to(dtype), requires_grad)
    from_python = not isinstance(data, np.ndarray)
    if from_python and _contains_tensor(data):
        data = _nested_values(data)
    arr = np.asarray(data)
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    return _with_grad(_upload(arr, dtype if dtype is not None else _infer_dtype(arr, from_python)),
                      requires_grad)


def _with_grad(t: Any, requires_grad: builtins.bool) -> Any:
    """Factories' requires_grad=True: the result is a leaf that requires grad."""
    if requires_grad:
        _C.call("requires_grad_", (t, True))
    return t


def _contains_tensor(data: Any) -> builtins.bool:
    if isinstance(data, Tensor):
        return True
    if isinstance(data, (list, tuple)):
        return any(_contains_tensor(x) for x in data)
    return False


def _nested_values(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_nested_values(x) for x in data]
    return data


def as_tensor(data: Any, dtype: _dtype.dtype | None = None, device: Any = None) -> Any:
    if isinstance(data, Tensor):
        return data if dtype is None or dtype is data.dtype else data.to(dtype)
    return tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Any:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    return _upload(arr, _dtype.from_numpy_dtype(arr.dtype))


def arange(*args: Any, dtype: _dtype.dtype | None = None, device: Any = None,
           requires_grad: builtins.bool = False, **kwargs: Any) -> Any:
    if "end" in kwargs or "start" in kwargs:
        start, end = kwargs.pop("start", 0), kwargs.pop("end")
        step = kwargs.pop("step", 1)
    elif len(args) == 1:
        start, end, step = 0, args[0], kwargs.pop("step", 1)
    elif len(args) == 2:
        (start, end), step = args, kwargs.pop("step", 1)
    elif len(args) == 3:
        start, end, step = args
    else:
        raise TypeError(f"arange() takes 1 to 3 positional arguments but {len(args)} were given")
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None and any(isinstance(v, builtins.float) for v in vals):
        dtype = _dtype.get_default_dtype()
    return _with_grad(_C.call("arange", tuple(vals), {"dtype": dtype, "device": device}),
                      requires_grad)


def _like(name: str) -> Callable[..., Any]:
    def fn(t: Any, *args: Any, dtype: _dtype.dtype | None = None, **kwargs: Any) -> Any:
        _memory_format.check(name + "_like", t, kwargs.pop("memory_format", None))
        kwargs.setdefault("device", t._device_str)
        return functions[name](list(t.shape), *args, dtype=dtype or t.dtype, **kwargs)
    fn.__name__ = name + "_like"
    return fn


functions.update({
    "tensor": tensor, "as_tensor": as_tensor, "from_numpy": from_numpy, "arange": arange,
})
for _n in ("empty", "zeros", "ones", "full", "rand", "randn"):
    if _n in functions:
        functions[_n + "_like"] = _like(_n)
