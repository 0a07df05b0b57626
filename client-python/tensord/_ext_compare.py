"""torch.allclose and torch.equal (and their Tensor methods): whole-tensor
comparisons that answer a Python bool, so each is one sync point."""
from __future__ import annotations

from typing import Any

from . import _C

Tensor = _C.Tensor


def _require_tensor(fn: str, position: int, name: str, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether isclose(input, other) holds everywhere (broadcasting; one dtype)."""
    _require_tensor("allclose", 1, "input", input)
    _require_tensor("allclose", 2, "other", other)
    close = _C.call("isclose", (input, other, float(rtol), float(atol), bool(equal_nan)))
    return bool(_C.call("all", (close,)))


def equal(input: Any, other: Any) -> bool:
    """Same shape and equal values (NaN is never equal; dtypes may differ)."""
    _require_tensor("equal", 1, "input", input)
    _require_tensor("equal", 2, "other", other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(_C.call("all", (_C.call("eq", (input, other)),)))


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds torch.allclose / torch.equal and the Tensor methods of the same names."""
    namespace.update({"allclose": allclose, "equal": equal})
    tensor_cls.allclose = allclose
    tensor_cls.equal = equal
