"""tensord.nn.functional: PyTorch 1.13's functional API.

Built from daemon ops that carry derivative formulas, so every function here
is differentiable on the daemon. Where a branch of a `where` could overflow
(exp of a large input), its input is masked first so the unused branch cannot
put inf * 0 = NaN into the gradient.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Sequence

import numpy as np

from .. import _C
from .._autograd import no_grad
from ._functional_spatial import (  # noqa: F401
    channel_shuffle, fold, grid_sample, interpolate, pad, pixel_shuffle, pixel_unshuffle, unfold,
    upsample,
)

Tensor = _C.Tensor


def _td() -> Any:
    import tensord
    return tensord


# ---- reductions ----

def _reduction_enum(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduction(size_average: Optional[bool], reduce: Optional[bool], reduction: str) -> str:
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{_reduction_enum(size_average, reduce)}' instead.")
        return _reduction_enum(size_average, reduce)
    return reduction


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


# ---- linear ----

def linear(input: Any, weight: Any, bias: Optional[Any] = None) -> Any:
    td = _td()
    if input.dim() == 2 and bias is not None:
        return td.addmm(bias, input, weight.t())
    out = td.matmul(input, weight.t())
    return out if bias is None else out + bias


def bilinear(input1: Any, input2: Any, weight: Any, bias: Optional[Any] = None) -> Any:
    td = _td()
    lead = list(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    out = (td.matmul(x1, weight) * x2).sum(-1).t()  # (O, N, J) * (N, J) summed over J
    out = out.reshape(lead + [weight.shape[0]])
    return out if bias is None else out + bias


# ---- activations ----

def relu(input: Any, inplace: bool = False) -> Any:
    return input.relu_() if inplace else _td().relu(input)


def relu_(input: Any) -> Any:
    return input.relu_()


def _inplace(input: Any, out: Any, inplace: bool) -> Any:
    return input.copy_(out) if inplace else out


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    if inplace:
        return input.clamp_(min_val, max_val)
    return _C.call("hardtanh", (input, min_val, max_val))


def relu6(input: Any, inplace: bool = False) -> Any:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    return _inplace(input, _C.call("leaky_relu", (input, negative_slope)), inplace)


def prelu(input: Any, weight: Any) -> Any:
    return _C.call("prelu", (input, weight))


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    return _inplace(input, _C.call("elu", (input, alpha, 1.0, 1.0)), inplace)


def selu(input: Any, inplace: bool = False) -> Any:
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return _inplace(input, _C.call("elu", (input, alpha, scale, 1.0)), inplace)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _inplace(input, _C.call("elu", (input, alpha, 1.0, 1.0 / alpha)), inplace)


def gelu(input: Any, approximate: str = "none") -> Any:
    td = _td()
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (td.tanh(inner) + 1.0)
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    return input * 0.5 * (td.erf(input * (1.0 / math.sqrt(2.0))) + 1.0)


def silu(input: Any, inplace: bool = False) -> Any:
    out = input * _td().sigmoid(input)
    return input.copy_(out) if inplace else out


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    td = _td()
    scaled = input * beta
    big = scaled > threshold
    soft = td.log1p(td.exp(td.where(big, 0.0, scaled))) / beta
    return td.where(big, input, soft)


def mish(input: Any, inplace: bool = False) -> Any:
    return _inplace(input, _C.call("mish", (input,)), inplace)


def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    return _inplace(input, _C.call("hardsigmoid", (input,)), inplace)


def hardswish(input: Any, inplace: bool = False) -> Any:
    return _inplace(input, _C.call("hardswish", (input,)), inplace)


def glu(input: Any, dim: int = -1) -> Any:
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    return _C.call("glu", (input, dim))


def tanh(input: Any) -> Any:
    return _td().tanh(input)


def sigmoid(input: Any) -> Any:
    return _td().sigmoid(input)


def logsigmoid(input: Any) -> Any:
    return _C.call("log_sigmoid_forward", (input,))[0]


def softsign(input: Any) -> Any:
    return input / (_td().abs(input) + 1)


def tanhshrink(input: Any) -> Any:
    return input - _td().tanh(input)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Any:
    out = _td().where(input > threshold, input, value)
    return input.copy_(out) if inplace else out


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _td().softmax(input, dim)


def softmin(input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    return softmax(-input, dim, dtype=dtype)


def log_softmax(input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _td().log_softmax(input, dim)


def gumbel_softmax(logits: Any, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Any:
    """Samples from the Gumbel-softmax distribution; `hard` returns one-hot
    samples whose gradient is the soft sample's (straight through)."""
    td = _td()
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.")
    # -log(Exp(1)) ~ Gumbel(0, 1); Exp(1) drawn as -log(1 - U(0, 1)).
    uniforms = td.rand(tuple(logits.shape), dtype=logits.dtype, device=logits.device)
    exponentials = -td.log1p(-uniforms)
    gumbels = (logits - exponentials.log()) / tau
    y_soft = gumbels.softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = td.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ---- dropout ----

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(shape: Sequence[int], like: Any, p: float) -> Any:
    td = _td()
    keep = td.full(list(shape), 1.0 - p, dtype=like.dtype, device=like._device_str)
    return td.bernoulli(keep)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        out = input * (_dropout_mask(input.shape, input, p) / (1.0 - p))
    return input.copy_(out) if inplace else out


