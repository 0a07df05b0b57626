"""``tensord.backends.cuda``: torch.backends.cuda.matmul.allow_tf32 and friends.

Recorded and readable as in PyTorch; the daemon's kernels do not consult them.
"""
from __future__ import annotations


class _MatmulSettings:
    """torch.backends.cuda.matmul: TF32 and reduced-precision switches; any
    other name is PyTorch's AssertionError."""

    _NAMES = ("allow_tf32", "allow_fp16_reduced_precision_reduction")

    def __init__(self) -> None:
        object.__setattr__(self, "allow_tf32", False)
        object.__setattr__(self, "allow_fp16_reduced_precision_reduction", True)

    def __getattr__(self, name: str) -> object:  # only called for unknown names
        raise AssertionError("Unknown attribute " + name)

    def __setattr__(self, name: str, value: object) -> None:
        if name not in self._NAMES:
            raise AssertionError("Unknown attribute " + name)
        object.__setattr__(self, name, bool(value))


matmul = _MatmulSettings()


def is_built() -> bool:
    """Whether the daemon has a CUDA backend (one only loads where it has GPUs)."""
    from .. import cuda
    return cuda.is_available()
