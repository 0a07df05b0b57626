"""Python-side methods of tensord.Tensor (the class itself lives in _C)."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _C, _dtype, _format
from ._dtype import device

Tensor = _C.Tensor


def _values(self: Any) -> np.ndarray:
    """The tensor's values as NumPy (bfloat16 widened to float32)."""
    arr = self._fetch()
    if self.dtype is _dtype.bfloat16:
        arr = (np.asarray(arr, dtype=np.uint32).reshape(-1) << 16).view(np.float32).reshape(arr.shape)
    return arr


def numpy(self: Any, *, force: builtins.bool = False) -> np.ndarray:
    if self._requires_grad and not force:
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                           "Use tensor.detach().numpy() instead.")
    _dtype.to_numpy_dtype(self.dtype)  # TypeError for bfloat16, as PyTorch
    return self._fetch()


def item(self: Any) -> Any:
    n = self.numel()
    if n != 1:
        raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
    return _values(self).reshape(()).item()


def tolist(self: Any) -> Any:
    return _values(self).tolist()


def _float(self: Any) -> builtins.float:
    return builtins.float(item(self))


def _int(self: Any) -> builtins.int:
    return builtins.int(item(self))


def _bool(self: Any) -> builtins.bool:
    n = self.numel()
    if n != 1:
        raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(item(self))


def _index(self: Any) -> builtins.int:
    if self.dtype.is_floating_point or self.numel() != 1:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return builtins.int(item(self))


def _len(self: Any) -> builtins.int:
    if self.dim() == 0:
        raise TypeError("len() of a 0-d tensor")
    return self.shape[0]


def _iter(self: Any) -> Any:
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


def _repr(self: Any, *, tensor_contents: Any = None) -> str:
    return _format.format_tensor(
        _values(self), dtype_name=self.dtype._name, device=self._device_str,
        requires_grad=self._requires_grad, grad_fn=self._grad_fn_name,
        default_dtype_name=_dtype.get_default_dtype()._name)


def _pick_dim(values: tuple, dim: builtins.int | None) -> Any:
    """values[dim] with PyTorch's range check; all of them for dim=None."""
    if dim is None:
        return values
    n = max(len(values), 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return values[dim] if values else 1


def size(self: Any, dim: builtins.int | None = None) -> Any:
    return _pick_dim(self.shape, dim)


def stride(self: Any, dim: builtins.int | None = None) -> Any:
    return _pick_dim(tuple(self._strides()), dim)


def _device(self: Any) -> device:
    return device(self._device_str)


def _is_cuda(self: Any) -> builtins.bool:
    return self._device_str.startswith("cuda")


def to(self: Any, *args: Any, **kwargs: Any) -> Any:
    """to(dtype), to(device), to(device, dtype), to(other), with copy=False."""
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, _dtype.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif isinstance(a, (str, device)):
            dev = a
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {type(a).__name__}")
    out = self
    if dtype is not None and dtype is not self.dtype:
        out = _C.call("to_dtype", (out, dtype))
    if dev is not None:
        target = device(dev)
        if target.type == "cuda" and target.index is None:
            target = device("cuda", 0)
        if str(target) != out._device_str:
            out = _C.call("to_device", (out, str(target)))
    if copy and out is self:
        out = _C.call("clone", (self,))
    return out


def cuda(self: Any, device_index: Any = None, non_blocking: builtins.bool = False) -> Any:
    if isinstance(device_index, device):
        return to(self, device_index)
    return to(self, device("cuda", 0 if device_index is None else device_index))


def cpu(self: Any) -> Any:
    return to(self, "cpu")


def _caster(d: _dtype.dtype) -> Any:
    def cast(self: Any) -> Any:
        return self if self.dtype is d else _C.call("to_dtype", (self, d))
    return cast


def type_as(self: Any, other: Any) -> Any:
    return to(self, other.dtype)


def contiguous(self: Any) -> Any:
    return self if self.is_contiguous() else _C.call("contiguous", (self,))


def install() -> None:
    """Attaches the Python-side methods to the C++ Tensor class."""
    methods = {
        "numpy": numpy, "item": item, "tolist": tolist, "__float__": _float,
        "__int__": _int, "__bool__": _bool, "__index__": _index, "__len__": _len,
        "__iter__": _iter, "__repr__": _repr, "__str__": _repr, "size": size,
        "stride": stride, "to": to, "type_as": type_as, "contiguous": contiguous,
        "float": _caster(_dtype.float32), "double": _caster(_dtype.float64),
        "half": _caster(_dtype.float16), "bfloat16": _caster(_dtype.bfloat16),
        "long": _caster(_dtype.int64), "int": _caster(_dtype.int32),
        "short": _caster(_dtype.int16), "char": _caster(_dtype.int8),
        "byte": _caster(_dtype.uint8), "bool": _caster(_dtype.bool),
        "cpu": cpu, "cuda": cuda,
        "__neg__": lambda self: _C.call("neg", (self,)),
        "__pos__": lambda self: self,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.device = property(_device)
    Tensor.is_cuda = property(_is_cuda)
    Tensor.__hash__ = lambda self: id(self)
    Tensor.__array_priority__ = 1000  # numpy defers to our reflected operators
    Tensor.__module__ = "tensord"
