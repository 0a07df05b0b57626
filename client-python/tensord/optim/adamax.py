"""Adamax (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .._autograd import no_grad
from ._host_scalars import HostScalars
from .optimizer import Optimizer, _closure_loss


def check_adam_like(lr: float, eps: float, betas: tuple, weight_decay: float) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adamax(Optimizer):
    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 maximize: bool = False) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)
        self._host = HostScalars()

    def _state_loaded(self) -> None:
        self._host.clear()

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        import tensord as td
        loss = _closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = td.tensor(0.0)
                    state["exp_avg"] = td.zeros_like(p)
                    state["exp_inf"] = td.zeros_like(p)
                    self._host.known(p, step=0.0)
                step = self._host.set(p, state, "step", self._host.get(p, state, "step") + 1)
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
        return loss
