"""PyTorch's legacy tensor API, kept because old scripts lean on it.

torch.Tensor(...) and the typed constructors (torch.FloatTensor, torch.LongTensor,
torch.cuda.FloatTensor, ...), Tensor.new / new_zeros / new_ones / new_full /
new_empty / new_tensor, Tensor.type() and its type strings, Tensor.__format__,
Tensor.__deepcopy__ and Tensor.get_device. Each follows torch 1.13's rules,
including which argument forms mean a size and which mean data (tensor_new.cpp
there).
"""
from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

from . import _C, _dtype
from ._dtype import device

Tensor = _C.Tensor

# torch's legacy type names ("torch.FloatTensor") by dtype.
_TYPE_NAMES = {
    _dtype.float32: "FloatTensor", _dtype.float64: "DoubleTensor", _dtype.float16: "HalfTensor",
    _dtype.bfloat16: "BFloat16Tensor", _dtype.int64: "LongTensor", _dtype.int32: "IntTensor",
    _dtype.int16: "ShortTensor", _dtype.int8: "CharTensor", _dtype.uint8: "ByteTensor",
    _dtype.bool: "BoolTensor",
}
# The C++ type names PyTorch prints in its TensorOptions mismatch message.
_CPP_NAMES = {
    _dtype.float32: "float", _dtype.float64: "double", _dtype.float16: "c10::Half",
    _dtype.bfloat16: "c10::BFloat16", _dtype.int64: "long int", _dtype.int32: "int",
    _dtype.int16: "short int", _dtype.int8: "signed char", _dtype.uint8: "unsigned char",
    _dtype.bool: "bool",
}

_SIGNATURES = ("new() received an invalid combination of arguments - got ({got}), but expected "
               "one of:\n * (*, torch.device device)\n * (Tensor other)\n"
               " * (tuple of ints size, *, torch.device device)\n"
               " * (object data, *, torch.device device)\n")


def type_string(dt: _dtype.dtype, is_cuda: builtins.bool) -> str:
    """'torch.FloatTensor', 'torch.cuda.LongTensor': what Tensor.type() returns."""
    return ("torch.cuda." if is_cuda else "torch.") + _TYPE_NAMES[dt]


def _python_type_name(obj: Any) -> str:
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _options_text(dt: _dtype.dtype, device_type: str) -> str:
    return (f"TensorOptions(dtype={_CPP_NAMES[dt]}, device={device_type}, layout=Strided, "
            "requires_grad=false (default), pinned_memory=false (default), "
            "memory_format=(nullopt))")


def _invalid_combination(args: tuple, kwargs: dict) -> TypeError:
    got = [_python_type_name(a) for a in args]
    got += [f"{k}={_python_type_name(v)}" if not isinstance(v, _dtype.dtype) else f"{k}=torch.dtype"
            for k, v in kwargs.items()]
    return TypeError(_SIGNATURES.format(got=", ".join(got)))


def _is_size_element(a: Any) -> builtins.bool:
    return not isinstance(a, (builtins.bool, Tensor, np.ndarray)) and hasattr(a, "__index__")


def _check_sizes(sizes: list[builtins.int]) -> list[builtins.int]:
    for s in sizes:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {sizes}")
    return sizes


def _uninitialised(sizes: list[builtins.int], dt: _dtype.dtype, target: device) -> Any:
    return _C.call("empty", (_check_sizes(sizes),), {"dtype": dt, "device": str(target)})


def _check_numbers(data: Any) -> None:
    """PyTorch's TypeError for a non-number inside nested sequence data."""
    if isinstance(data, (builtins.int, builtins.float, np.number, np.bool_, Tensor)):
        return
    if isinstance(data, np.ndarray):
        return
    if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
        raise TypeError(f"must be real number, not {_python_type_name(data)}")
    for item in data:
        _check_numbers(item)


def _first_shape(data: Any) -> list[builtins.int]:
    """The shape nested sequence data has if every list is as long as its first sibling."""
    shape = []
    while isinstance(data, (list, tuple, np.ndarray)):
        shape.append(len(data))
        if not len(data):
            break
        data = data[0]
    return shape


