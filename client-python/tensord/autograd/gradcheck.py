"""torch.autograd.gradcheck / gradgradcheck: analytic gradients (the daemon's
backward formulas) against central finite differences, in float64.

The numerical Jacobian perturbs one input element at a time on the client
and runs `func` again; the analytic one asks autograd.grad for one row per
output element. Both are fetched once, at the end, so a check costs a few
round trips rather than one per evaluation."""
from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .. import _C
from .._autograd import grad as _autograd_grad

Tensor = _C.Tensor


class GradcheckError(RuntimeError):
    """A gradient check failed (torch.autograd.gradcheck.GradcheckError)."""


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _values(t: Any) -> np.ndarray:
    from .._tensor import _values as fetch
    return np.asarray(fetch(t), dtype=np.float64)


def _fetch_all(tensors: Sequence[Any]) -> List[np.ndarray]:
    """Values of many tensors in one round trip: concatenated on the daemon."""
    from .. import cat, float64, no_grad
    if not tensors:
        return []
    with no_grad():
        flat = [t.detach().reshape(-1).to(float64) for t in tensors]
        allv = _values(cat(flat)) if len(flat) > 1 else _values(flat[0])
    out, at = [], 0
    for t in tensors:
        n = t.numel()
        out.append(allv[at:at + n])
        at += n
    return out


def _is_diff(t: Any) -> bool:
    return isinstance(t, Tensor) and t._requires_grad


def _differentiable_outputs(outputs: Any) -> Tuple[Any, ...]:
    return tuple(o for o in _as_tuple(outputs) if _is_diff(o))


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _with_value(t: Any, arr: np.ndarray, requires_grad: Optional[bool] = None) -> Any:
    """A fresh leaf with t's dtype and shape holding `arr` (and t's
    requires_grad unless given)."""
    from .. import tensor
    rg = t._requires_grad if requires_grad is None else requires_grad
    return tensor(arr.reshape(tuple(t.shape)), dtype=t.dtype, requires_grad=rg)


def _numerical_jacobian(func: Callable, inputs: tuple, out_shapes: List[tuple],
                        eps: float) -> List[List[np.ndarray]]:
    """jac[i][o]: d output o / d input i as (numel_in, numel_out), central differences."""
    pending = []  # (input, element, output, plus tensor, minus tensor)
    for i, x in enumerate(inputs):
        if not _is_diff(x):
            continue
        base = _values(x).reshape(-1)
        for k in range(base.size):
            outs = []
            for delta in (eps, -eps):
                arr = base.copy()
                arr[k] += delta
                args = list(inputs)
                args[i] = _with_value(x, arr)
                outs.append(_differentiable_outputs(func(*args)))
            for o in range(len(out_shapes)):
                pending.append((i, k, o, outs[0][o], outs[1][o]))
    jac = [[np.zeros((x.numel() if _is_diff(x) else 0, int(np.prod(s, dtype=np.int64))))
            for s in out_shapes] for x in inputs]
    values = _fetch_all([t for p in pending for t in (p[3], p[4])])
    for n, (i, k, o, _, _) in enumerate(pending):
        jac[i][o][k] = (values[2 * n] - values[2 * n + 1]) / (2 * eps)
    return jac


def _analytical_jacobian(inputs: tuple, outputs: Tuple[Any, ...]) -> List[List[np.ndarray]]:
    diff_idx = [i for i, x in enumerate(inputs) if _is_diff(x)]
    diff_inputs = [inputs[i] for i in diff_idx]
    rows = []  # (output, element, grads)
    for o, out in enumerate(outputs):
        n = out.numel()
        for k in range(n):
            g = np.zeros(n)
            g[k] = 1.0
            go = _with_value(out, g, requires_grad=False)
            gs = _autograd_grad(out, diff_inputs, go, retain_graph=True, allow_unused=True)
            rows.append((o, k, gs))
    jac = [[np.zeros((x.numel() if _is_diff(x) else 0, o.numel())) for o in outputs]
           for x in inputs]
    present = [g for _, _, gs in rows for g in gs if g is not None]
    values = iter(_fetch_all(present))
    for o, k, gs in rows:
        for j, g in zip(diff_idx, gs):
            if g is not None:
                jac[j][o][:, k] = next(values)
    return jac


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, check_sparse_nnz: bool = False,
              nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False) -> bool:
    """True when the gradients of func's differentiable outputs with respect
    to the inputs that require grad match finite differences (torch's check:
    |analytical - numerical| <= atol + rtol * |numerical| elementwise)."""
    if check_forward_ad or check_batched_grad or check_batched_forward_grad or check_sparse_nnz:
        raise NotImplementedError("tensord: gradcheck checks backward-mode gradients only")
    tupled = _as_tuple(inputs)
    if not any(_is_diff(x) for x in tupled):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for i, x in enumerate(tupled):
        if _is_diff(x) and x.dtype._name != "float64":
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of "
                          "double precision floating point. ")
    outputs = _differentiable_outputs(func(*tupled))
    if not outputs:
        return True
    shapes = [tuple(o.shape) for o in outputs]
    analytical = _analytical_jacobian(tupled, outputs)
    numerical = _numerical_jacobian(func, tupled, shapes, eps)
    for i, x in enumerate(tupled):
        if not _is_diff(x):
            continue
        for o in range(len(outputs)):
            a, n = analytical[i][o], numerical[i][o]
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=False):
                return _fail(f"Jacobian mismatch for output {o} with respect to input {i},\n"
                             f"numerical:{n}\nanalytical:{a}\n", raise_exception)
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Optional[Any] = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False) -> bool:
    """gradcheck of the map (inputs, grad_outputs) -> autograd.grad(func(inputs),
    inputs, grad_outputs, create_graph=True): second derivatives."""
    from .. import tensor
    tupled = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*tupled))
        rng = np.random.default_rng(0)
        grad_outputs = tuple(tensor(rng.uniform(-1.0, 1.0, tuple(o.shape)), dtype=o.dtype,
                                    requires_grad=True) for o in outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(grad_outputs)

    def new_func(*args: Any) -> Tuple[Any, ...]:
        input_args = args[:-num_outputs] if num_outputs else args
        gos = args[-num_outputs:] if num_outputs else ()
        outs = _differentiable_outputs(func(*input_args))
        diff = tuple(x for x in input_args if _is_diff(x))
        grads = _autograd_grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, tupled + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


__all__: Sequence[str] = ["gradcheck", "gradgradcheck", "GradcheckError"]
