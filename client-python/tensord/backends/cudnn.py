"""``tensord.backends.cudnn``: PyTorch's cuDNN switches.

They can be set and read back as in PyTorch; the daemon's CUDA backend picks
its cuDNN algorithms itself, so they do not change how ops run.
"""
from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Whether the daemon has a GPU (its CUDA backend always comes with cuDNN)."""
    from .. import cuda
    return cuda.is_available()


def version() -> int | None:
    """None: the daemon does not report its cuDNN version to clients."""
    return None