def _check_rectangular(data: Any, shape: list[builtins.int], dim: builtins.int) -> None:
    """PyTorch's ValueError for ragged nested sequences."""
    if dim >= len(shape):
        return
    if not isinstance(data, (list, tuple, np.ndarray)):
        raise TypeError("not a sequence")
    if len(data) != shape[dim]:
        raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {len(data)})")
    for item in data:
        _check_rectangular(item, shape, dim + 1)


def from_data(data: Any, dt: _dtype.dtype, target: device) -> Any:
    """A tensor of dtype dt holding data (a sequence or ndarray), cast as torch
    casts: floats truncate toward zero, integers wrap, nonzero is True."""
    from ._functions import _contains_tensor, _nested_values, _upload
    if isinstance(data, np.ndarray):
        if data.dtype == object or data.dtype.kind not in "biuf":
            raise TypeError(
                f"can't convert np.ndarray of type numpy.{data.dtype.type.__name__}. The only "
                "supported types are: float64, float32, float16, int64, int32, int16, int8, "
                "uint8, and bool.")
        arr = data
    else:
        if not isinstance(data, (list, tuple, range)) and not hasattr(data, "__len__"):
            raise TypeError(f"new(): data must be a sequence (got {_python_type_name(data)})")
        data = list(data)
        if _contains_tensor(data):
            data = _nested_values(data)
        try:
            arr = np.asarray(data)
        except ValueError:
            arr = np.asarray(data, dtype=object)
        if arr.dtype.kind not in "biuf":
            _check_numbers(data)  # names the first non-number
            _check_rectangular(data, _first_shape(data), 0)
            raise TypeError(f"new(): could not convert the data to {dt}")
    with np.errstate(invalid="ignore", over="ignore"):
        out = _upload(arr, dt)
    return out if target.type == "cpu" else _C.call("to_device", (out, str(target)))


def legacy_new(dt: _dtype.dtype, target: device, args: tuple, kwargs: dict,
               check_type: builtins.bool) -> Any:
    """The legacy constructor: torch.Tensor(...), torch.LongTensor(...), x.new(...).

    () is an empty tensor; ints or a torch.Size (or size=) an uninitialised one
    of that size; a tensor an alias of it (of the same type unless check_type
    is off, as for torch.Tensor); any other sequence or ndarray, data.
    """
    kwargs = dict(kwargs)
    if "device" in kwargs:
        dev = kwargs.pop("device")
        if dev is not None:
            asked = device(dev)
            if asked.type != target.type:
                raise RuntimeError(f"legacy constructor expects device type: {target.type} but "
                                   f"device type: {asked.type} was passed")
            if asked.index is not None:
                target = asked
    size_kw = kwargs.pop("size", None)
    if kwargs or (size_kw is not None and args):
        if size_kw is not None:
            kwargs["size"] = size_kw
        raise _invalid_combination(args, kwargs)
    if size_kw is not None:
        return _uninitialised(_dtype.normalize_size((size_kw,)), dt, target)
    if not args:
        return _uninitialised([0], dt, target)
    if len(args) == 1 and isinstance(args[0], Tensor):
        other = args[0]
        if check_type and (other.dtype is not dt or other.device.type != target.type):
            raise TypeError(f"expected {_options_text(dt, target.type)} (got "
                            f"{_options_text(other.dtype, other.device.type)})")
        # An alias: shares other's storage, and its graph when other requires grad.
        if other._requires_grad:
            return _C.call("view", (other, list(other.shape)))
        return _C.call("detach", (other,))
    if len(args) == 1 and isinstance(args[0], _dtype.Size):
        return _uninitialised(list(args[0]), dt, target)
    if _is_size_element(args[0]):
        for pos, a in enumerate(args):
            if not _is_size_element(a):
                if isinstance(a, (builtins.int, builtins.float, builtins.bool, np.number)):
                    raise TypeError("new(): argument 'size' must be tuple of ints, but found "
                                    f"element of type {_python_type_name(a)} at pos {pos + 1}")
                raise _invalid_combination(args, kwargs)
        return _uninitialised([a.__index__() for a in args], dt, target)
    if len(args) > 1:
        raise _invalid_combination(args, kwargs)
    data = args[0]
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    return from_data(data, dt, target)


