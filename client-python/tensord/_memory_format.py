"""torch.memory_format: contiguous_format, preserve_format, channels_last(_3d).

tensord keeps every tensor it creates row-major (docs/compatibility.md), so
the formats that ask for row-major results or leave the choice to the op
(contiguous_format, preserve_format) are accepted wherever PyTorch takes a
`memory_format=`, and the channels-last ones are refused with a reason.
"""
from __future__ import annotations

import functools
from typing import Any, Callable


class memory_format:  # noqa: N801  (torch's name)
    """One of torch's memory formats; compared by identity, pickled by name."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
_CHANNELS_LAST_RANK = {channels_last: 4, channels_last_3d: 5}


def check(op: str, t: Any, fmt: Any) -> None:
    """Raises PyTorch's error for a `memory_format=` tensord cannot give `t`."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, "
                        f"not {type(fmt).__name__}")
    rank = _CHANNELS_LAST_RANK[fmt]
    if t.dim() != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")
    raise NotImplementedError(f"[{op}] memory_format={fmt!r}: tensord keeps tensors row-major "
                              "(contiguous_format); channels-last layouts are not supported")


def _accepting_memory_format(op: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, memory_format: Any = None, **kwargs: Any) -> Any:
        check(op, self, memory_format)
        return fn(self, *args, **kwargs)
    return wrapper


def _contiguous(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def contiguous(self: Any, memory_format: Any = contiguous_format) -> Any:
        if memory_format is preserve_format:
            # As in PyTorch, a tensor already contiguous is returned before the check.
            if self.is_contiguous():
                return self
            raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
        check("contiguous", self, memory_format)
        return fn(self)
    return contiguous


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    namespace.update({"memory_format": memory_format, "contiguous_format": contiguous_format,
                      "preserve_format": preserve_format, "channels_last": channels_last,
                      "channels_last_3d": channels_last_3d})
    for op in ("clone", "to"):
        setattr(tensor_cls, op, _accepting_memory_format(op, getattr(tensor_cls, op)))
    namespace["clone"] = _accepting_memory_format("clone", namespace["clone"])
    tensor_cls.contiguous = _contiguous(tensor_cls.contiguous)

