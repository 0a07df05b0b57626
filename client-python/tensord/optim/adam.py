"""Adam and AdamW (PyTorch 1.13's single-tensor algorithms)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import _C
from .._autograd import no_grad
from ._per_parameter import check_adam_like
from .optimizer import Optimizer, _closure_loss


def _td() -> Any:
    import tensord
    return tensord


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: Optional[bool] = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool = False) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for index, group in enumerate(self.param_groups):
            names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
            fg = self._fused_group(index, group, names)
            beta1, beta2 = group["betas"]
            _C.call("_adam_step", (group["params"], fg.buffers["exp_avg"], fg.buffers["exp_avg_sq"],
                                   fg.buffers.get("max_exp_avg_sq", []), fg.steps,
                                   float(group["lr"]), float(beta1), float(beta2),
                                   float(group["eps"]), float(group["weight_decay"]),
                                   bool(group["amsgrad"]), bool(group["maximize"]),
                                   self._decoupled))
        return loss

    def _fused_entry(self, group: dict, fg: Any, i: int, step: float) -> dict:
        entry = {"step": _td().tensor(step)}
        for name, bufs in fg.buffers.items():
            entry[name] = bufs[i]
        return entry


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, capturable: bool = False) -> None:
        check_adam_like(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        Optimizer.__init__(self, params, defaults)