def _default_target(is_cuda: builtins.bool) -> device:
    if not is_cuda:
        return device("cpu")
    from . import cuda
    return device("cuda", cuda.current_device())


def tensor_init(*args: Any, **kwargs: Any) -> Any:
    """torch.Tensor(...): the legacy constructor with the default dtype, on the CPU."""
    return legacy_new(_dtype.get_default_dtype(), device("cpu"), args, kwargs, check_type=False)


class tensortype(type):
    """The metaclass of torch.FloatTensor & co (torch.tensortype): calling one
    is a legacy constructor of its dtype and device kind; isinstance is true
    for every tensor of that dtype on that kind of device."""

    dtype: _dtype.dtype
    is_cuda: builtins.bool
    is_sparse = False

    def __instancecheck__(cls, obj: Any) -> builtins.bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.is_cuda == cls.is_cuda

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return legacy_new(cls.dtype, _default_target(cls.is_cuda), args, kwargs, check_type=True)


def make_tensor_types(module_name: str, is_cuda: builtins.bool) -> dict[str, tensortype]:
    """FloatTensor, LongTensor, ... for torch (is_cuda False) or torch.cuda."""
    return {name: tensortype(name, (), {"dtype": dt, "is_cuda": is_cuda, "__module__": module_name,
                                        "__doc__": f"Legacy constructor of {dt} tensors."})
            for dt, name in _TYPE_NAMES.items()}


# Tensor.type("torch.LongTensor"): both spellings of the package are accepted.
_BY_TYPE_STRING = {type_string(dt, cuda): (dt, cuda)
                   for dt in _TYPE_NAMES for cuda in (False, True)}
_BY_TYPE_STRING.update({"tensord." + name[len("torch."):]: value
                        for name, value in list(_BY_TYPE_STRING.items())})


