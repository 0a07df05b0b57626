"""Python-side pieces of the indexing ops (installed by tensord/__init__.py)."""
from __future__ import annotations

from typing import Any


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
