"""NAdam (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

from typing import Any, Optional

from ._per_parameter import PerParameterOptimizer, check_adam_like


class NAdam(PerParameterOptimizer):
    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 foreach: Optional[bool] = None) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, foreach=foreach))

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        import tensord as td
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["momentum_decay"]
        if len(state) == 0:
            state["step"] = td.tensor(0.0)
            state["mu_product"] = td.tensor(1.0)
            state["exp_avg"] = td.zeros_like(p)
            state["exp_avg_sq"] = td.zeros_like(p)
            self._host.known(p, step=0.0, mu_product=1.0)
        step = self._next_step(p, state)
        bias_correction2 = 1 - beta2 ** step
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        # The momentum cache mu^t and mu^{t+1}. torch multiplies them into the
        # 0-d mu_product tensor, so the products round to its dtype.
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        f = self._host.precision(state, "mu_product")
        mu_product = self._host.set(
            p, state, "mu_product", f(self._host.get(p, state, "mu_product")) * f(mu))
        mu_product_next = float(f(f(mu_product) * f(mu)) * f(mu_next))
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(group["eps"])
        p.add_(grad / denom, alpha=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.add_(exp_avg / denom, alpha=-lr * mu_next / (1.0 - mu_product_next))
