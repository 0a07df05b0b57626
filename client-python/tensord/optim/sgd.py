"""SGD (PyTorch 1.13's single-tensor algorithm)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import _C
from .._autograd import no_grad
from .optimizer import Optimizer, _closure_loss, required


class SGD(Optimizer):
    def __init__(self, params: Any, lr: Any = required, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for index, group in enumerate(self.param_groups):
            fg = self._fused_group(index, group, ("momentum_buffer",) if group["momentum"] else ())
            bufs = fg.buffers.get("momentum_buffer", [])
            _C.call("_sgd_step", (group["params"], bufs, fg.steps, float(group["lr"]),
                                  float(group["momentum"]), float(group["dampening"]),
                                  float(group["weight_decay"]), bool(group["nesterov"]),
                                  bool(group["maximize"])))
        return loss

    def _fused_entry(self, group: dict, fg: Any, i: int, step: float) -> dict:
        bufs = fg.buffers.get("momentum_buffer")
        return {"momentum_buffer": bufs[i] if bufs else None}
