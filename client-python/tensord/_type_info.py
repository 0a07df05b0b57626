"""torch.finfo / torch.iinfo: the numerical limits of tensord's dtypes, and
torch.is_floating_point. Answered on the client, from NumPy's tables (and
bfloat16's own, which NumPy lacks)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _C, _dtype

# bfloat16 keeps float32's exponent with 8 bits of mantissa.
_BFLOAT16 = {"bits": 16, "eps": 2.0 ** -7, "max": 3.3895313892515355e38,
             "tiny": 1.1754943508222875e-38, "resolution": 0.01}


class _Info:
    _fields: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields + ("dtype",))

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.dtype))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f):g}" for f in self._fields)
        return f"{type(self).__name__}({shown}, dtype={self.dtype})"


class finfo(_Info):  # noqa: N801  (torch's name)
    """torch.finfo(dtype=None): limits of a floating dtype (the default dtype when None)."""

    _fields = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")

    def __init__(self, type: Any = None) -> None:  # noqa: A002  (torch's keyword)
        dtype = _dtype.get_default_dtype() if type is None else type
        if not isinstance(dtype, _dtype.dtype) or not dtype.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. "
                            "Use torch.iinfo to handle 'torch.finfo'")
        self.dtype = dtype._name
        if self.dtype == "bfloat16":
            self.bits, self.eps, self.max = _BFLOAT16["bits"], _BFLOAT16["eps"], _BFLOAT16["max"]
            self.tiny, self.resolution = _BFLOAT16["tiny"], _BFLOAT16["resolution"]
        else:
            info = np.finfo(np.dtype(self.dtype))
            self.bits, self.eps, self.max = info.bits, float(info.eps), float(info.max)
            # 10 ** -precision exactly, as torch reports it (NumPy gives it in the dtype).
            self.tiny, self.resolution = float(info.tiny), 10.0 ** -info.precision
        self.min = -self.max
        self.smallest_normal = self.tiny


class iinfo(_Info):  # noqa: N801  (torch's name)
    """torch.iinfo(dtype): limits of an integer dtype."""

    _fields = ("min", "max")

    def __init__(self, type: Any) -> None:  # noqa: A002  (torch's keyword)
        if isinstance(type, _dtype.dtype) and type._name == "bool":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if not isinstance(type, _dtype.dtype) or type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. "
                            "Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(np.dtype(type._name))
        self.dtype, self.bits, self.min, self.max = type._name, info.bits, int(info.min), int(info.max)


def is_floating_point(input: Any) -> bool:  # noqa: A002  (torch's keyword)
    if not isinstance(input, _C.Tensor):
        raise TypeError("is_floating_point(): argument 'input' (position 1) must be Tensor, "
                        f"not {type(input).__name__}")
    return bool(input.dtype.is_floating_point)


def install(namespace: dict[str, Any]) -> None:
    namespace.update({"finfo": finfo, "iinfo": iinfo, "is_floating_point": is_floating_point})
