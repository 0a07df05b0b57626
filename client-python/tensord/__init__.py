"""tensord: PyTorch's API, run on a tensor execution daemon.

    import tensord as torch
    x = torch.ones(2, 3) * 2

Ops are recorded locally and run on the daemon; values come back only when
the program asks for them (print, .item(), .numpy(), ...). See docs/.
"""
from __future__ import annotations

import os as _os

from . import _C
from ._dtype import (  # noqa: F401  (torch's names, builtins shadowed on purpose)
    Size, bfloat16, bool, device, dtype, float16, float32, float64, get_default_dtype,
    int8, int16, int32, int64, set_default_dtype, uint8,
)
from ._dtype import ALL_DTYPES as _ALL_DTYPES

_C._register(_ALL_DTYPES, Size, device, _os.path.dirname(_os.path.abspath(__file__)))

from . import _tensor  # noqa: E402

_tensor.install()
Tensor = _C.Tensor

from ._connection import connect, daemon_info, disconnect, synchronize  # noqa: E402,F401
from ._format import get_printoptions, set_printoptions  # noqa: E402,F401
from ._functions import functions as _functions  # noqa: E402

globals().update(_functions)

# Family modules add what the generated wrappers cannot express (operators,
# indexing, Python-only signatures); they may override generated names.
from . import _autograd, _ext_creation, _ext_elementwise, _ext_indexing, _ext_reduction, _ext_shape  # noqa: E402

for _ext in (_ext_creation, _ext_elementwise, _ext_indexing, _ext_reduction, _ext_shape, _autograd):
    _ext.install(Tensor, globals())

# torch.allclose/equal; torch.Tensor(...), torch.FloatTensor & co, Tensor.new*/type/__format__.
from . import _ext_compare, _legacy  # noqa: E402

_ext_compare.install(Tensor, globals())
_legacy.install(globals())

from . import autograd  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401  (torch.save / torch.load)
from . import _ext_nn_conv  # noqa: E402  (after the shape family: it uses cat and zeros)

_ext_nn_conv.install(Tensor, globals())

from . import _memory_format  # noqa: E402  (wraps clone/contiguous/to: after them)

_memory_format.install(Tensor, globals())

from . import _type_info  # noqa: E402

_type_info.install(globals())  # finfo, iinfo, is_floating_point

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64

__version__ = "0.1.0"


def is_tensor(obj: object) -> bool:  # type: ignore[valid-type]
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:  # type: ignore[valid-type]
    return t.numel()


from ._generator import Generator  # noqa: E402,F401  (client-side RNG for samplers)
from . import _generator  # noqa: E402

_generator.install(Tensor, globals())  # multinomial(generator=)
from . import utils  # noqa: E402,F401  (tensord.utils.data)
from . import nn, optim  # noqa: E402,F401  (torch.nn / torch.optim after `import torch`)
from . import cuda  # noqa: E402,F401  (torch.cuda: the daemon's GPUs)
from . import backends, testing  # noqa: E402,F401  (torch.backends, torch.testing.assert_close)
from . import distributions, profiler  # noqa: E402,F401  (torch.distributions, torch.profiler)
from . import random  # noqa: E402  (torch.random: the session generator)
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402,F401
from ._threads import (  # noqa: E402,F401  (advisory on a shared daemon)
    get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads,
)
from . import _layout  # noqa: E402

_layout.install(Tensor, globals())  # torch.strided, Tensor.layout/is_sparse/is_quantized/is_meta
from . import _pickle  # noqa: E402

_pickle.install(Tensor)  # pickle carries a tensor's values
from . import multiprocessing  # noqa: E402,F401  (torch.multiprocessing)
from .utils import checkpoint as _checkpoint  # noqa: E402,F401  (torch.utils.checkpoint)
