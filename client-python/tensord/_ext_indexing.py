"""Python indexing: Tensor.__getitem__/__setitem__ and the indexing ops whose
Python signatures differ from the op (scatter's src/value, nonzero's
as_tuple, index_put's list of optional index tensors).

An index expression is applied as PyTorch does: ints, slices, None, Ellipsis
and Python bools become views (select/slice/unsqueeze), then the tensor
indices (int64 or bool masks) of what is left go to one `index` op (or
`index_put_` when assigning).
"""
from __future__ import annotations

import builtins
import operator
from typing import Any

from . import _C, _dtype

Tensor = _C.Tensor
_MASKS = (_dtype.bool, _dtype.uint8)


def _as_index_tensor(obj: Any) -> Any:
    from . import tensor
    t = tensor(obj)
    if t.dtype.is_floating_point:
        raise IndexError("tensors used as indices must be long, byte or bool tensors")
    return t


def _normalize(idx: Any) -> tuple[Any, ...]:
    if isinstance(idx, tuple):
        items = idx
    elif isinstance(idx, list) and any(
            isinstance(i, (slice, Tensor, list, tuple)) or i is None or i is Ellipsis for i in idx):
        items = tuple(idx)  # numpy's legacy reading of a list as a tuple
    else:
        items = (idx,)
    out = []
    for item in items:
        if isinstance(item, (list, tuple)) or type(item).__module__ == "numpy" and hasattr(item, "shape") \
                and getattr(item, "shape", ()) != ():
            item = _as_index_tensor(item)
        out.append(item)
    return tuple(out)


def _consumed(item: Any) -> int:
    if item is None or item is Ellipsis or isinstance(item, builtins.bool):
        return 0
    if isinstance(item, Tensor):
        return item.dim() if item.dtype in _MASKS else 1
    return 1


