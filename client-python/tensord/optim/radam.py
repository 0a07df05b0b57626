"""RAdam (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

import math
from typing import Any, Optional

from ._per_parameter import PerParameterOptimizer, check_adam_like


class RAdam(PerParameterOptimizer):
    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 foreach: Optional[bool] = None) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach))

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        import tensord as td
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        if len(state) == 0:
            state["step"] = td.tensor(0.0)
            state["exp_avg"] = td.zeros_like(p)
            state["exp_avg_sq"] = td.zeros_like(p)
            self._host.known(p, step=0.0)
        step = self._next_step(p, state)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
        bias_corrected_exp_avg = exp_avg / bias_correction1
        # The length of the approximated simple moving average, and its maximum.
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive_lr = math.sqrt(bias_correction2) / exp_avg_sq.sqrt().add_(group["eps"])
            p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
