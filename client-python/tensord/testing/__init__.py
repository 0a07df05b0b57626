"""``tensord.testing``: torch.testing.assert_close (PyTorch 1.13's semantics)."""
from ._comparison import assert_close

__all__ = ["assert_close"]
