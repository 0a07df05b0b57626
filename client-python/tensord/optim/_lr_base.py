"""The scheduler base class and helpers shared by tensord.optim.lr_scheduler."""

from __future__ import annotations

import types
import warnings
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)

_GET_LR_WARNING = (
    "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
)


def _check_optimizer(optimizer: Any) -> None:
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _defaults(optimizer: Any) -> dict[str, Any]:
    """optimizer.defaults, or the first group's keys for optimizers without one."""
    d = getattr(optimizer, "defaults", None)
    if d is None:
        d = optimizer.param_groups[0] if optimizer.param_groups else {}
    return d


def _with_counter(method: Callable) -> Callable:
    """optimizer.step wrapped to count calls in optimizer._step_count."""
    if getattr(method, "_with_counter", False):
        return method
    if isinstance(method, types.MethodType):
        instance_ref = weakref.ref(method.__self__)  # no cycle optimizer -> wrapper -> optimizer
        func, cls = method.__func__, type(method.__self__)

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            instance = instance_ref()
            instance._step_count += 1  # type: ignore[union-attr]
            return func.__get__(instance, cls)(*args, **kwargs)
    else:
        raise TypeError(
            "lr_scheduler: optimizer.step must be a method of the optimizer, "
            f"got {type(method).__name__}"
        )
    wrapper._with_counter = True  # type: ignore[attr-defined]
    return wrapper


class _GetLRInStep:
    def __init__(self, scheduler: Any) -> None:
        self.s = scheduler

    def __enter__(self) -> None:
        self.s._get_lr_called_within_step = True

    def __exit__(self, *exc: object) -> None:
        self.s._get_lr_called_within_step = False


class LRScheduler:
    """Base class: step() moves last_epoch on and writes get_lr() into the groups."""

    def __init__(self, optimizer: Any, last_epoch: int = -1, verbose: bool = False) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        "param 'initial_lr' is not specified "
                        f"in param_groups[{i}] when resuming an optimizer"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        # torch issue 20124: warn when lr_scheduler.step() comes before optimizer.step().
        self.optimizer.step = _with_counter(self.optimizer.step)
        self.verbose = verbose
        self._initial_step()

    def _initial_step(self) -> None:
        self.optimizer._step_count = 0
        self._step_count = 0
        self.step()

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def print_lr(self, is_verbose: bool, group: int, lr: float, epoch: Any = None) -> None:
        if is_verbose:
            if epoch is None:
                print(f"Adjusting learning rate of group {group} to {lr:.4e}.")
            else:
                epoch_str = ("%.2f" if isinstance(epoch, float) else "%.5d") % epoch
                print(f"Epoch {epoch_str}: adjusting learning rate of group {group} to {lr:.4e}.")

    def _warn_step_order(self) -> None:
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_with_counter"):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
                    "initialization. Please, make sure to call `optimizer.step()` before "
                    "`lr_scheduler.step()`. See more details at "
                    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
                    UserWarning,
                )
            elif self.optimizer._step_count < 1:
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
                    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
                    "will result in PyTorch skipping the first value of the learning rate "
                    "schedule. See more details at "
                    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
                    UserWarning,
                )

    def step(self, epoch: int | None = None) -> None:
        self._warn_step_order()
        self._step_count += 1
        with _GetLRInStep(self):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning)
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        for i, (group, lr) in enumerate(zip(self.optimizer.param_groups, values)):
            group["lr"] = lr
            self.print_lr(self.verbose, i, lr, epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _warn_get_lr(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(_GET_LR_WARNING, UserWarning)


class _LRScheduler(LRScheduler):
    """PyTorch 1.13's name for the base class."""


def _format_param(name: str, optimizer: Any, param: Any) -> list[Any]:
    """One value per param group."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(
                f"expected {len(optimizer.param_groups)} values for {name}, got {len(param)}"
            )
        return list(param)
    return [param] * len(optimizer.param_groups)
