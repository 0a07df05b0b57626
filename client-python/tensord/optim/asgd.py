"""ASGD (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from .._autograd import no_grad
from ._host_scalars import HostScalars
from .optimizer import Optimizer, _closure_loss


class ASGD(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: Optional[bool] = None,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)
        self._host = HostScalars()

    def _state_loaded(self) -> None:
        self._host.clear()

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        import tensord as td
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, lambd = group["lr"], group["lambd"]
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = td.tensor(0.0)
                    state["eta"] = td.tensor(lr)
                    state["mu"] = td.tensor(1.0)
                    state["ax"] = td.zeros_like(p)
                    self._host.known(p, step=0.0, eta=lr, mu=1.0)
                step = self._host.set(p, state, "step", self._host.get(p, state, "step") + 1)
                if group["maximize"]:
                    grad = -grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                eta = self._host.get(p, state, "eta")
                p.mul_(1 - lambd * eta)
                p.add_(grad, alpha=-eta)
                mu = self._host.get(p, state, "mu")
                ax = state["ax"]
                if mu != 1:
                    ax.add_(p.sub(ax).mul(mu))
                else:
                    ax.copy_(p)
                # torch copies these in from new float32 tensors, whatever the state's
                # dtype: the values are float32-rounded either way.
                new_eta = lr / math.pow(1 + lambd * lr * step, group["alpha"])
                self._host.set(p, state, "eta", np.float32(new_eta))
                self._host.set(p, state, "mu", np.float32(1 / max(1, step - group["t0"])))
        return loss
