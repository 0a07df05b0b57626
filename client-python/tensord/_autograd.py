"""Autograd's Python surface: Tensor.requires_grad/.grad/.backward(), grad
modes, and torch.autograd.grad/backward. The graph itself lives on the daemon
(scheduler/autograd); the client knows requires_grad, is_leaf and the grad_fn
name of every tensor without asking it."""
from __future__ import annotations

import functools
from typing import Any, Iterable, Optional, Sequence, Union

from . import _C

Tensor = _C.Tensor


_MANUAL_NODES = frozenset({"CopySlices"})


class Node:
    """A tensor's grad_fn as the client knows it: its name."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        # PyTorch's hand-written nodes (not generated from derivatives.yaml)
        # carry their C++ namespace in name(), not in repr.
        if self._name in _MANUAL_NODES:
            return "torch::autograd::" + self._name
        return self._name

    def __repr__(self) -> str:
        return f"<{self._name} object at {hex(id(self))}>"


def _grad_fn(self: Any) -> Optional[Node]:
    name = self._grad_fn_name
    return None if name is None else Node(name)


def _set_requires_grad(self: Any, value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError("requires_grad must be a bool")
    _C.call("requires_grad_", (self, value))


def requires_grad_(self: Any, requires_grad: bool = True) -> Any:
    _C.call("requires_grad_", (self, requires_grad))
    return self


def _get_grad(self: Any) -> Any:
    return self._grad()


def _set_grad(self: Any, value: Any) -> None:
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                        f"type {type(value).__name__}")
    _C.call("_grad_set", (self, value))


def _del_grad(self: Any) -> None:
    _C.call("_grad_set", (self, None))


def detach(self: Any) -> Any:
    return _C.call("detach", (self,))


def detach_(self: Any) -> Any:
    return _C.call("detach_", (self,))


def retain_grad(self: Any) -> None:
    if not self._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    _C.call("_retain_grad", (self,))


def _tensor_backward(self: Any, gradient: Any = None, retain_graph: Optional[bool] = None,
                     create_graph: bool = False, inputs: Any = None) -> None:
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs: Sequence[Any], grads: Optional[Sequence[Any]]) -> list:
    from . import ones_like  # local: the namespace is complete only after import
    if grads is None:
        grads = [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs"
                           if not grads else
                           f"Mismatch in number of grads: {len(grads)} vs {len(outputs)} outputs")
    out = []
    for i, (o, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(o)
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        elif tuple(g.shape) != tuple(o.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{tuple(g.shape)} and output[{i}] has a shape of {tuple(o.shape)}.")
        out.append(g)
    return out


def _check_outputs(outputs: Sequence[Any]) -> None:
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element {i} of outputs, got {type(o).__name__}")
        if not o._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               f"have a grad_fn")


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """torch.autograd.backward: accumulates gradients into the leaves' .grad
    on the daemon (errors surface at the next sync point)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors)
    if grad_tensors is not None and isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    _check_outputs(tensors)
    grads = _make_grads(tensors, None if grad_tensors is None else tuple(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    inputs = [] if inputs is None else list(_as_tuple(inputs))
    _C.call("_backward", (list(tensors), grads, inputs, bool(retain_graph), bool(create_graph),
                          _anomaly_checks_nan()))
    if _functions or _hooks or _anomaly["enabled"]:
        # Python code runs during this backward: wait for it here, so hooks
        # have run and their exceptions raise when backward() returns.
        _C.synchronize()


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool = False,
         is_grads_batched: bool = False) -> tuple:
    """torch.autograd.grad: the gradients of outputs with respect to inputs."""
    if is_grads_batched:
        raise NotImplementedError("tensord: autograd.grad(is_grads_batched=True) is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    _check_outputs(outputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    res = _C.call("_autograd_grad", (list(outputs), grads, list(inputs), bool(retain_graph),
                                     bool(create_graph), bool(allow_unused),
                                     _anomaly_checks_nan()))
    if _functions or _hooks or _anomaly["enabled"]:
        _C.synchronize()
    out = []
    for r in res:
        if allow_unused and r._is_none():
            out.append(None)
            continue
        if create_graph:
            r._mark_backward_result()
        out.append(r)
    return tuple(out)


# ---- grad modes ----

class _DecoratorContextManager:
    """Usable as `with mode():` and as a decorator, like torch's."""

    def __call__(self, func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self) -> "_DecoratorContextManager":
        return self.__class__()


class no_grad(_DecoratorContextManager):
    def __enter__(self) -> None:
        self.prev = _C.is_grad_enabled()
        _C.set_grad_enabled(False)

    def __exit__(self, *exc: Any) -> None:
        _C.set_grad_enabled(self.prev)


class enable_grad(_DecoratorContextManager):
    def __enter__(self) -> None:
        self.prev = _C.is_grad_enabled()
        _C.set_grad_enabled(True)

    def __exit__(self, *exc: Any) -> None:
        _C.set_grad_enabled(self.prev)


