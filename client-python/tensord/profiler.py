"""torch.profiler: tensord.autograd.profiler's profile and record_function
under their newer names and signature. Times are the daemon's (see that
module)."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .autograd import profiler as _autograd_profiler
from .autograd.profiler import EventList, ProfilerActivity, record_function  # noqa: F401

__all__ = ["EventList", "ProfilerActivity", "profile", "record_function", "schedule"]


class profile(_autograd_profiler.profile):
    """torch.profiler.profile: activities first, always enabled."""

    def __init__(self, activities: Optional[Iterable] = None, schedule: Any = None,
                 on_trace_ready: Any = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False, **kwargs: Any) -> None:
        super().__init__(True, activities=activities, schedule=schedule,
                         on_trace_ready=on_trace_ready, record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules, **kwargs)


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0,
             skip_first: int = 0) -> Callable[[int], Any]:
    """Accepted for torch.profiler.schedule's callers; tensord's profile
    times every step it covers, whatever the schedule says."""
    return lambda step: None
