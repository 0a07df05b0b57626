"""torch.random: the session generator's seed and state.

The generator lives on the daemon, one per session, and serves every device
of the session. Its state is tensord's own format (a uint8 tensor holding the
mt19937_64 state and the initial seed), so states round-trip within tensord
but are not interchangeable with torch's. get_rng_state and set_rng_state are
ops in the session's stream, so saving and restoring the state costs no round
trip and orders correctly with the draws around it.
"""
from __future__ import annotations

import contextlib
import secrets
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from . import _C

_U64 = 1 << 64


def _wire_seed(seed: Any) -> int:
    """torch's accepted range, [-2**63, 2**64), as the int64 the daemon receives
    (the daemon reads its bits as unsigned, as torch does)."""
    if not hasattr(seed, "__index__"):
        raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < _U64:
        raise RuntimeError("Overflow when unpacking long")
    return seed - _U64 if seed >= (1 << 63) else seed


def manual_seed(seed: Any) -> None:
    """Seeds the session's generator on the daemon."""
    _C.call("manual_seed", (_wire_seed(seed),))


def seed() -> int:
    """Seeds the session's generator from the OS's entropy and returns the seed."""
    s = secrets.randbits(64)
    manual_seed(s)
    return s


def get_rng_state() -> Any:
    """The session generator's state, as a uint8 tensor (tensord's own format)."""
    return _C.call("_get_rng_state", ())


def set_rng_state(new_state: Any) -> None:
    """Restores a state from get_rng_state: the draws after it repeat."""
    import tensord
    if not isinstance(new_state, tensord.Tensor):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
    if new_state.dtype is not tensord.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    expected = get_rng_state().numel()
    if new_state.numel() != expected:
        raise RuntimeError(f"Expected a tensord RNG state of size {expected} (from "
                           f"get_rng_state()) but found the input RNG state size to be "
                           f"{new_state.numel()}")
    _C.call("_set_rng_state", (new_state.cpu(),))


def initial_seed() -> int:
    """The seed last given to manual_seed/seed (a round trip: it is read from the daemon)."""
    words = np.ascontiguousarray(get_rng_state().numpy()).view("<u8")
    return int(words[1])


@contextlib.contextmanager
def fork_rng(devices: Optional[Iterable[Any]] = None, enabled: bool = True,
             _caller: str = "fork_rng", _devices_kw: str = "devices") -> Iterator[None]:
    """Restores the session generator on exit. One generator serves all of a
    session's devices, so `devices` needs no per-device states and is accepted
    for torch's signature."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