class set_grad_enabled(_DecoratorContextManager):
    """Sets grad mode at construction (as torch does), restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self.prev = _C.is_grad_enabled()
        self.mode = bool(mode)
        _C.set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _C.set_grad_enabled(self.prev)

    def clone(self) -> "set_grad_enabled":
        return self.__class__(self.mode)


_inference_depth = [0]


class inference_mode(_DecoratorContextManager):
    """Like no_grad (tensord has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = _C.is_grad_enabled()
        if self.mode:
            _C.set_grad_enabled(False)
            _inference_depth[0] += 1

    def __exit__(self, *exc: Any) -> None:
        if self.mode:
            _inference_depth[0] -= 1
        _C.set_grad_enabled(self.prev)

    def clone(self) -> "inference_mode":
        return self.__class__(self.mode)


def is_grad_enabled() -> bool:
    return _C.is_grad_enabled()


def is_inference_mode_enabled() -> bool:
    return _inference_depth[0] > 0


# ---- anomaly mode (torch.autograd.detect_anomaly) ----
#
# The daemon's engine checks each node's results for NaN when asked, naming
# the node as torch does; a backward under anomaly mode then waits for the
# daemon, so the error raises from backward() itself. Forward tracebacks of
# the failing node are not recorded (docs/compatibility.md).

_anomaly = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    return _anomaly["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    return _anomaly["check_nan"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    _anomaly["enabled"] = bool(enabled)
    _anomaly["check_nan"] = bool(check_nan)


def _anomaly_checks_nan() -> bool:
    return _anomaly["enabled"] and _anomaly["check_nan"]


def install(tensor_cls: Any, namespace: dict) -> None:
    tensor_cls.requires_grad = property(lambda self: self._requires_grad, _set_requires_grad)
    tensor_cls.is_leaf = property(lambda self: self._is_leaf)
    tensor_cls.grad_fn = property(_grad_fn)
    tensor_cls.grad = property(_get_grad, _set_grad, _del_grad)
    tensor_cls.requires_grad_ = requires_grad_
    tensor_cls.detach = detach
    tensor_cls.detach_ = detach_
    tensor_cls.retain_grad = retain_grad
    tensor_cls.register_hook = register_hook
    _install_callbacks()
    tensor_cls.backward = _tensor_backward
    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
                 "is_grad_enabled", "is_inference_mode_enabled", "is_anomaly_enabled",
                 "is_anomaly_check_nan_enabled", "set_anomaly_enabled"):
        namespace[name] = globals()[name]
    namespace["detach"] = detach


# ---- Python code the daemon's backward calls back into ----

# handle -> (Function subclass, ctx, number of tensor inputs) / hook function
_functions: dict = {}
_hooks: dict = {}
_next_handle = [1]
_FUNCTION_BACKWARD, _TENSOR_HOOK = 0, 1


def _new_handle() -> int:
    h = _next_handle[0]
    _next_handle[0] += 1
    return h


def _drop_released() -> None:
    for h in _C._take_released_handles():
        _functions.pop(h, None)
        _hooks.pop(h, None)


def _run_callback(kind: int, handle: int, grads: list) -> list:
    """Called by _C while it waits at a sync point; returns gradients."""
    if kind == _TENSOR_HOOK:
        fn = _hooks.get(handle)
        if fn is None:
            return [None]
        return [fn(grads[0])]
    cls, ctx, tensor_positions = _functions[handle]
    res = cls.backward(ctx, *grads)
    if not isinstance(res, tuple):
        res = (res,)
    if len(res) < max(tensor_positions, default=-1) + 1:
        raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of "
                           f"gradients (expected {ctx._n_args}, got {len(res)})")
    out = []
    for pos in tensor_positions:
        g = res[pos]
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"function {cls.__name__}Backward returned a gradient of type "
                            f"{type(g).__name__} at index {pos}; expected a Tensor or None")
        out.append(g)
    return out


class RemovableHandle:
    def __init__(self, tensor: Any, handle: int) -> None:
        self._tensor = tensor
        self.id = handle

    def remove(self) -> None:
        if self.id in _hooks:
            _hooks.pop(self.id, None)
            _C.call("_remove_hook", (self._tensor, self.id))

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register_hook(self: Any, hook: Any) -> RemovableHandle:
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    _drop_released()
    h = _new_handle()
    _hooks[h] = hook
    _C.call("_register_hook", (self, h))
    return RemovableHandle(self, h)


class FunctionCtx:
    """The `ctx` of an autograd.Function: lives on the client."""

    def __init__(self) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad: tuple = ()
        self._non_differentiable: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        raise NotImplementedError("tensord: autograd.Function does not support mark_dirty "
                                  "(in-place forward) yet")

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """torch.autograd.Function: forward runs here (without recording), and the
    daemon's backward calls `backward` back on this client."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        _drop_released()
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx._n_args = len(args)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        inputs = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (_C.is_grad_enabled() and any(ctx.needs_input_grad)):
            return outputs
        input_ids = {id(a) for _, a in inputs}
        fixed = []
        for o in outs:
            # An input returned as is gets a new identity, as in torch.
            if isinstance(o, Tensor) and id(o) in input_ids:
                o = o.detach()
            fixed.append(o)
        diff = [o for o in fixed if isinstance(o, Tensor) and o.dtype.is_floating_point
                and id(o) not in ctx._non_differentiable]
        h = _new_handle()
        _functions[h] = (cls, ctx, [i for i, _ in inputs])
        name = cls.__name__ + "Backward"
        _C.call("_py_function", ([a for _, a in inputs], diff, h, name))
        for o in diff:
            o._mark_function_result(name)
        return fixed[0] if single else tuple(fixed)


def _install_callbacks() -> None:
    _C._set_callback(_run_callback)
