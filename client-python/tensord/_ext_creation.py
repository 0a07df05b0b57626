"""Python-side pieces of the creation, random and linalg ops (installed by
tensord/__init__.py): the Python signatures that differ from the ops."""
from __future__ import annotations

from typing import Any

from . import _C
from ._dtype import normalize_size


def _size_arg(size: Any) -> list[int]:
    if isinstance(size, _C.Tensor) or not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return list(normalize_size((size,)))


def randint(*args: Any, size: Any = None, low: Any = None, high: Any = None, dtype: Any = None,
            device: Any = None, generator: Any = None, requires_grad: bool = False) -> Any:
    """torch.randint(high, size) / randint(low, high, size); draws use the session generator."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if high is None:
        if not args:
            raise TypeError("randint() missing required argument 'high'")
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args or size is None:
        raise TypeError("randint() received an invalid combination of arguments: expected "
                        "(int high, tuple size) or (int low, int high, tuple size)")
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"randint(): argument '{name}' must be int, not {type(v).__name__}")
    return _C.call("randint", (int(low), int(high), _size_arg(size)), {"dtype": dtype, "device": device})


def randint_like(input: Any, low: Any = 0, high: Any = None, *, dtype: Any = None,
                 device: Any = None, generator: Any = None, requires_grad: bool = False,
                 memory_format: Any = None) -> Any:
    if high is None:
        low, high = 0, low
    return randint(low, high, list(input.shape), dtype=dtype or input.dtype,
                   device=device or input._device_str)


def einsum(equation: str, *operands: Any) -> Any:
    """torch.einsum(equation, *operands) or einsum(equation, [operands])."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _C.call("einsum", (equation, list(operands)))


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
    namespace.update({"randint": randint, "randint_like": randint_like, "einsum": einsum})
