"""torch.layout and the Tensor properties that name a tensor's kind.

Every tensord tensor is dense and strided (no sparse, quantized, meta or
MKL-DNN tensors exist on the daemon), so these answer on the client; torch's
own code reads them (LBFGS checks `p.grad.is_sparse`).
"""
from __future__ import annotations

from typing import Any


class layout:  # noqa: N801  (torch's name)
    """One of torch's tensor layouts; compared by identity."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def install(tensor_cls: Any, namespace: dict) -> None:
    namespace.update(layout=layout, strided=strided, sparse_coo=sparse_coo)
    tensor_cls.layout = property(lambda self: strided)
    for name in ("is_sparse", "is_quantized", "is_meta", "is_mkldnn"):
        setattr(tensor_cls, name, property(lambda self: False))
