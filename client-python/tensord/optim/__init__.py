"""tensord.optim: PyTorch 1.13's optimizers and learning-rate schedulers."""
from . import lr_scheduler  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .others import Adadelta, Adagrad, RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401
