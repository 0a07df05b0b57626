"""Gradient clipping (PyTorch 1.13's algorithms, arithmetic on the daemon)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Union

from ... import _C
from ..._autograd import no_grad

Tensor = _C.Tensor


def _param_list(parameters: Union[Any, Iterable[Any]]) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Union[Any, Iterable[Any]], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Any:
    """Scales all gradients so that their joint norm is at most max_norm;
    returns the total norm (before clipping) as a 0-d tensor. The norms and
    the scaling run on the daemon; only the .grad handles are read here."""
    import tensord
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = [g for g in (p.grad for p in _param_list(parameters)) if g is not None]
    if not grads:
        return tensord.tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            norms = [tensord.amax(tensord.abs(g)) for g in grads]
            total_norm = norms[0] if len(norms) == 1 else tensord.amax(tensord.stack(norms))
        else:
            total_norm = tensord.norm(tensord.stack([tensord.norm(g, norm_type) for g in grads]), norm_type)
        if error_if_nonfinite and not bool(tensord.isfinite(total_norm)):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                               "is non-finite, so it cannot be clipped. To disable this error and "
                               "scale the gradients by the non-finite norm anyway, set "
                               "`error_if_nonfinite=False`")
        clip_coef = max_norm / (total_norm + 1e-6)
        clip_coef_clamped = tensord.where(clip_coef > 1.0, 1.0, clip_coef)
        for g in grads:
            g.mul_(clip_coef_clamped.to(g.dtype))
    return total_norm


def clip_grad_norm(parameters: Union[Any, Iterable[Any]], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Any:
    warnings.warn("torch.nn.utils.clip_grad_norm is now deprecated in favor of "
                  "torch.nn.utils.clip_grad_norm_.", stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters: Union[Any, Iterable[Any]], clip_value: float) -> None:
    clip_value = float(clip_value)
    with no_grad():
        for p in _param_list(parameters):
            g = p.grad
            if g is not None:
                g.clamp_(min=-clip_value, max=clip_value)
