"""PyTorch-compatible tensor printing, without torch.

``format_tensor`` renders a NumPy array exactly the way PyTorch 1.13 renders a
strided (dense) tensor in ``repr(t)`` / ``str(t)``: element formatting (int
mode, fixed and scientific notation), summarization with ``...``, line
wrapping and nested-dimension indentation, and the ``device=`` / ``dtype=`` /
``size=`` / ``requires_grad=`` / ``grad_fn=`` suffixes.

Print options mirror ``torch.set_printoptions``: a module-level
``PrintOptions`` instance is used whenever ``options`` is not given.

Only NumPy and the standard library are used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import numpy as np

__all__ = [
    "PrintOptions",
    "format_tensor",
    "get_printoptions",
    "set_printoptions",
]


# --------------------------------------------------------------------------
# Print options
# --------------------------------------------------------------------------


@dataclass
class PrintOptions:
    """Same fields and defaults as PyTorch's ``torch._tensor_str.PRINT_OPTS``."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


# profile name -> (precision, threshold, edgeitems, linewidth)
_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}

_current = PrintOptions()


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    """Same semantics as ``torch.set_printoptions``.

    A profile is applied first and explicit arguments override it; an unknown
    profile name is ignored (as in PyTorch).  ``sci_mode`` is always assigned,
    so omitting it resets it to ``None`` (automatic), again as PyTorch does.
    """
    opts = _current
    if profile is not None and profile in _PROFILES:
        opts.precision, opts.threshold, opts.edgeitems, opts.linewidth = _PROFILES[profile]
    if precision is not None:
        opts.precision = precision
    if threshold is not None:
        opts.threshold = threshold
    if edgeitems is not None:
        opts.edgeitems = edgeitems
    if linewidth is not None:
        opts.linewidth = linewidth
    opts.sci_mode = sci_mode


def get_printoptions() -> dict:
    """Current module-level options as a new dict (keys as in PrintOptions)."""
    return asdict(_current)


# --------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------

# canonical name -> (kind, numpy storage dtype used for formatting)
# kind: "f" floating, "c" complex, "i" integer, "b" bool
_DTYPES = {
    "float16": ("f", np.float64),
    "bfloat16": ("f", np.float64),
    "float32": ("f", np.float64),
    "float64": ("f", np.float64),
    "complex64": ("c", np.complex128),
    "complex128": ("c", np.complex128),
    "uint8": ("i", np.uint8),
    "int8": ("i", np.int8),
    "int16": ("i", np.int16),
    "int32": ("i", np.int32),
    "int64": ("i", np.int64),
    "bool": ("b", np.bool_),
}

_ALIASES = {
    "half": "float16",
    "float": "float32",
    "double": "float64",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "short": "int16",
    "int": "int32",
    "long": "int64",
    "bool_": "bool",
}


def _canon_dtype(name) -> str:
    s = str(name)
    if s.startswith("torch."):
        s = s[len("torch."):]
    s = _ALIASES.get(s, s)
    if s not in _DTYPES:
        raise ValueError(f"unsupported dtype for printing: {name!r}")
    return s


