"""Python-side pieces of the reduction, scan and sort ops (installed by tensord/__init__.py).

PyTorch returns (values, indices) pairs as named structseqs
(torch.return_types.max, ...); `return_types` here gives tuple subclasses
with the same field names and repr. Python signatures that differ from the
ops (torch.max's three forms, torch.std(t, unbiased), torch.norm's 'fro',
torch.unique's optional results) are written out here.
"""
from __future__ import annotations

import builtins
import types
from typing import Any, Callable

from . import _C

_FIELDS = {
    "max": ("values", "indices"), "min": ("values", "indices"),
    "median": ("values", "indices"), "mode": ("values", "indices"),
    "sort": ("values", "indices"), "topk": ("values", "indices"),
    "kthvalue": ("values", "indices"), "cummax": ("values", "indices"),
    "cummin": ("values", "indices"), "aminmax": ("min", "max"),
}


def _return_type(name: str, fields: tuple[str, ...]) -> type:
    """A tuple subclass like torch.return_types.<name>: fields by name or position."""
    def __new__(cls: type, seq: Any) -> Any:
        seq = tuple(seq)
        if len(seq) != len(fields):
            raise TypeError(f"torch.return_types.{name} takes a {len(fields)}-sequence "
                            f"({len(seq)}-sequence given)")
        return tuple.__new__(cls, seq)

    def __repr__(self: Any) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in builtins.zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    def __reduce__(self: Any) -> Any:
        return (cls, (tuple(self),))

    ns: dict[str, Any] = {"__new__": __new__, "__repr__": __repr__, "__reduce__": __reduce__,
                          "__slots__": (), "n_fields": len(fields), "_fields": fields,
                          "__module__": "torch.return_types"}
    for i, f in enumerate(fields):
        ns[f] = property(lambda self, i=i: tuple.__getitem__(self, i))
    cls = type(name, (tuple,), ns)
    cls.__qualname__ = name
    return cls


return_types = types.SimpleNamespace(**{n: _return_type(n, f) for n, f in _FIELDS.items()})


def _is_tensor(x: Any) -> builtins.bool:
    return isinstance(x, _C.Tensor)


def _pair(name: str, op: str | None = None) -> Callable[..., Any]:
    """torch.<name>(...) calling op and wrapping its pair as return_types.<name>."""
    rt = getattr(return_types, name)
    op = op or name

    def fn(*args: Any, **kwargs: Any) -> Any:
        return rt(_C.call(op, args, kwargs))
    fn.__name__ = fn.__qualname__ = name
    return fn


def _extreme(name: str, binary: str | None, namespace: dict[str, Any]) -> Callable[..., Any]:
    """torch.max/min/median: (input) -> value, (input, dim, keepdim) -> (values,
    indices), and for max/min (input, other) -> the elementwise `binary` op."""
    rt = getattr(return_types, name)

    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        other = args[0] if args else kwargs.get("other")
        if binary is not None and _is_tensor(other):
            kwargs.pop("other", None)
            op = namespace.get(binary)
            if op is None:
                raise NotImplementedError(
                    f"[{name}] torch.{name}(input, other) is torch.{binary}, which this "
                    "tensord does not have")
            return op(input, other, *args[1:], **kwargs)
        if not args and kwargs.get("dim") is None:
            kwargs.pop("dim", None)
            if kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument "
                                f"'{next(iter(kwargs))}'")
            return _C.call(name, (input,))
        return rt(_C.call(name + "_dim", (input,) + args, kwargs))
    fn.__name__ = fn.__qualname__ = name
    return fn


def _moments(name: str) -> Callable[..., Any]:
    """std/var/std_mean/var_mean, also in the torch.std(input, unbiased) form."""
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], builtins.bool):
            if len(args) > 1:
                raise TypeError(f"{name}() received an invalid combination of arguments: "
                                "(Tensor input, bool unbiased) takes no more positional arguments")
            kwargs["unbiased"] = args[0]
            args = ()
        return _C.call(name, (input,) + args, kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False,
         out: Any = None, dtype: Any = None) -> Any:
    """torch.norm: vector norms; 'fro' is the 2-norm over at most two dims."""
    if out is not None:
        raise NotImplementedError("[norm] out= is not supported by tensord")
    if isinstance(dim, builtins.int):
        dim = [dim]
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("[norm] the nuclear norm is not supported by tensord")
        if p != "fro":
            raise RuntimeError(f"[norm] unsupported norm type {p!r}")
        if dim is not None and len(dim) > 2:
            raise RuntimeError(f"[norm] Expected at most 2 dimensions, but got {len(dim)} "
                               "dimensions instead.")
        if dtype is not None:
            raise ValueError("[norm] dtype argument is not supported in frobenius norm")
        if dim is not None and len(dim) == 2 and input.dtype._name == "float16":
            # PyTorch 1.13 computes 'fro' over two dims as sqrt(sum(x * x)).
            raise RuntimeError("[norm] \"sqrt_vml_cpu\" not implemented for 'Half'")
        p = 2
    return _C.call("norm", (input, p, dim, keepdim), {"dtype": dtype})


def unique(input: Any, sorted: builtins.bool = True, return_inverse: builtins.bool = False,
           return_counts: builtins.bool = False, dim: builtins.int | None = None) -> Any:
    """torch.unique: the sorted distinct values (always sorted, also for
    sorted=False), with the inverse indices and counts when asked."""
    values, inverse, counts = _C.call("unique_all", (input, sorted, return_inverse,
                                                     return_counts, dim))
    if return_inverse and return_counts:
        return values, inverse, counts
    if return_inverse:
        return values, inverse
    if return_counts:
        return values, counts
    return values


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """Adds Tensor methods / torch.* functions of this family."""
    funcs: dict[str, Callable[..., Any]] = {
        "max": _extreme("max", "maximum", namespace),
        "min": _extreme("min", "minimum", namespace),
        "median": _extreme("median", None, namespace),
        "std": _moments("std"), "var": _moments("var"),
        "std_mean": _moments("std_mean"), "var_mean": _moments("var_mean"),
        "norm": norm, "unique": unique,
    }
    for name in ("mode", "sort", "topk", "kthvalue", "cummax", "cummin", "aminmax"):
        funcs[name] = _pair(name)
    namespace.update(funcs)
    namespace["return_types"] = return_types
    for name, fn in funcs.items():
        if name not in ("std_mean", "var_mean"):
            setattr(tensor_cls, name, fn)
