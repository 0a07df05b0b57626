"""Python-side pieces of the elementwise ops (installed by tensord/__init__.py).

Operators (== < // % ** & | ^ ~ abs() and their reflected / in-place forms)
go through _C.binary, which returns NotImplemented for operands that are
neither tensors nor numbers, so `t == "a"` is False as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Callable

from . import _C

# (operator, op, reflected operator, in-place operator, in-place op)
_BINARY_OPERATORS = [
    ("__floordiv__", "floor_divide", "__rfloordiv__", "__ifloordiv__", "floor_divide_"),
    ("__mod__", "remainder", "__rmod__", "__imod__", "remainder_"),
    ("__pow__", "pow", "__rpow__", "__ipow__", "pow_"),
    ("__and__", "bitwise_and", "__rand__", "__iand__", "bitwise_and_"),
    ("__or__", "bitwise_or", "__ror__", "__ior__", "bitwise_or_"),
    ("__xor__", "bitwise_xor", "__rxor__", "__ixor__", "bitwise_xor_"),
]
_COMPARISONS = {"__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le",
                "__gt__": "gt", "__ge__": "ge"}
# PyTorch's alternative names: alias -> op.
_ALIASES = {
    "absolute": "abs", "negative": "neg", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2",
    "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
    "not_equal": "ne", "multiply": "mul", "subtract": "sub", "divide": "div",
    "true_divide": "div", "fix": "trunc",
}
_METHOD_ALIASES = {a: op for a, op in _ALIASES.items()}
_METHOD_ALIASES.update({a + "_": op + "_" for a, op in _ALIASES.items()
                        if a not in ("arctan2", "true_divide")})
_METHOD_ALIASES.update({"arctan2_": "atan2_", "true_divide_": "div_"})


def _operator(op: str, reverse: bool) -> Callable[..., Any]:
    def method(self: Any, other: Any, *rest: Any) -> Any:
        if other is None:
            return NotImplemented
        return _C.binary(op, self, other, reverse)
    method.__name__ = method.__qualname__ = op
    return method


def _invert(self: Any) -> Any:
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return _C.call("bitwise_not", (self,))


def _where_method(self: Any, condition: Any, y: Any) -> Any:
    return _C.call("where", (condition, self, y))


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
    for name, op, rname, iname, iop in _BINARY_OPERATORS:
        setattr(tensor_cls, name, _operator(op, False))
        setattr(tensor_cls, rname, _operator(op, True))
        setattr(tensor_cls, iname, _operator(iop, False))
    for name, op in _COMPARISONS.items():
        setattr(tensor_cls, name, _operator(op, False))
    tensor_cls.__invert__ = _invert
    tensor_cls.__abs__ = lambda self: _C.call("abs", (self,))
    tensor_cls.where = _where_method

    generated_where = namespace["where"]

    def where(condition: Any, *args: Any, **kwargs: Any) -> Any:
        """where(condition, input, other), or where(condition) = nonzero(as_tuple=True)."""
        if not args and not kwargs:
            return namespace["nonzero"](condition, as_tuple=True)
        return generated_where(condition, *args, **kwargs)
    namespace["where"] = where

    for alias, op in _ALIASES.items():
        if op in namespace:
            namespace[alias] = namespace[op]
    for alias, op in _METHOD_ALIASES.items():
        if hasattr(tensor_cls, op) and not hasattr(tensor_cls, alias):
            setattr(tensor_cls, alias, getattr(tensor_cls, op))
