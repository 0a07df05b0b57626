"""``tensord.cuda``: the CUDA devices of the daemon (``torch.cuda``'s place)."""


class OutOfMemoryError(RuntimeError):
    """A GPU allocation failed: the device is full, or the tenant is over its
    memory quota on it (PyTorch's ``torch.cuda.OutOfMemoryError``)."""


__all__ = ["OutOfMemoryError"]
