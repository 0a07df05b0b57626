"""Module full backward hooks, as torch.utils.hooks.BackwardHook.

Identity autograd Functions wrap the module's grad-requiring input tensors
and its output tensors. The output one's backward (run on this client by the
daemon's engine) receives every grad_output at once and runs the backward
pre-hooks; the input one's backward receives every grad_input and runs the
full backward hooks, whose results replace the gradients that flow on.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ... import _C
from ..._autograd import Function


class _HookIdentity(Function):
    @staticmethod
    def forward(ctx: Any, on_backward: Any, *tensors: Any) -> Any:
        ctx.on_backward = on_backward
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        return (None,) + tuple(ctx.on_backward(grads))


class BackwardHook:
    def __init__(self, module: Any, user_hooks: List[Any], user_pre_hooks: List[Any]) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: Optional[tuple] = None
        self.n_inputs = self.n_outputs = -1
        self.input_index: Optional[List[int]] = None
        self.output_index: Optional[List[int]] = None

    @staticmethod
    def _pack(indices: List[int], values: Any, size: int) -> tuple:
        res: list = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    def _wrap(self, args: tuple, on_backward: Any) -> tuple:
        index = [i for i, a in enumerate(args) if isinstance(a, _C.Tensor) and a.requires_grad]
        if not index or not _C.is_grad_enabled():
            return args, None
        wrapped = _HookIdentity.apply(on_backward, *[args[i] for i in index])
        out = list(args)
        for i, t in zip(index, wrapped):
            out[i] = t
        return tuple(out), index

    def _on_input_grads(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:
            return grads  # the gradient did not pass through the module's outputs
        res = self._pack(self.input_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, got "
                                   f"{len(out)}, but expected {len(res)}")
            res = tuple(out)
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_index)

    def _on_output_grads(self, grads: tuple) -> tuple:
        self.grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(self.grad_outputs):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(out)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = tuple(out)
        if self.input_index is None:
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient "
                                       "should always return None or None for all gradients.")
            out = tuple(self.grad_outputs[i] for i in self.output_index)
            self.grad_outputs = None
            return out
        return tuple(self.grad_outputs[i] for i in self.output_index)

    def setup_input_hook(self, args: tuple) -> tuple:
        res, self.input_index = self._wrap(args, self._on_input_grads)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result: Any) -> Any:
        single = not isinstance(result, tuple)
        args = (result,) if single else result
        res, self.output_index = self._wrap(args, self._on_output_grads)
        self.n_outputs = len(args)
        return res[0] if single else res