def _apply_basic(self: Any, idx: Any) -> tuple[Any, list[Any], list[int]]:
    """Applies the view part of an index; returns (view, index tensors, their dims)."""
    items = _normalize(idx)
    if builtins.sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    ndim = self.dim()
    consumed = builtins.sum(_consumed(i) for i in items)
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    t, d = self, 0
    tensors: list[Any] = []
    dims: list[int] = []
    for item in items:
        if isinstance(item, Tensor) and item.dim() == 0 and item.dtype not in _MASKS:
            if item.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, byte or bool tensors")
            item = builtins.int(item.item())
        elif isinstance(item, Tensor) and item.dim() == 0:
            item = builtins.bool(item.item())
        if item is None:
            t = _C.call("unsqueeze", (t, d))
            d += 1
        elif item is Ellipsis:
            d += ndim - consumed
        elif isinstance(item, builtins.bool):
            # As PyTorch: a new dim, indexed by [0] (True) or [] (False).
            from . import tensor
            t = _C.call("unsqueeze", (t, d))
            tensors.append(tensor([0] if item else [], dtype=_dtype.int64))
            dims.append(d)
            d += 1
        elif isinstance(item, slice):
            step = 1 if item.step is None else operator.index(item.step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start = None if item.start is None else operator.index(item.start)
            stop = None if item.stop is None else operator.index(item.stop)
            if start is not None or stop is not None or step != 1:
                t = _C.call("slice", (t, d, start, stop, step))
            d += 1
        elif isinstance(item, Tensor):
            if item.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, byte or bool tensors")
            if item.dtype not in _MASKS and item.dtype is not _dtype.int64:
                raise IndexError("tensors used as indices must be long, byte or bool tensors")
            tensors.append(item)
            dims.append(d)
            d += 1  # as PyTorch, even for a mask of several dims
        else:
            try:
                i = operator.index(item)
            except TypeError:
                raise IndexError(
                    "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                    "Variables are valid indices (got " + type(item).__name__ + ")") from None
            size = t.shape[d]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {size}")
            t = _C.call("select", (t, d, i))
    # A mask of k dims stands for k index tensors: later ones shift (at::index).
    shift, out_dims = 0, []
    for tensor_index, pos in zip(tensors, dims):
        out_dims.append(pos + shift)
        if tensor_index.dtype in _MASKS:
            shift += tensor_index.dim() - 1
    return t, tensors, out_dims


def getitem(self: Any, idx: Any) -> Any:
    if self.dim() == 0 and idx is not None and idx is not Ellipsis and not isinstance(idx, (tuple, builtins.bool)) \
            and not (isinstance(idx, Tensor) and idx.dtype in _MASKS):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    t, tensors, dims = _apply_basic(self, idx)
    if tensors:
        return _C.call("index", (t, tensors, dims))
    if t is self:
        t = _C.call("view", (self, list(self.shape)))  # x[...] / x[()] / x[:] alias self
    return t


def _value_for(t: Any, value: Any, convert: builtins.bool) -> Any:
    if isinstance(value, Tensor):
        v = value if value.dtype is t.dtype or not convert else value.to(t.dtype)
        while v.dim() > 0 and v.shape[0] == 1 and v.dim() > t.dim():
            v = _C.call("select", (v, 0, 0))  # PyTorch drops leading 1s of the value
        return v
    if isinstance(value, (builtins.bool, builtins.int, builtins.float)):
        return value
    from . import tensor
    return _value_for(t, tensor(value, dtype=t.dtype), convert)


def _is_masked_fill(tensors: list[Any], value: Any) -> builtins.bool:
    """PyTorch's index_put_ turns one mask and a one-element value into
    masked_fill_, which converts the value's dtype."""
    return len(tensors) == 1 and tensors[0].dtype in _MASKS and isinstance(value, Tensor) \
        and value.numel() == 1


def setitem(self: Any, idx: Any, value: Any) -> None:
    if idx is False:  # PyTorch's fast paths for a lone Python bool
        return
    if idx is True:
        t, tensors, dims = _C.call("unsqueeze", (self, 0)), [], []
    else:
        t, tensors, dims = _apply_basic(self, idx)
    # copy_ converts dtypes; index_put_ requires them to match (as in PyTorch).
    v = _value_for(t, value, convert=not tensors or _is_masked_fill(tensors, value))
    if tensors:
        _C.call("index_put_", (t, tensors, dims, v, False))
    elif isinstance(v, Tensor):
        t.copy_(v)
    else:
        t.fill_(v)


def _split_indices(indices: Any) -> tuple[list[Any], list[int]]:
    tensors, dims, d = [], [], 0
    for i in indices:
        if i is not None:
            tensors.append(i)
            dims.append(d)
        d += 1 if i is None or i.dtype not in _MASKS else i.dim()
    return tensors, dims


def index_put_(self: Any, indices: Any, values: Any, accumulate: builtins.bool = False) -> Any:
    tensors, dims = _split_indices(indices)
    if not tensors:
        return self.copy_(values) if isinstance(values, Tensor) else self.fill_(values)
    if _is_masked_fill(tensors, values) and not accumulate:
        values = values.to(self.dtype).reshape([])
    return _C.call("index_put_", (self, tensors, dims, values, accumulate))


def index_put(self: Any, indices: Any, values: Any, accumulate: builtins.bool = False) -> Any:
    tensors, dims = _split_indices(indices)
    if not tensors:
        return _C.call("clone", (self,)).copy_(values)
    return _C.call("index_put", (self, tensors, dims, values, accumulate))


def _scatter(op: str) -> Any:
    def fn(self: Any, dim: int, index: Any, src: Any = None, value: Any = None, *,
           reduce: str | None = None) -> Any:
        s = src if src is not None else value
        if s is None:
            raise TypeError(f"{op}() missing required argument 'src' or 'value'")
        return _C.call(op, (self, dim, index, s), {"reduce": reduce})
    fn.__name__ = op
    return fn


def nonzero(self: Any, *, as_tuple: builtins.bool = False) -> Any:
    if as_tuple and self.dim() == 0:
        self = _C.call("unsqueeze", (self, 0))  # as PyTorch: 0-d counts as [1]
    nz = _C.call("nonzero", (self,))
    return _C.call("unbind", (nz, 1)) if as_tuple else nz


def argwhere(self: Any) -> Any:
    return _C.call("nonzero", (self,))


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
    tensor_cls.__getitem__ = getitem
    tensor_cls.__setitem__ = setitem
    for name, fn in {"index_put_": index_put_, "index_put": index_put, "scatter": _scatter("scatter"),
                     "scatter_": _scatter("scatter_"), "nonzero": nonzero, "argwhere": argwhere}.items():
        setattr(tensor_cls, name, fn)
    for name in ("index_put", "scatter", "nonzero", "argwhere"):
        namespace[name] = getattr(tensor_cls, name)
