"""tensord.optim: torch.optim's optimizers and learning-rate schedulers."""

# The optimizers are another package's work; the integrator merges the two.
from . import lr_scheduler  # noqa: F401
