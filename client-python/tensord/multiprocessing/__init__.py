"""torch.multiprocessing: Python's multiprocessing, plus spawn/start_processes.

Tensors cross processes by value: a tensord tensor pickles as its values and
is rebuilt on the receiving process's own session (each process is its own
client of the daemon). So a tensor put on a Queue arrives with the same
values, dtype, shape and requires_grad, but it is a copy: in-place writes in
one process are not seen by the other, unlike torch's shared memory. Sharing
strategies are accepted for torch's API and change nothing
(docs/compatibility.md).
"""
import multiprocessing
from multiprocessing import *  # noqa: F401,F403
from multiprocessing.reduction import ForkingPickler
from typing import Any

from .. import _C
from .._pickle import reduce_tensor

from .spawn import (  # noqa: F401
    ProcessContext, ProcessExitedException, ProcessRaisedException, SpawnContext, spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__  # type: ignore[attr-defined]

_all_sharing_strategies = {"file_descriptor", "file_system"}
_sharing_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    global _sharing_strategy
    assert new_strategy in _all_sharing_strategies
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    return _sharing_strategy


def get_all_sharing_strategies() -> set:
    return set(_all_sharing_strategies)


def _reduce_for_process(t: Any) -> Any:
    """What a Queue or Pipe sends: the value, with torch's refusal of a tensor
    that carries autograd history (which cannot cross processes)."""
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                           "since autograd does not support crossing process boundaries.  "
                           "If you just want to transfer the data, call detach() on the tensor "
                           "before serializing (e.g., putting it on the queue).")
    return reduce_tensor(t)


ForkingPickler.register(_C.Tensor, _reduce_for_process)
