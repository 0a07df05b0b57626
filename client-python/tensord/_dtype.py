"""dtype, Size and device: the metadata types of the torch namespace."""
from __future__ import annotations

import builtins
from typing import Any, Iterable

import numpy as np


class dtype:
    """An element type, printed and compared like torch.dtype."""

    __slots__ = ("_index", "_name", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, index: int, name: str, floating: builtins.bool, signed: builtins.bool,
                 itemsize: builtins.int) -> None:
        self._index = index
        self._name = name
        self.is_floating_point = floating
        self.is_signed = signed
        self.itemsize = itemsize

    @property
    def is_complex(self) -> builtins.bool:
        return False

    def __repr__(self) -> str:
        return "torch." + self._name

    def __reduce__(self) -> str:
        return self._name


# Order matches tensord::DType in kernels/core/dtype.h.
bool = dtype(0, "bool", False, False, 1)
uint8 = dtype(1, "uint8", False, False, 1)
int8 = dtype(2, "int8", False, True, 1)
int16 = dtype(3, "int16", False, True, 2)
int32 = dtype(4, "int32", False, True, 4)
int64 = dtype(5, "int64", False, True, 8)
float16 = dtype(6, "float16", True, True, 2)
bfloat16 = dtype(7, "bfloat16", True, True, 2)
float32 = dtype(8, "float32", True, True, 4)
float64 = dtype(9, "float64", True, True, 8)
ALL_DTYPES = [bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64]
BY_NAME = {d._name: d for d in ALL_DTYPES}

_NUMPY = {
    bool: np.dtype(np.bool_), uint8: np.dtype(np.uint8), int8: np.dtype(np.int8),
    int16: np.dtype(np.int16), int32: np.dtype(np.int32), int64: np.dtype(np.int64),
    float16: np.dtype(np.float16), float32: np.dtype(np.float32), float64: np.dtype(np.float64),
}
_FROM_NUMPY = {v: k for k, v in _NUMPY.items()}


def to_numpy_dtype(d: dtype) -> np.dtype:
    if d is bfloat16:
        raise TypeError("Got unsupported ScalarType BFloat16")
    return _NUMPY[d]


def from_numpy_dtype(nd: np.dtype) -> dtype:
    try:
        return _FROM_NUMPY[np.dtype(nd)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(nd).name}. The only supported "
            "types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


_default_dtype = float32


def get_default_dtype() -> dtype:
    return _default_dtype


def set_default_dtype(d: dtype) -> None:
    global _default_dtype
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_dtype = d


class Size(tuple):
    """torch.Size: a tuple of ints."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def numel(self) -> builtins.int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key: Any) -> Any:  # slices stay Sizes
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r


class device:
    """torch.device('cpu'), device('cuda', 0), device('cuda:1')."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: builtins.int | None = None) -> None:
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, builtins.int):
            self.type, self.index = "cuda", type
            return
        s = str(type)
        if ":" in s:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {s}")
            s, idx = s.split(":", 1)
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = builtins.int(idx)
        if s not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: {type}")
        self.type = s
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> builtins.int:
        return hash((self.type, self.index))


def normalize_size(args: Iterable[Any]) -> list[builtins.int]:
    """(2, 3), ((2, 3),), ([2, 3],) and (Size,) all mean [2, 3]."""
    args = tuple(args)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, builtins.bool) or not hasattr(a, "__index__"):
            raise TypeError(f"size must be tuple of ints, but found element of type {type(a).__name__}")
        out.append(a.__index__())
    return out
