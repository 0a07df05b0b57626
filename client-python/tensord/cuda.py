"""``tensord.cuda``: the CUDA devices of the daemon (``torch.cuda``'s place).

Every answer comes from the device list the daemon sent when the client
connected, so ``is_available()`` is about the daemon's machine, not this one.
On a daemon without GPUs, the calls that need a GPU raise what a CUDA build of
PyTorch raises on a machine without one: ``RuntimeError: No CUDA GPUs are
available``; the ones PyTorch answers without initialising CUDA
(``is_available``, ``device_count``, ``memory_allocated``, ``empty_cache``,
``manual_seed``) answer here too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _legacy


class OutOfMemoryError(RuntimeError):
    """A GPU allocation failed: the device is full, or the tenant is over its
    memory quota on it (PyTorch's ``torch.cuda.OutOfMemoryError``)."""


@dataclass(frozen=True)
class _CudaDeviceProperties:
    """What the daemon reports about one of its GPUs (a subset of torch's)."""

    name: str
    total_memory: int  # bytes; 0 where the daemon does not know

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', "
                f"total_memory={self.total_memory // (1024 * 1024)}MB)")


_current_index = 0
_initialized = False


def _daemon_gpus() -> list[_CudaDeviceProperties]:
    """The daemon's CUDA devices in index order."""
    from ._connection import daemon_info
    info = daemon_info()
    gpus = {}
    for name, label, total in zip(info["devices"], info["device_names"],
                                  info["device_total_memory"]):
        if name.startswith("cuda:"):
            gpus[int(name[len("cuda:"):])] = _CudaDeviceProperties(label, int(total))
    return [gpus[i] for i in sorted(gpus)]


def is_available() -> bool:
    """Whether the daemon has at least one GPU."""
    return device_count() > 0


def device_count() -> int:
    return len(_daemon_gpus())


def is_initialized() -> bool:
    """True once a call here has needed a GPU and found one (torch's lazy init)."""
    return _initialized


def _lazy_init() -> list[_CudaDeviceProperties]:
    global _initialized
    gpus = _daemon_gpus()
    if not gpus:
        raise RuntimeError("No CUDA GPUs are available (the daemon has no CUDA device)")
    _initialized = True
    return gpus


def init() -> None:
    _lazy_init()


def _index_of(device: Any) -> int:
    """A device index from an int, 'cuda:1', torch.device or None (the current one)."""
    if device is None:
        return _current_index
    if isinstance(device, str) or hasattr(device, "type"):
        from ._dtype import device as device_type
        d = device_type(device)
        if d.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {d}")
        return _current_index if d.index is None else d.index
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    raise ValueError("Expected a torch.device with a specified index or an integer, "
                     f"but got:{device}")


def _checked_index(device: Any) -> int:
    gpus = _lazy_init()
    index = _index_of(device)
    if not 0 <= index < len(gpus):
        raise AssertionError("Invalid device id")
    return index


def current_device() -> int:
    _lazy_init()
    return _current_index


def set_device(device: Any) -> None:
    """Makes device the one that 'cuda' without an index means in torch.cuda calls
    and the legacy constructors (factories' device='cuda' is always cuda:0)."""
    global _current_index
    index = _index_of(device)
    if index < 0:
        return  # torch ignores a negative index
    gpus = _lazy_init()
    if index >= len(gpus):
        raise RuntimeError(f"CUDA error: invalid device ordinal (the daemon has {len(gpus)} GPUs)")
    _current_index = index


class device:
    """Context manager that makes device the current one while it is entered;
    None or a negative index does nothing."""

    def __init__(self, device: Any) -> None:
        self.idx = -1 if device is None else _index_of(device)
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx < 0:
            return
        self.prev_idx = current_device()
        if self.prev_idx != self.idx:
            set_device(self.idx)

    def __exit__(self, *exc: Any) -> bool:
        if self.prev_idx != self.idx:
            set_device(self.prev_idx)
        return False


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    return _lazy_init()[_checked_index(device)]


def get_device_name(device: Any = None) -> str:
    return get_device_properties(device).name


def synchronize(device: Any = None) -> None:
    """Waits for every op issued so far (the daemon runs a session's ops in order)."""
    _checked_index(device)
    from ._connection import synchronize as synchronize_session
    synchronize_session()


def _memory_stat(name: str, device: Any) -> int:
    # PyTorch reports 0 until CUDA is initialised; so does tensord, which
    # has no per-session GPU memory query for clients yet.
    if not _initialized:
        return 0
    _checked_index(device)
    raise NotImplementedError(
        f"tensord.cuda.{name}: the daemon does not report a session's GPU memory to clients "
        "yet (the admin service's Status shows each device's use)")


def memory_allocated(device: Any = None) -> int:
    return _memory_stat("memory_allocated", device)


def max_memory_allocated(device: Any = None) -> int:
    return _memory_stat("max_memory_allocated", device)


def memory_reserved(device: Any = None) -> int:
    return _memory_stat("memory_reserved", device)


def max_memory_reserved(device: Any = None) -> int:
    return _memory_stat("max_memory_reserved", device)


def empty_cache() -> None:
    """Accepted; the daemon's caching allocator is shared by its sessions and
    manages its own cache."""


def manual_seed(seed: int) -> None:
    """Seeds the session's generator where the daemon has GPUs: the daemon
    draws for every device from that one generator. Without GPUs it does
    nothing, as in PyTorch (whose CPU generator it leaves alone)."""
    int(seed)
    if is_available():
        from . import manual_seed as seed_session
        seed_session(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


globals().update(_legacy.make_tensor_types(__name__, is_cuda=True))

__all__ = [
    "OutOfMemoryError", "current_device", "device", "device_count", "empty_cache",
    "get_device_name", "get_device_properties", "init", "is_available", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_reserved", "memory_allocated",
    "memory_reserved", "set_device", "synchronize",
]