def _round_bfloat16(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), as float32."""
    f = np.array(a, dtype=np.float32, order="C", ndmin=1)
    bits = f.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    out = (bits & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(f), np.float32(np.nan), out).reshape(np.shape(a))


def _prepare(values, dtype: str) -> np.ndarray:
    """Bring values to what PyTorch formats (halves are upcast before printing)."""
    a = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore"):
        return _convert(a, dtype)


def _convert(a: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float16":
        return a.astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        return _round_bfloat16(a).astype(np.float64)
    if dtype == "float32":
        return a.astype(np.float32).astype(np.float64)
    if dtype == "complex64":
        return a.astype(np.complex64).astype(np.complex128)
    return a.astype(_DTYPES[dtype][1], copy=False)


def _canon_device(device) -> str:
    s = str(device)
    if s == "cuda":
        # A CUDA tensor always carries its index in PyTorch.
        s = "cuda:0"
    return s


# --------------------------------------------------------------------------
# Element formatter (one per tensor, or per real/imag part for complex)
# --------------------------------------------------------------------------


def _extremes(vals: np.ndarray) -> List[float]:
    """Values whose formatted width bounds every other value's width.

    The length of ``{:.Nf}`` grows monotonically with |v| within each sign,
    and the length of ``{:.Ne}`` depends on the exponent digit count, which is
    largest at an end of the magnitude range; so the smallest and largest
    value of each sign suffice.
    """
    out: List[float] = []
    for part in (vals[vals > 0], vals[vals < 0]):
        if part.size:
            out.append(float(part.min()))
            out.append(float(part.max()))
    return out


class _Formatter:
    def __init__(self, flat: np.ndarray, floating: bool, opts: PrintOptions):
        self.opts = opts
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        if not floating:
            if flat.size:
                if flat.dtype == np.bool_:
                    cands = [bool(x) for x in np.unique(flat)]
                else:
                    cands = [int(flat.min()), int(flat.max())]
                self.max_width = max(1, max(len(str(v)) for v in cands))
        else:
            vals = flat[np.isfinite(flat) & (flat != 0)]
            if vals.size == 0:
                # Nothing to infer a layout from (PyTorch also skips the
                # sci_mode override here).
                return
            absv = np.abs(vals)
            vmin = float(absv.min())
            vmax = float(absv.max())
            cands = _extremes(vals)
            prec = opts.precision

            self.int_mode = bool(np.all(vals == np.ceil(vals)))
            if self.int_mode:
                if vmax / vmin > 1000.0 or vmax > 1.0e8:
                    self.sci_mode = True
                    w = max(len("{:.{}e}".format(v, prec)) for v in cands)
                else:
                    # room for the trailing "." marking a float
                    w = max(len("{:.0f}".format(v)) + 1 for v in cands)
            else:
                if vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4:
                    self.sci_mode = True
                    w = max(len("{:.{}e}".format(v, prec)) for v in cands)
                else:
                    w = max(len("{:.{}f}".format(v, prec)) for v in cands)
            self.max_width = max(self.max_width, w)

        if opts.sci_mode is not None:
            self.sci_mode = opts.sci_mode

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            if self.sci_mode:
                s = "{:{}.{}e}".format(value, self.max_width, self.opts.precision)
            elif self.int_mode:
                s = "{:.0f}".format(value)
                if not (math.isinf(value) or math.isnan(value)):
                    s += "."
            else:
                s = "{:.{}f}".format(value, self.opts.precision)
        else:
            s = str(value)
        pad = self.max_width - len(s)
        return " " * pad + s if pad > 0 else s


def _format_complex(val: complex, f_re: _Formatter, f_im: _Formatter) -> str:
    re_s = f_re.format(val.real)
    im_s = (f_im.format(val.imag) + "j").lstrip()
    if im_s[0] in "+-":
        return re_s + im_s
    return re_s + "+" + im_s


# --------------------------------------------------------------------------
# Body layout
# --------------------------------------------------------------------------


def _summary_indices(n: int, edge: int, last_axis: bool):
    if n <= 2 * edge:
        return np.arange(n)
    if last_axis:
        # Same slicing as PyTorch (x[:e] and x[-e:]); note x[-0:] is everything.
        idx = np.arange(n)
        return np.concatenate((idx[:edge], idx[-edge:]))
    if edge <= 0:
        raise RuntimeError("stack expects a non-empty TensorList")
    return np.concatenate((np.arange(edge), np.arange(n - edge, n)))


def _summarized_flat(a: np.ndarray, edge: int) -> np.ndarray:
    """Flattened values that PyTorch's summary printing shows."""
    if a.ndim == 0:
        return a.reshape(-1)
    idx = [_summary_indices(n, edge, ax == a.ndim - 1) for ax, n in enumerate(a.shape)]
    return a[np.ix_(*idx)].reshape(-1)


