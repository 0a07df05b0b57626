"""Adamax (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

from typing import Any, Optional

from ._per_parameter import PerParameterOptimizer, check_adam_like


class Adamax(PerParameterOptimizer):
    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 maximize: bool = False) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        import tensord as td
        beta1, beta2 = group["betas"]
        if len(state) == 0:
            state["step"] = td.tensor(0.0)
            state["exp_avg"] = td.zeros_like(p)
            state["exp_inf"] = td.zeros_like(p)
            self._host.known(p, step=0.0)
        step = self._next_step(p, state)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        # The exponentially weighted infinity norm.
        exp_inf.copy_(td.maximum(exp_inf.mul_(beta2), grad.abs().add_(group["eps"])))
        clr = group["lr"] / (1 - beta1 ** step)
        p.add_(exp_avg / exp_inf, alpha=-clr)
