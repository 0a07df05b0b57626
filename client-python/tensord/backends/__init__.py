"""``tensord.backends``: torch.backends' switches (cudnn, cuda.matmul, mps).

The daemon picks its kernels itself, so the switches are recorded and can be
read back, but do not change how ops run (docs/compatibility.md).
"""
from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["cuda", "cudnn", "mps"]
