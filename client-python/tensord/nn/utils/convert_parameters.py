"""parameters_to_vector / vector_to_parameters."""
from __future__ import annotations

from typing import Any, Iterable

from ... import _C
from ..._autograd import no_grad

Tensor = _C.Tensor


def _check_param_device(param: Any, old_param_device: Any) -> Any:
    if old_param_device is None:
        return param._device_str
    if param._device_str != old_param_device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return old_param_device


def parameters_to_vector(parameters: Iterable[Any]) -> Any:
    import tensord
    param_device = None
    vec = []
    for param in parameters:
        param_device = _check_param_device(param, param_device)
        vec.append(param.reshape(-1))
    return tensord.cat(vec)


def vector_to_parameters(vec: Any, parameters: Iterable[Any]) -> None:
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    param_device = None
    pointer = 0
    with no_grad():
        for param in parameters:
            param_device = _check_param_device(param, param_device)
            num_param = param.numel()
            param.copy_(vec[pointer:pointer + num_param].view(list(param.shape)))
            pointer += num_param
