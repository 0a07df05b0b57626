"""Pickling a tensor: by value.

A tensord tensor is a handle into one process's session, so pickle carries
its values, dtype, device and requires_grad, and unpickling uploads them into
the receiving process's session (torch.multiprocessing queues, pickle.dumps).
Unlike torch, the copy shares no memory with the original
(docs/compatibility.md). torch.save/load do not come through here: they write
PyTorch's checkpoint format (serialization.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _C, _dtype

Tensor = _C.Tensor


def _rebuild_tensor(values: np.ndarray, dtype_name: str, device: str, requires_grad: bool,
                    is_parameter: bool) -> Any:
    import tensord
    dtype = getattr(tensord, dtype_name)
    if dtype is _dtype.bfloat16:
        t = tensord.tensor(values, dtype=tensord.float32).to(dtype)  # exact: bf16 values widened
    else:
        t = tensord.tensor(values, dtype=dtype)
    if device != "cpu":
        t = t.to(device)
    if is_parameter:
        return tensord.nn.Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


def reduce_tensor(self: Any, protocol: int = 2) -> Any:
    from .nn.parameter import is_parameter
    from ._tensor import _values
    return _rebuild_tensor, (_values(self.detach()), self.dtype._name, self._device_str,
                             self._requires_grad, is_parameter(self))


def install(tensor_cls: Any) -> None:
    tensor_cls.__reduce_ex__ = reduce_tensor
