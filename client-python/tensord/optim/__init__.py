"""tensord.optim: PyTorch 1.13's optimizers."""
from .adam import Adam, AdamW  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .others import Adadelta, Adagrad, RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

try:  # written on another branch (data); optional until it merges
    from . import lr_scheduler  # noqa: F401
except ImportError:
    pass
