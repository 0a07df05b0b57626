"""tensord.nn: PyTorch 1.13's module system, layers, functional API and
initialisers, computing on the daemon."""
from . import parameter as _parameter

_parameter.install()

from . import functional, init, utils  # noqa: E402,F401
from .modules import *  # noqa: E402,F401,F403
from .modules.module import register_module_forward_hook, register_module_forward_pre_hook  # noqa: E402,F401
from .parameter import Parameter  # noqa: E402,F401
