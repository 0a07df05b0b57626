"""Rprop (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

from typing import Any, Optional

from ._per_parameter import PerParameterOptimizer


class Rprop(PerParameterOptimizer):
    def __init__(self, params: Any, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), foreach: Optional[bool] = None,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize))

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        import tensord as td
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if len(state) == 0:
            # torch keeps Rprop's step as a Python int, so there is nothing to mirror.
            state["step"] = 0
            state["prev"] = td.zeros_like(p)
            state["step_size"] = td.full_like(grad, group["lr"])
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        prev, step_size = state["prev"], state["step_size"]
        # Grow the step where the gradient kept its sign, shrink it where it
        # flipped (and skip that update), keep it where either was zero.
        sign = grad.mul(prev).sign()
        factor = td.where(sign > 0, td.full_like(sign, etaplus),
                          td.where(sign < 0, td.full_like(sign, etaminus),
                                   td.ones_like(sign)))
        step_size.mul_(factor).clamp_(step_size_min, step_size_max)
        grad = td.where(sign < 0, td.zeros_like(grad), grad)
        p.add_(grad.sign() * step_size, alpha=-1)
        prev.copy_(grad)
