"""The shape torch 1.13's single-tensor optimizers share: for every parameter
with a gradient, one update of daemon ops, with the scalar state (step
counts and the like) mirrored on the client by HostScalars so a step needs
no round trip. Adamax, NAdam, RAdam, ASGD and Rprop implement `_update`."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .._autograd import no_grad
from ._host_scalars import HostScalars
from .optimizer import Optimizer, _closure_loss


def check_adam_like(lr: float, eps: float, betas: tuple, weight_decay: float) -> None:
    """torch's argument checks (and messages) for the Adam family."""
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


class PerParameterOptimizer(Optimizer):
    def __init__(self, params: Any, defaults: dict) -> None:
        super().__init__(params, defaults)
        self._host = HostScalars()

    def _state_loaded(self) -> None:
        self._host.clear()

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        raise NotImplementedError

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(group, p, p.grad, self.state[p])
        return loss

    def _next_step(self, p: Any, state: dict) -> float:
        """Advances the parameter's 0-d step count; returns the new value."""
        return self._host.set(p, state, "step", self._host.get(p, state, "step") + 1)
