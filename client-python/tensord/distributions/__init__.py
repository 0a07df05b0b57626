"""tensord.distributions: PyTorch 1.13's Normal, Uniform, Bernoulli and
Categorical, and kl_divergence. Parameters and samples are daemon tensors;
samples come from the session's generator, so their values differ from
torch's stream (their distribution does not)."""
from . import constraints  # noqa: F401
from .bernoulli import Bernoulli  # noqa: F401
from .categorical import Categorical  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .kl import kl_divergence, register_kl  # noqa: F401
from .normal import Normal  # noqa: F401
from .uniform import Uniform  # noqa: F401

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "constraints",
           "kl_divergence", "register_kl"]
