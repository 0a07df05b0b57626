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

from .. import _C
from .._autograd import no_grad

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


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    td = _td()
    if inplace:
        return input.clamp_(min_val, max_val)
    return td.where(input < min_val, min_val, td.where(input > max_val, max_val, input))


def relu6(input: Any, inplace: bool = False) -> Any:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    td = _td()
    out = td.where(input > 0, input, input * negative_slope)
    return input.copy_(out) if inplace else out


def prelu(input: Any, weight: Any) -> Any:
    td = _td()
    if weight.numel() != 1 and input.dim() >= 2:
        shape = [1] * input.dim()
        shape[1] = weight.numel()
        weight = weight.reshape(shape)
    return td.where(input > 0, input, input * weight)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    td = _td()
    neg = td.where(input > 0, 0.0, input)
    out = td.where(input > 0, input, td.expm1(neg) * alpha)
    return input.copy_(out) if inplace else out


def selu(input: Any, inplace: bool = False) -> Any:
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    td = _td()
    neg = td.where(input > 0, 0.0, input)
    out = td.where(input > 0, input * scale, td.expm1(neg) * (alpha * scale))
    return input.copy_(out) if inplace else out


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    td = _td()
    neg = td.where(input > 0, 0.0, input)
    out = td.where(input > 0, input, td.expm1(neg / alpha) * alpha)
    return input.copy_(out) if inplace else out


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
    out = input * _td().tanh(softplus(input))
    return input.copy_(out) if inplace else out


def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    out = hardtanh(input + 3.0, 0.0, 6.0) / 6.0
    return input.copy_(out) if inplace else out


def hardswish(input: Any, inplace: bool = False) -> Any:
    out = input * hardtanh(input + 3.0, 0.0, 6.0) / 6.0
    return input.copy_(out) if inplace else out


def tanh(input: Any) -> Any:
    return _td().tanh(input)


def sigmoid(input: Any) -> Any:
    return _td().sigmoid(input)


def logsigmoid(input: Any) -> Any:
    return -softplus(-input)


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

def _var_mean(x: Any, dims: list) -> tuple:
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    return (centered * centered).mean(dims, keepdim=True), mean, centered


def layer_norm(input: Any, normalized_shape: Sequence[int], weight: Optional[Any] = None,
               bias: Optional[Any] = None, eps: float = 1e-5) -> Any:
    td = _td()
    normalized_shape = tuple(normalized_shape)
    n = len(normalized_shape)
    if tuple(input.shape[input.dim() - n:]) != normalized_shape or input.dim() < n:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
            f"{list(input.shape)}")
    dims = list(range(input.dim() - n, input.dim()))
    var, _, centered = _var_mean(input, dims)
    out = centered * td.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input: Any, running_mean: Optional[Any], running_var: Optional[Any],
               weight: Optional[Any] = None, bias: Optional[Any] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Any:
    td = _td()
    if training:
        size = input.numel() // input.shape[1]
        if size == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
    shape = [1, input.shape[1]] + [1] * (input.dim() - 2)
    dims = [0] + list(range(2, input.dim()))
    if training or running_mean is None or running_var is None:
        var, mean, centered = _var_mean(input, dims)
        if training and running_mean is not None and running_var is not None:
            n = input.numel() // input.shape[1]
            with no_grad():
                m = mean.detach().reshape(-1)
                v = var.detach().reshape(-1) * (n / max(n - 1, 1))
                running_mean.mul_(1.0 - momentum).add_(m * momentum)
                running_var.mul_(1.0 - momentum).add_(v * momentum)
        out = centered * td.rsqrt(var + eps)
    else:
        out = (input - running_mean.reshape(shape)) * td.rsqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def instance_norm(input: Any, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,
                  weight: Optional[Any] = None, bias: Optional[Any] = None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    td = _td()
    dims = list(range(2, input.dim()))
    var, _, centered = _var_mean(input, dims)
    out = centered * td.rsqrt(var + eps)
    shape = [1, input.shape[1]] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def group_norm(input: Any, num_groups: int, weight: Optional[Any] = None,
               bias: Optional[Any] = None, eps: float = 1e-5) -> Any:
    td = _td()
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    var, _, centered = _var_mean(grouped, [2])
    out = (centered * td.rsqrt(var + eps)).reshape(input.shape)
    shape = [1, c] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


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


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Any:
    td = _td()
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length too large")
    if mode != "constant":
        raise NotImplementedError(f"tensord: pad(mode='{mode}') is not supported yet")
    value = 0.0 if value is None else value
    out = input
    for i in range(len(pad) // 2):
        dim = input.dim() - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left < 0:
            out = out.narrow(dim, -left, out.shape[dim] + left)
        if right < 0:
            out = out.narrow(dim, 0, out.shape[dim] + right)
        pieces = []
        for amount in (left, None, right):
            if amount is None:
                pieces.append(out)
            elif amount > 0:
                shape = list(out.shape)
                shape[dim] = amount
                pieces.append(td.full(shape, value, dtype=out.dtype, device=out._device_str))
        if len(pieces) > 1:
            out = td.cat(pieces, dim)
    return out


# ---- losses ----

def _check_same_size(input: Any, target: Any, name: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Any:
    _check_same_size(input, target, "mse_loss")
    reduction = _reduction(size_average, reduce, reduction)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean") -> Any:
    _check_same_size(input, target, "l1_loss")
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(_td().abs(input - target), reduction)


def smooth_l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Any:
    td = _td()
    _check_same_size(input, target, "smooth_l1_loss")
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = td.abs(input - target)
    if beta == 0.0:
        return _reduce(d, reduction)
    return _reduce(td.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Any:
    td = _td()
    _check_same_size(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = td.abs(input - target)
    return _reduce(td.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta), reduction)


def _class_view(t: Any, ndim: int) -> Any:
    """A per-class vector shaped to broadcast along dim 1 of an ndim input."""
    return t.reshape([1, -1] + [1] * (ndim - 2)) if ndim >= 2 else t


def nll_loss(input: Any, target: Any, weight: Optional[Any] = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
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
    valid = target != ignore_index
    safe_target = td.where(valid, target, 0)
    class_dim = 1 if batched else 0
    picked = -td.gather(input, class_dim, safe_target.unsqueeze(class_dim)).squeeze(class_dim)
    w = valid.to(input.dtype)
    if weight is not None:
        w = w * td.index_select(weight, 0, safe_target.reshape(-1)).reshape(safe_target.shape)
    loss = picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / w.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


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
            ret = smooth.mean()
    else:
        ret = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


def _log_clamped(x: Any) -> Any:
    td = _td()
    lx = td.log(x)
    return td.where(lx < -100.0, -100.0, lx)


def binary_cross_entropy(input: Any, target: Any, weight: Optional[Any] = None,
                         size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Any:
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same size.")
    loss = -(target * _log_clamped(input) + (1 - target) * _log_clamped(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Optional[Any] = None,
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean", pos_weight: Optional[Any] = None) -> Any:
    td = _td()
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    softplus_neg = td.log1p(td.exp(-td.abs(input))) + td.relu(-input)  # log(1 + exp(-x))
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Any:
    td = _td()
    if size_average is not None or reduce is not None:
        reduction = _reduction_enum(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
    if log_target:
        loss = td.exp(target) * (target - input)
    else:
        pos = target > 0
        safe = td.where(pos, target, 1.0)
        loss = td.where(pos, target * td.log(safe), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() != 0 else loss.sum()
    return _reduce(loss, reduction)


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
