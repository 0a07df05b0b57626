"""Helpers of torch.distributions.utils, on daemon tensors."""
from __future__ import annotations

from functools import update_wrapper
from numbers import Number
from typing import Any

# torch.finfo(dtype).eps / .min for the floating dtypes (tensord has no finfo).
_FINFO = {
    "float16": (0.0009765625, -65504.0),
    "bfloat16": (0.0078125, -3.3895313892515355e+38),
    "float32": (1.1920928955078125e-07, -3.4028234663852886e+38),
    "float64": (2.220446049250313e-16, -1.7976931348623157e+308),
}


def _td() -> Any:
    import tensord
    return tensord


def finfo_eps(dtype: Any) -> float:
    return _FINFO[str(dtype).replace("torch.", "")][0]


def finfo_min(dtype: Any) -> float:
    return _FINFO[str(dtype).replace("torch.", "")][1]


def broadcast_shapes(*shapes: Any) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            if n != 1 and out[i] != 1 and out[i] != n:
                raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single "
                                   f"shape.  Mismatch is between arg 0 and arg 1.")
            if n != 1:
                out[i] = n
    return tuple(out)


def broadcast_tensors(*tensors: Any) -> tuple:
    shape = broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


def broadcast_all(*values: Any) -> tuple:
    """Numbers become tensors of the first tensor's dtype and device (the
    default dtype when all are numbers); then all broadcast together."""
    td = _td()
    if not all(isinstance(v, (td.Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, td.Tensor) for v in values):
        options: dict = dict(dtype=td.get_default_dtype())
        for value in values:
            if isinstance(value, td.Tensor):
                options = dict(dtype=value.dtype, device=value.device)
                break
        values = tuple(v if isinstance(v, td.Tensor) else td.tensor(v, **options) for v in values)
    return broadcast_tensors(*values)


def _standard_normal(shape: Any, dtype: Any, device: Any) -> Any:
    return _td().empty(shape, dtype=dtype, device=device).normal_()


def logits_to_probs(logits: Any, is_binary: bool = False) -> Any:
    if is_binary:
        return _td().sigmoid(logits)
    return _td().softmax(logits, dim=-1)


def clamp_probs(probs: Any) -> Any:
    eps = finfo_eps(probs.dtype)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Any, is_binary: bool = False) -> Any:
    td = _td()
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return td.log(ps_clamped) - td.log1p(-ps_clamped)
    return td.log(ps_clamped)


class lazy_property:
    """Computes the attribute on first use (under enable_grad, as torch
    does), then stores it on the instance."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        from .._autograd import enable_grad
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
