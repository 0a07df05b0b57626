"""Python-side pieces of the shape ops (installed by tensord/__init__.py):
signatures that differ from the op (split, tensor_split, tile, meshgrid),
compositions (rot90, hstack/vstack) and the T/mT properties."""
from __future__ import annotations

import builtins
from typing import Any, Sequence

from . import _C


def _ints(args: Sequence[Any]) -> list[int]:
    """(2, 3) or ((2, 3),) as a list of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return [builtins.int(a) for a in args]


def view_as(self: Any, other: Any) -> Any:
    return _C.call("view", (self, list(other.shape)))


def expand_as(self: Any, other: Any) -> Any:
    return _C.call("expand", (self, list(other.shape)))


def split(self: Any, split_size_or_sections: Any, dim: int = 0) -> Any:
    if isinstance(split_size_or_sections, (list, tuple)):
        return _C.call("split_with_sizes", (self, list(split_size_or_sections), dim))
    return _C.call("split", (self, split_size_or_sections, dim))


def tensor_split(self: Any, indices_or_sections: Any, dim: int = 0) -> Any:
    ios = indices_or_sections
    if isinstance(ios, _C.Tensor):
        if ios.dim() > 1 or ios.dtype.is_floating_point:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                               "or one-dimensional tensor, but got a tensor with "
                               f"{ios.dim()} dims")
        ios = ios.item() if ios.dim() == 0 else ios.tolist()
    if isinstance(ios, (list, tuple)):
        return _C.call("tensor_split", (self, list(ios), dim))
    return _C.call("tensor_split", (self, None, dim), {"sections": ios})


def _split_along(name: str, dim_of: Any, min_dim: int) -> Any:
    def fn(self: Any, indices_or_sections: Any) -> Any:
        if self.dim() < min_dim:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, "
                               f"but got a tensor with {self.dim()} dimensions!")
        return tensor_split(self, indices_or_sections, dim_of(self))
    fn.__name__ = name
    return fn


def tile(self: Any, *dims: Any) -> Any:
    reps = _ints(dims)
    if len(reps) < self.dim():
        reps = [1] * (self.dim() - len(reps)) + reps
    return _C.call("repeat", (self, reps))


def rot90(self: Any, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if self.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.dim()}")
    n = self.dim()
    d0, d1 = dims[0] % n if -n <= dims[0] < n else dims[0], dims[1] % n if -n <= dims[1] < n else dims[1]
    if d0 == d1 or abs(dims[0] - dims[1]) == n:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return _C.call("transpose", (_C.call("flip", (self, [dims[1]])), dims[0], dims[1]))
    if k == 2:
        return _C.call("flip", (self, dims))
    if k == 3:
        return _C.call("transpose", (_C.call("flip", (self, [dims[0]])), dims[0], dims[1]))
    return _C.call("clone", (self,))


def _tensors(args: Sequence[Any]) -> list[Any]:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def atleast_1d(*tensors: Any) -> Any:
    ts = [t if t.dim() >= 1 else _C.call("view", (t, [1])) for t in _tensors(tensors)]
    return ts[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else tuple(ts)


def atleast_2d(*tensors: Any) -> Any:
    out = []
    for t in _tensors(tensors):
        if t.dim() == 0:
            t = _C.call("view", (t, [1, 1]))
        elif t.dim() == 1:
            t = _C.call("unsqueeze", (t, 0))
        out.append(t)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else tuple(out)


def hstack(tensors: Sequence[Any]) -> Any:
    ts = [atleast_1d(t) for t in tensors]
    if not ts:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return _C.call("cat", (ts, 0 if ts[0].dim() == 1 else 1))


def vstack(tensors: Sequence[Any]) -> Any:
    ts = [atleast_2d(t) for t in tensors]
    if not ts:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return _C.call("cat", (ts, 0))


def meshgrid(*tensors: Any, indexing: str = "ij") -> Any:
    ts = _tensors(tensors)
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.dim()}D")
    for t in ts[1:]:
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0] + list(range(2, len(ts))) if swap else list(range(len(ts)))
    grid = [ts[i].numel() for i in order]
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        shape = [1] * len(ts)
        shape[pos] = -1
        out.append(_C.call("expand", (_C.call("reshape", (t, shape)), grid)))
    return tuple(out)


def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Any:
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated
        from . import arange
        r = input
        idx = arange(r.numel(), dtype=r.dtype)
        return _C.call("repeat_interleave", (idx, r, 0), {"output_size": output_size})
    return _C.call("repeat_interleave", (input, repeats, dim), {"output_size": output_size})


def _mT(self: Any) -> Any:
    if self.dim() < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.dim()}-D tensor.")
    return _C.call("transpose", (self, -2, -1))


def _T(self: Any) -> Any:
    return _C.call("permute", (self, list(range(self.dim() - 1, -1, -1))))


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
    methods = {
        "view_as": view_as, "expand_as": expand_as, "split": split, "tensor_split": tensor_split,
        "tile": tile, "rot90": rot90, "repeat_interleave": repeat_interleave,
        "hsplit": _split_along("hsplit", lambda t: 0 if t.dim() == 1 else 1, 1),
        "vsplit": _split_along("vsplit", lambda t: 0, 2),
        "dsplit": _split_along("dsplit", lambda t: 2, 3),
    }
    for name, fn in methods.items():
        setattr(tensor_cls, name, fn)
        namespace[name] = fn
    del namespace["view_as"], namespace["expand_as"]
    namespace.update({
        "hstack": hstack, "vstack": vstack, "meshgrid": meshgrid, "atleast_1d": atleast_1d,
        "atleast_2d": atleast_2d, "concat": namespace["cat"],
    })
    tensor_cls.T = property(_T)
    tensor_cls.mT = property(_mT)
