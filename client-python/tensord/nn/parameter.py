"""nn.Parameter.

tensord.Tensor is a nanobind class whose instances wrap a client handle; a
Python subclass could not wrap an existing handle without a C++ constructor.
So Parameter(data) returns an ordinary Tensor (a leaf sharing data's storage,
requiring grad) and records it in a weak registry; isinstance(t, Parameter)
consults that registry through the metaclass. A parameter stays one as long
as the same Python object is used (modules and optimizers hold it).
"""
from __future__ import annotations

import weakref
from typing import Any

from .. import _C

Tensor = _C.Tensor
_PARAMS: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()


def is_parameter(obj: Any) -> bool:
    return isinstance(obj, Tensor) and _PARAMS.get(id(obj)) is obj


class _ParameterMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return is_parameter(obj)


class Parameter(metaclass=_ParameterMeta):
    """Parameter(data=None, requires_grad=True): a leaf tensor marked as a
    module parameter (see the module docstring for how it is recognised)."""

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Any:  # type: ignore[misc]
        from .. import empty
        if data is None:
            data = empty(0)
        t = _C.call("detach", (data,))
        if requires_grad:
            t.requires_grad_(True)
        _PARAMS[id(t)] = t
        return t


def _param_repr(original: Any) -> Any:
    def __repr__(self: Any, *args: Any, **kwargs: Any) -> str:
        text = original(self, *args, **kwargs)
        return "Parameter containing:\n" + text if is_parameter(self) else text
    return __repr__


def _data(self: Any) -> Any:
    return _C.call("detach", (self,))


def _set_data(self: Any, value: Any) -> None:
    # tensord cannot swap a tensor's storage: same-shaped data is copied in.
    if tuple(value.shape) != tuple(self.shape) or value.dtype is not self.dtype:
        raise RuntimeError("tensord: assigning .data of another shape or dtype is not supported")
    from .._autograd import no_grad
    with no_grad():
        _C.call("copy_", (_C.call("detach", (self,)), value))


def install() -> None:
    Tensor.__repr__ = _param_repr(Tensor.__repr__)
    Tensor.__str__ = Tensor.__repr__
    if not hasattr(Tensor, "data"):
        Tensor.data = property(_data, _set_data)
