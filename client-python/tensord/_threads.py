"""torch.set_num_threads and friends, on a shared daemon.

The daemon owns one thread pool for every tenant (sized by its config or
OMP_NUM_THREADS; docs/operations.md), so a client may not resize it. These
calls keep PyTorch's validation and return what was set, per client process,
but do not change how many threads run the session's kernels
(docs/compatibility.md).
"""
from __future__ import annotations

import os
from typing import Any

_settings: dict[str, int] = {}


def _positive(fn: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")
    return n


def _default() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def set_num_threads(n: Any) -> None:
    _settings["intra"] = _positive("set_num_threads", n)


def get_num_threads() -> int:
    return _settings.get("intra", _default())


def set_num_interop_threads(n: Any) -> None:
    n = _positive("set_num_interop_threads", n)
    if "interop" in _settings:
        # torch aborts the process here; a clear error serves better.
        raise RuntimeError("Error: cannot set number of interop threads after parallel work "
                           "has started or set_num_interop_threads called")
    _settings["interop"] = n


def get_num_interop_threads() -> int:
    return _settings.get("interop", _default())