class _Layout:
    def __init__(self, opts: PrintOptions, summarize: bool, fmt1: _Formatter,
                 fmt2: Optional[_Formatter]):
        self.opts = opts
        self.summarize = summarize
        self.fmt1 = fmt1
        self.fmt2 = fmt2

    def value(self, v) -> str:
        if self.fmt2 is not None:
            return _format_complex(v, self.fmt1, self.fmt2)
        return self.fmt1.format(v)

    def vector(self, a: np.ndarray, indent: int) -> str:
        opts = self.opts
        elem_len = self.fmt1.width() + 2
        if self.fmt2 is not None:
            elem_len += self.fmt2.width() + 1
        per_line = max(1, int(math.floor((opts.linewidth - indent) / elem_len)))

        e = opts.edgeitems
        if self.summarize and a.shape[0] > 2 * e:
            items = ([self.value(v) for v in a[:e].tolist()] + [" ..."]
                     + [self.value(v) for v in a[-e:].tolist()])
        else:
            items = [self.value(v) for v in a.tolist()]

        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"

    def render(self, a: np.ndarray, indent: int) -> str:
        if a.ndim == 0:
            return self.value(a.item())
        if a.ndim == 1:
            return self.vector(a, indent)
        n = a.shape[0]
        e = self.opts.edgeitems
        if self.summarize and n > 2 * e:
            rows = ([self.render(a[i], indent + 1) for i in range(e)] + ["..."]
                    + [self.render(a[i], indent + 1) for i in range(n - e, n)])
        else:
            rows = [self.render(a[i], indent + 1) for i in range(n)]
        sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
        return "[" + sep.join(rows) + "]"


def _body(a: np.ndarray, kind: str, indent: int, opts: PrintOptions) -> str:
    summarize = a.size > opts.threshold
    sample = _summarized_flat(a, opts.edgeitems) if summarize else a.reshape(-1)
    if kind == "c":
        fmt1 = _Formatter(np.ascontiguousarray(sample.real), True, opts)
        fmt2: Optional[_Formatter] = _Formatter(np.ascontiguousarray(sample.imag), True, opts)
    else:
        fmt1 = _Formatter(sample, kind == "f", opts)
        fmt2 = None
    return _Layout(opts, summarize, fmt1, fmt2).render(a, indent)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int, linewidth) -> str:
    parts = [text]
    last_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_len + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def format_tensor(
    values,
    *,
    dtype_name: str,
    device: str = "cpu",
    requires_grad: bool = False,
    grad_fn: Optional[str] = None,
    default_dtype_name: str = "float32",
    options: Optional[PrintOptions] = None,
) -> str:
    """Return what PyTorch 1.13 prints for a dense tensor holding ``values``.

    ``values`` is a NumPy array (any shape, including 0-d and empty).  For
    ``float16``/``bfloat16`` it may be given as float32; values are rounded to
    the tensor's dtype first, which is a no-op for values already of that dtype.
    ``dtype_name`` accepts ``"float32"``, ``"torch.float32"`` or aliases such as
    ``"float"``/``"long"``.  ``grad_fn`` is the node's class name, with or
    without the angle brackets.  ``device`` ``"cuda"`` is shown as ``cuda:0``.
    """
    opts = _current if options is None else options
    dtype = _canon_dtype(dtype_name)
    default = _canon_dtype(default_dtype_name)
    kind = _DTYPES[dtype][0]
    a = _prepare(values, dtype)

    prefix = "tensor("
    indent = len(prefix)
    suffixes: List[str] = []

    dev = _canon_device(device)
    if dev.split(":", 1)[0] != "cpu":
        suffixes.append("device='" + dev + "'")

    default_complex = "complex128" if default == "float64" else "complex64"
    if a.size == 0:
        # PyTorch shows the shape unless it is (0,), and always shows a
        # non-default dtype (int64 and bool included).
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(int(d) for d in a.shape)))
        if dtype != default:
            suffixes.append("dtype=torch." + dtype)
        body = "[]"
    else:
        if dtype not in (default, default_complex, "int64", "bool"):
            suffixes.append("dtype=torch." + dtype)
        body = _body(a, kind, indent, opts)

    if grad_fn:
        name = str(grad_fn)
        if name.startswith("<") and name.endswith(">"):
            name = name[1:-1]
        suffixes.append("grad_fn=<" + name + ">")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + body, suffixes, indent, opts.linewidth)
