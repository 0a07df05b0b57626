"""ASGD (PyTorch 1.13's single-tensor algorithm), as daemon ops per parameter."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ._per_parameter import PerParameterOptimizer


class ASGD(PerParameterOptimizer):
    def __init__(self, params: Any, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: Optional[bool] = None,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

    def _update(self, group: dict, p: Any, grad: Any, state: dict) -> None:
        import tensord as td
        lr, lambd = group["lr"], group["lambd"]
        if len(state) == 0:
            state["step"] = td.tensor(0.0)
            state["eta"] = td.tensor(lr)
            state["mu"] = td.tensor(1.0)
            state["ax"] = td.zeros_like(p)
            self._host.known(p, step=0.0, eta=lr, mu=1.0)
        step = self._next_step(p, state)
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
