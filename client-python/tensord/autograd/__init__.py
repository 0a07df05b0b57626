"""tensord.autograd: torch.autograd's API; the engine runs on the daemon."""
from .._autograd import (  # noqa: F401
    Function, FunctionCtx, backward, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
    set_grad_enabled,
)
from .._autograd import Node as _Node  # noqa: F401
from . import anomaly_mode  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from . import profiler  # noqa: E402,F401  (torch.autograd.profiler)