def _type(self: Any, dtype: Any = None, non_blocking: builtins.bool = False, **kwargs: Any) -> Any:
    """Tensor.type(): the type string; Tensor.type(t): self converted to t (a
    dtype, a type string or a legacy type such as torch.LongTensor)."""
    kwargs.pop("async", None)
    if kwargs:
        raise TypeError(f"type() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if dtype is None:
        return type_string(self.dtype, self.is_cuda)
    if isinstance(dtype, _dtype.dtype):
        return self.to(dtype)
    if dtype is Tensor:
        dtype = type_string(_dtype.get_default_dtype(), False)
    if isinstance(dtype, tensortype):
        dt, cuda = dtype.dtype, dtype.is_cuda
    elif isinstance(dtype, str):
        if dtype not in _BY_TYPE_STRING:
            raise ValueError(f"invalid type: '{dtype}'")
        dt, cuda = _BY_TYPE_STRING[dtype]
    else:
        raise TypeError("dtype must be a type, str, or dtype object")
    if dt is self.dtype and cuda == self.is_cuda:
        return self
    if cuda != self.is_cuda:
        return self.to(_default_target(cuda) if cuda else "cpu", dt)
    return self.to(dt)


def _new(self: Any, *args: Any, **kwargs: Any) -> Any:
    """Tensor.new(...): the legacy constructor with self's dtype and device."""
    return legacy_new(self.dtype, self.device, args, kwargs, check_type=True)


def _factory_kwargs(self: Any, dtype: Any, device_: Any) -> dict[str, Any]:
    return {"dtype": dtype if dtype is not None else self.dtype,
            "device": str(device(device_)) if device_ is not None else self._device_str}


def _finish(t: Any, requires_grad: builtins.bool) -> Any:
    if requires_grad:
        _C.call("requires_grad_", (t, True))
    return t


def _sized(name: str) -> Any:
    def method(self: Any, *size: Any, dtype: Any = None, device: Any = None,
               requires_grad: builtins.bool = False, layout: Any = None,
               pin_memory: builtins.bool = False, **kwargs: Any) -> Any:
        if "size" in kwargs:
            if size:
                raise TypeError(f"{name}() got multiple values for argument 'size'")
            size = (kwargs.pop("size"),)
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
        sizes = _check_sizes(_dtype.normalize_size(size))
        out = _C.call(name[len("new_"):], (sizes,), _factory_kwargs(self, dtype, device))
        return _finish(out, requires_grad)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Tensor.{name}(*size): like torch.{name[4:]}, dtype and device from self."
    return method


def new_full(self: Any, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: builtins.bool = False, layout: Any = None,
             pin_memory: builtins.bool = False) -> Any:
    if not isinstance(size, (tuple, list)):
        raise TypeError("new_full(): argument 'size' (position 1) must be tuple of SymInts, "
                        f"not {_python_type_name(size)}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (builtins.int, builtins.float, builtins.bool, np.number)):
        raise TypeError("new_full(): argument 'fill_value' (position 2) must be Number, "
                        f"not {_python_type_name(fill_value)}")
    kwargs = _factory_kwargs(self, dtype, device)
    out = _C.call("full", (_check_sizes(_dtype.normalize_size((size,))), fill_value), kwargs)
    return _finish(out, requires_grad)


def new_tensor(self: Any, data: Any, dtype: Any = None, device: Any = None,
               requires_grad: builtins.bool = False) -> Any:
    """A copy of data (never an alias) with self's dtype and device by default."""
    kwargs = _factory_kwargs(self, dtype, device)
    target = _dtype.device(kwargs["device"])
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.clone()"
            ".detach() or sourceTensor.clone().detach().requires_grad_(True), rather than "
            "tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
        out = _C.call("clone", (_C.call("detach", (data,)),)).to(target, kwargs["dtype"])
        if out is data:
            out = _C.call("clone", (data,))
    else:
        if isinstance(data, str):
            raise TypeError("new_tensor(): invalid data type 'str'")
        if isinstance(data, (builtins.int, builtins.float, builtins.bool, np.number)):
            out = from_data([data], kwargs["dtype"], target).reshape(())
        else:
            out = from_data(data, kwargs["dtype"], target)
    return _finish(out, requires_grad)


def _format(self: Any, format_spec: str) -> str:
    """A 0-d tensor formats as its value ('{:.2f}'.format(loss)); any other
    tensor only with an empty spec (object.__format__'s TypeError otherwise)."""
    if self.dim() == 0:
        return self.item().__format__(format_spec)
    return object.__format__(self, format_spec)


def _deepcopy(self: Any, memo: dict) -> Any:
    """copy.deepcopy(t): a new leaf with a copy of the values, requires_grad,
    a copied .grad, and Parameter-ness; copy.deepcopy(model) and of state
    dicts go through here. Each tensor gets its own storage (PyTorch keeps
    views of one storage sharing one copy)."""
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                           "the deepcopy protocol at the moment")
    if id(self) in memo:
        return memo[id(self)]
    from .nn.parameter import Parameter, is_parameter
    values = _C.call("clone", (_C.call("detach", (self,)),))
    if is_parameter(self):
        copied = Parameter(values, self.requires_grad)
    else:
        copied = _finish(values, self.requires_grad)
    grad = self.grad
    if grad is not None:
        copied.grad = _deepcopy(grad, memo)
    memo[id(self)] = copied
    return copied


def _get_device(self: Any) -> builtins.int:
    d = self.device
    return -1 if d.type == "cpu" else (d.index or 0)


def install(namespace: dict[str, Any]) -> None:
    """Adds the legacy methods to Tensor and the typed constructors to torch.*."""
    _C._set_tensor_init(tensor_init)
    methods = {
        "type": _type, "new": _new, "new_zeros": _sized("new_zeros"),
        "new_ones": _sized("new_ones"), "new_empty": _sized("new_empty"),
        "new_full": new_full, "new_tensor": new_tensor, "__format__": _format,
        "get_device": _get_device, "__deepcopy__": _deepcopy,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    namespace["tensortype"] = tensortype
    namespace.update(make_tensor_types(namespace["__name__"], is_cuda=False))
