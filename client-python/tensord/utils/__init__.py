"""tensord.utils: torch.utils's data loading (tensord.utils.data)."""

from . import data  # noqa: F401