def _feature_dropout(input: Any, p: float, training: bool, inplace: bool, name: str,
                     batched_dim: int) -> Any:
    _check_p(p)
    if not training or p == 0.0:
        return input
    shape = list(input.shape[:2]) + [1] * (input.dim() - 2)
    if input.dim() == batched_dim - 1:  # unbatched: (C, ...) drops whole channels
        shape = [input.shape[0]] + [1] * (input.dim() - 1)
    if p == 1.0:
        out = input * 0.0
    else:
        out = input * (_dropout_mask(shape, input, p) / (1.0 - p))
    return input.copy_(out) if inplace else out


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    if input.dim() not in (2, 3):
        raise RuntimeError("dropout1d: Expected 2D or 3D input, but received a "
                           f"{input.dim()}D input. Note that dropout1d exists to provide channel-wise "
                           "dropout on inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, "dropout1d", 3)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    return _feature_dropout(input, p, training, inplace, "dropout2d", 4)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    return _feature_dropout(input, p, training, inplace, "dropout3d", 5)


# ---- sparse ----

def embedding(input: Any, weight: Any, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
    td = _td()
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < weight.size(0), "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -weight.size(0), "Padding_idx must be within num_embeddings"
            padding_idx = weight.size(0) + padding_idx
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("tensord: embedding(scale_grad_by_freq/sparse) is not supported")
    if input.dtype._name not in ("int64", "int32"):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following "
                           "scalar types: Long, Int; but got "
                           f"torch.{input.dtype._name.capitalize()}Tensor instead (while checking "
                           "arguments for embedding)")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    flat = input.reshape(-1)
    out = td.index_select(weight, 0, flat).reshape(list(input.shape) + [weight.shape[1]])
    if padding_idx is not None:
        # torch's backward leaves the padding row's gradient at zero.
        out = td.where((input == padding_idx).unsqueeze(-1), out.detach(), out)
    return out


def _embedding_renorm_(weight: Any, input: Any, max_norm: float, norm_type: float) -> None:
    td = _td()
    with no_grad():
        idx = td.unique(input.reshape(-1)) if hasattr(td, "unique") else input.reshape(-1)
        w = weight.detach()
        rows = td.index_select(w, 0, idx)
        norms = (td.abs(rows) ** norm_type).sum(1, keepdim=True) ** (1.0 / norm_type)
        scale = td.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w.index_copy_(0, idx, rows * scale)


def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    td = _td()
    if tensor.dtype._name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    elif tensor.numel() > 0:
        lo, hi = int(tensor.min().item()), int(tensor.max().item())
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = td.arange(num_classes, dtype=td.int64)
    return (tensor.unsqueeze(-1) == classes).long()


# ---- normalization ----

def layer_norm(input: Any, normalized_shape: Sequence[int], weight: Optional[Any] = None,
               bias: Optional[Any] = None, eps: float = 1e-5) -> Any:
    normalized_shape = tuple(normalized_shape)
    n = len(normalized_shape)
    if tuple(input.shape[input.dim() - n:]) != normalized_shape or input.dim() < n:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
            f"{list(input.shape)}")
    return _C.call("native_layer_norm", (input, list(normalized_shape), weight, bias, eps))[0]


def _verify_batch_size(size: Sequence[int]) -> None:
    count = 1
    for i, s in enumerate(size):
        if i != 1:
            count *= s
    if count == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{size}")


