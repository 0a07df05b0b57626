"""RMSprop, Adagrad, Adadelta (PyTorch 1.13's single-tensor algorithms), each
step one fused daemon op per parameter group (scheduler/autograd/optim_ops.cpp)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import _C
from .._autograd import no_grad
from .optimizer import Optimizer, _closure_loss


def _td() -> Any:
    import tensord
    return tensord


class RMSprop(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for index, group in enumerate(self.param_groups):
            names = ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + (
                ("grad_avg",) if group["centered"] else ())
            fg = self._fused_group(index, group, names)
            _C.call("_rmsprop_step", (
                group["params"], fg.buffers["square_avg"], fg.buffers.get("momentum_buffer", []),
                fg.buffers.get("grad_avg", []), fg.steps, float(group["lr"]), float(group["alpha"]),
                float(group["eps"]), float(group["weight_decay"]), float(group["momentum"]),
                bool(group["centered"]), bool(group["maximize"])))
        return loss

    def _fused_entry(self, group: dict, fg: Any, i: int, step: float) -> dict:
        entry: dict = {"step": int(step)}
        for name, bufs in fg.buffers.items():
            entry[name] = bufs[i]
        return entry


class Adagrad(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: Optional[bool] = None, *, maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)
        td = _td()
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = td.tensor(0.0)
                state["sum"] = td.full_like(p, initial_accumulator_value)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for index, group in enumerate(self.param_groups):
            fg = self._fused_group(index, group, ("sum",))
            _C.call("_adagrad_step", (group["params"], fg.buffers["sum"], fg.steps,
                                      float(group["lr"]), float(group["lr_decay"]),
                                      float(group["weight_decay"]), float(group["eps"]),
                                      bool(group["maximize"])))
        return loss

    def _fused_entry(self, group: dict, fg: Any, i: int, step: float) -> dict:
        return {"step": _td().tensor(step), "sum": fg.buffers["sum"][i]}


class Adadelta(Optimizer):
    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        loss = _closure_loss(closure)
        for index, group in enumerate(self.param_groups):
            fg = self._fused_group(index, group, ("square_avg", "acc_delta"))
            _C.call("_adadelta_step", (group["params"], fg.buffers["square_avg"],
                                       fg.buffers["acc_delta"], fg.steps, float(group["lr"]),
                                       float(group["rho"]), float(group["eps"]),
                                       float(group["weight_decay"]), bool(group["maximize"])))
        return loss

    def _fused_entry(self, group: dict, fg: Any, i: int, step: float) -> dict:
        return {"step": int(step), "square_avg": fg.buffers["square_avg"][i],
                "acc_delta": fg.buffers["acc_delta"][i]}