def batch_norm(input: Any, running_mean: Optional[Any], running_var: Optional[Any],
               weight: Optional[Any] = None, bias: Optional[Any] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """native_batch_norm; in training it updates running_mean/var in place."""
    if training:
        _verify_batch_size(input.shape)
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return _C.call("native_batch_norm", (input, weight, bias, running_mean, running_var, training,
                                         momentum, eps))[0]


def _verify_spatial_size(size: Sequence[int]) -> None:
    count = 1
    for s in size[2:]:
        count *= s
    if count == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{size}")


def instance_norm(input: Any, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,
                  weight: Optional[Any] = None, bias: Optional[Any] = None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """batch_norm over the input seen as (1, N * C, *); running stats are
    per-channel means of the N per-instance updates, as ATen's instance_norm."""
    if use_input_stats:
        _verify_spatial_size(input.shape)
    n, c = input.shape[0], input.shape[1]
    flat = input.reshape([1, n * c] + list(input.shape[2:]))
    rm = rv = None
    if running_mean is not None:
        rm = running_mean.detach().expand(n, c).reshape(-1).clone()
    if running_var is not None:
        rv = running_var.detach().expand(n, c).reshape(-1).clone()
    out = batch_norm(flat, rm, rv, None, None, use_input_stats, momentum, eps).reshape(input.shape)
    if use_input_stats:
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(rm.reshape(n, c).mean(0))
            if running_var is not None:
                running_var.copy_(rv.reshape(n, c).mean(0))
    shape = [1, c] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def group_norm(input: Any, num_groups: int, weight: Optional[Any] = None,
               bias: Optional[Any] = None, eps: float = 1e-5) -> Any:
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups={num_groups}")
    hxw = 1
    for s in input.shape[2:]:
        hxw *= s
    return _C.call("native_group_norm", (input, weight, bias, n, c, hxw, num_groups, eps))[0]


def _norm(x: Any, p: float, dim: int, keepdim: bool) -> Any:
    td = _td()
    if p == 2:
        return td.sqrt((x * x).sum(dim, keepdim=keepdim))
    if p == 1:
        return td.abs(x).sum(dim, keepdim=keepdim)
    return (td.abs(x) ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Any:
    td = _td()
    denom = _norm(input, p, dim, True)
    denom = td.where(denom < eps, eps, denom)
    return input / denom


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    td = _td()
    w12 = (x1 * x2).sum(dim)
    w1 = (x1 * x1).sum(dim)
    w2 = (x2 * x2).sum(dim)
    n12 = w1 * w2
    n12 = td.sqrt(td.where(n12 < eps * eps, eps * eps, n12))
    return w12 / n12


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Any:
    dim = -1 if max(x1.dim(), x2.dim()) > 0 else 0
    return _norm(x1 - x2 + eps, p, dim, keepdim)


# ---- losses ----

def _check_same_size(input: Any, target: Any, name: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}


def _enum(reduction: str) -> int:
    if reduction not in _REDUCTION_ENUM:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTION_ENUM[reduction]


def _broadcast_shape(a: Sequence[int], b: Sequence[int]) -> list:
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + list(a), [1] * (n - len(b)) + list(b)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return out


def _broadcast_pair(input: Any, target: Any) -> tuple:
    shape = _broadcast_shape(input.shape, target.shape)
    return input.expand(shape), target.expand(shape)


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Any:
    _check_same_size(input, target, "mse_loss")
    reduction = _reduction(size_average, reduce, reduction)
    return _C.call("mse_loss", (*_broadcast_pair(input, target), _enum(reduction)))


def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean") -> Any:
    _check_same_size(input, target, "l1_loss")
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(_td().abs(input - target), reduction)


def smooth_l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Any:
    _check_same_size(input, target, "smooth_l1_loss")
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _C.call("smooth_l1_loss", (*_broadcast_pair(input, target), _enum(reduction), beta))


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Any:
    _check_same_size(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _C.call("huber_loss", (*_broadcast_pair(input, target), _enum(reduction), delta))


def _class_view(t: Any, ndim: int) -> Any:
    """A per-class vector shaped to broadcast along dim 1 of an ndim input."""
    return t.reshape([1, -1] + [1] * (ndim - 2)) if ndim >= 2 else t


def nll_loss(input: Any, target: Any, weight: Optional[Any] = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Any:
    """nll_loss_forward for (C)/(N, C), nll_loss2d_forward otherwise (other
    ranks viewed as (N, C, 1, -1), as ATen's nll_loss_nd)."""
    reduction = _reduction(size_average, reduce, reduction)
    red = _enum(reduction)
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    batched = input.dim() >= 2
    if batched and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    if target.dtype._name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype._name.capitalize()}")
    n_classes = input.shape[1] if batched else input.shape[0]
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or "
                           f"no classes but got weight tensor of shape: {list(weight.shape)}")
    if input.dim() <= 2:
        return _C.call("nll_loss_forward", (input, target, weight, red, ignore_index))[0]
    if input.dim() == 4:
        return _C.call("nll_loss2d_forward", (input, target, weight, red, ignore_index))[0]
    n, c = input.shape[0], input.shape[1]
    out_size = [n] + list(input.shape[2:])
    if list(target.shape[1:]) != list(input.shape[2:]):
        raise RuntimeError(f"Expected target size {out_size}, got {list(target.shape)}")
    if input.numel() > 0:
        x, t = input.reshape(n, c, 1, -1), target.reshape(n, 1, -1)
    else:
        x, t = input.reshape(n, c, 0, 0), target.reshape(n, 0, 0)
    out = _C.call("nll_loss2d_forward", (x, t, weight, red, ignore_index))[0]
    return out.reshape(out_size) if red == 0 else out


def cross_entropy(input: Any, target: Any, weight: Optional[Any] = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 1 if input.dim() >= 2 else 0
    n_classes = input.shape[class_dim]
    logp = td.log_softmax(input, class_dim)
    if target.dtype.is_floating_point:  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            prod = prod * _class_view(weight, input.dim())
        loss = -prod.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // n_classes) if input.numel() else loss.sum() / 0.0
        return _reduce(loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    valid = target != ignore_index
    if weight is not None:
        smooth = -(logp * _class_view(weight, input.dim())).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = td.where(valid, smooth, 0.0)
    if reduction == "mean":
        if weight is not None:
            safe = td.where(valid, target, 0)
            wsum = (td.index_select(weight, 0, safe.reshape(-1)) * valid.reshape(-1).to(weight.dtype)).sum()
            ret = smooth.sum() / wsum
        else:
            ret = smooth.sum() / valid.sum()
    else:
        ret = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


def binary_cross_entropy(input: Any, target: Any, weight: Optional[Any] = None,
                         size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Any:
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same size.")
    if weight is not None:
        weight = weight.expand(_broadcast_shape(target.shape, weight.shape))
    return _C.call("binary_cross_entropy", (input, target, weight, _enum(reduction)))


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Optional[Any] = None,
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean", pos_weight: Optional[Any] = None) -> Any:
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    return _C.call("binary_cross_entropy_with_logits",
                   (input, target, weight, pos_weight, _enum(reduction)))


def kl_div(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Any:
    if size_average is not None or reduce is not None:
        reduction = _reduction_enum(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
    red = _enum("sum" if reduction == "batchmean" else reduction)
    reduced = _C.call("kl_div", (input, target, red), {"log_target": log_target})
    if reduction == "batchmean" and input.dim() != 0:
        reduced = reduced / input.shape[0]
    return reduced


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Any:
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _reduce(_td().relu(-target * (input1 - input2) + margin), reduction)


def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    eps = 1e-12
    dim = input1.dim() - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / td.sqrt(mag1 * mag2)
    pos = 1 - cos
    neg = td.relu(cos - margin)
    loss = td.where(target == 1, pos, 0.0) + td.where(target == -1, neg, 0.0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    margin_clamp = td.relu(margin - input)
    loss = td.where(target == 1, input, 0.0) + td.where(target == -1, margin_clamp, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Any:
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(softplus(-target * input), reduction)


def triplet_margin_loss(anchor: Any, positive: Any, negative: Any, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not (a_dim == p_dim == n_dim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a_dim}D, positive {p_dim}D, "
                           f"and negative {n_dim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = td.where(d_swap < d_neg, d_swap, d_neg)
    return _reduce(td.relu(d_pos - d_neg + margin), reduction)


def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = td.exp(input) - target * input
    else:
        loss = input - target * td.log(input + eps)
    if full:
        safe = td.where(target > 1, target, 2.0)
        stirling = safe * td.log(safe) - safe + 0.5 * td.log(safe * (2 * math.pi))
        loss = loss + td.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


# ---- convolution and pooling: the daemon's ops (tensord/_ext_nn_conv.py) ----

def _conv_family(name: str) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return getattr(_td(), name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


conv1d = _conv_family("conv1d")
conv2d = _conv_family("conv2d")
conv3d = _conv_family("conv3d")
conv_transpose1d = _conv_family("conv_transpose1d")
conv_transpose2d = _conv_family("conv_transpose2d")
conv_transpose3d = _conv_family("conv_transpose3d")
avg_pool1d = _conv_family("avg_pool1d")
avg_pool2d = _conv_family("avg_pool2d")
adaptive_avg_pool1d = _conv_family("adaptive_avg_pool1d")
adaptive_avg_pool2d = _conv_family("adaptive_avg_pool2d")


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _td().max_pool1d(input, kernel_size, stride if stride is not None else (), padding,
                            dilation, ceil_mode=ceil_mode, return_indices=return_indices)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _td().max_pool2d(input, kernel_size, stride if stride is not None else (), padding,
                            dilation, ceil_mode=ceil_mode, return_indices=return_indices)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    out = _td().adaptive_max_pool1d(input, output_size)
    return out if return_indices else out[0]


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    return _td().adaptive_max_pool2d(input, output_size, return_indices=return_indices)


# ---- embedding_bag, ctc_loss ----

def embedding_bag(input: Any, weight: Any, offsets: Optional[Any] = None,
                  max_norm: Optional[float] = None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights: Optional[Any] = None,
                  include_last_offset: bool = False, padding_idx: Optional[int] = None) -> Any:
    """Bags laid out as a padded (B, L) index matrix built here from offsets:
    one index_select of rows, then masked sum / mean, or a gather at the argmax."""
    td = _td()
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("tensord: embedding_bag(scale_grad_by_freq/sparse) is not supported")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({tuple(input.shape)})")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a "
                             "mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets).__name__}")
        b, length = input.shape
        starts = [i * length for i in range(b + 1)]
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = [int(o) for o in offsets.tolist()]
        if not include_last_offset:
            starts.append(input.shape[0])
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise AssertionError("padding_idx must be within the number of embeddings")
        padding_idx = padding_idx % n
    if max_norm is not None:
        _C.call("embedding_renorm_", (weight.detach(), input.reshape(-1), max_norm, norm_type))
    flat = input.reshape(-1)
    total = flat.shape[0]
    bags = len(starts) - 1
    ends = starts[1:]
    width = max([e - s for s, e in zip(starts, ends)] + [1])
    pos = np.full((bags, width), total, dtype=np.int64)  # `total` is a zero row appended below
    for i, (s, e) in enumerate(zip(starts, ends)):
        pos[i, :max(e - s, 0)] = np.arange(s, max(e, s))
    pos_t = td.tensor(pos, device=weight._device_str)
    safe = td.cat([flat, td.zeros(1, dtype=flat.dtype, device=flat._device_str)])
    idx = td.index_select(safe, 0, pos_t.reshape(-1)).reshape(bags, width)
    valid = td.tensor(pos < total, device=weight._device_str)
    if padding_idx is not None:
        valid = valid & (idx != padding_idx)
    rows = td.index_select(weight, 0, idx.reshape(-1)).reshape(bags, width, weight.shape[1])
    mask = valid.to(weight.dtype).unsqueeze(-1)
    count = valid.sum(1, keepdim=True).to(weight.dtype)
    if mode == "max":
        scored = td.where(valid.unsqueeze(-1), rows.detach(), -math.inf)
        arg = td.argmax(scored, 1, keepdim=True)
        best = td.gather(rows, 1, arg).squeeze(1)
        return td.where(count > 0, best, 0.0)
    if per_sample_weights is not None:
        psw = td.cat([per_sample_weights.reshape(-1),
                      td.zeros(1, dtype=per_sample_weights.dtype, device=weight._device_str)])
        mask = mask * td.index_select(psw, 0, pos_t.reshape(-1)).reshape(bags, width, 1)
    out = (rows * mask).sum(1)
    if mode == "mean":
        out = out / td.where(count > 0, count, 1.0)
    return out


def ctc_loss(log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Any:
    """_ctc_loss (which carries the gradient), reduced here as ATen's ctc_loss."""
    td = _td()

    def lengths(v: Any) -> list:
        return [int(x) for x in (v.tolist() if isinstance(v, Tensor) else v)]

    il, tl = lengths(input_lengths), lengths(target_lengths)
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        if targets.dim() == 1 and len(tl) == 1 and targets.shape[0] == tl[0]:
            targets = targets.unsqueeze(0)
    red = _enum(reduction)
    nll = _C.call("_ctc_loss", (log_probs, targets, il, tl, blank, zero_infinity))[0]
    if zero_infinity:
        nll = td.where(nll == math.inf, 0.0, nll)
    if red == 1:
        denom = td.tensor([max(t, 1) for t in tl], dtype=nll.dtype, device=nll._device_str)
        return (nll / denom).mean()
    if red == 2:
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll


# ---- attention: nn/_attention.py ----

from ._attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401
