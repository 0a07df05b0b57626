"""Compare tensord._format.format_tensor with real PyTorch printing.

Run with:  /usr/bin/python3 -m pytest tests/python/test_format.py -q
(Debian's torch 1.13 is the reference.)  Cases needing torch are skipped,
with the reason shown, when torch cannot be imported.
"""

import importlib.util
import math
import random
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

# Load the module by path: importing the tensord package would pull in the
# compiled extension.
_FORMAT_PATH = Path(__file__).resolve().parents[2] / "client-python" / "tensord" / "_format.py"
_spec = importlib.util.spec_from_file_location("_tensord_format_under_test", _FORMAT_PATH)
fmt = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fmt  # dataclasses need the module registered
_spec.loader.exec_module(fmt)
format_tensor = fmt.format_tensor
PrintOptions = fmt.PrintOptions

try:
    import torch
    _TORCH_ERR = None
except Exception as exc:  # pragma: no cover - depends on the machine
    torch = None
    _TORCH_ERR = f"{type(exc).__name__}: {exc}"

needs_torch = pytest.mark.skipif(
    torch is None, reason=f"reference PyTorch not importable ({_TORCH_ERR})"
)

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
          "int8", "uint8", "bool", "complex64", "complex128"]
FLOATS = {"float32", "float64", "float16", "bfloat16"}
COMPLEX = {"complex64", "complex128"}
INT_RANGES = {
    "uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767),
    "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1),
}


# --------------------------------------------------------------------------
# Reference helpers
# --------------------------------------------------------------------------


class _TorchState:
    """Apply print options / default dtype to torch, restore afterwards."""

    def __init__(self, opts, default_dtype):
        self.opts = opts
        self.default_dtype = default_dtype

    def __enter__(self):
        self.saved_dtype = torch.get_default_dtype()
        torch.set_default_dtype(getattr(torch, self.default_dtype))
        o = self.opts
        torch.set_printoptions(precision=o.precision, threshold=o.threshold,
                               edgeitems=o.edgeitems, linewidth=o.linewidth,
                               sci_mode=o.sci_mode)

    def __exit__(self, *exc):
        torch.set_printoptions(profile="default")
        torch.set_default_dtype(self.saved_dtype)


def _numpy_values(t):
    """What a tensord client would hold: float32 for the half types."""
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()


def _torch_repr(t, opts, default_dtype="float32"):
    with _TorchState(opts, default_dtype):
        r = repr(t)
        assert str(t) == r
        return r


def _check(t, opts, default_dtype="float32", grad_fn=None, values=None):
    expected = _torch_repr(t, opts, default_dtype)
    got = format_tensor(
        _numpy_values(t) if values is None else values,
        dtype_name=str(t.dtype),
        requires_grad=t.requires_grad,
        grad_fn=grad_fn,
        default_dtype_name=default_dtype,
        options=opts,
    )
    assert got == expected, f"\n--- torch ---\n{expected}\n--- format_tensor ---\n{got}"


# --------------------------------------------------------------------------
# Random case generation
# --------------------------------------------------------------------------

FLOAT_KINDS = ["normal", "wide", "whole", "whole_big", "tiny", "special", "zeros",
               "nonfinite", "rounding", "huge_range", "unit"]


def _float_values(rng, kind, n):
    if kind == "normal":
        return rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6)
    if kind == "wide":
        return rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-20, 20, n)
    if kind == "whole":
        return rng.integers(-2000, 2000, n).astype(np.float64)
    if kind == "whole_big":
        return rng.integers(-50, 50, n) * 10.0 ** rng.integers(0, 12)
    if kind == "tiny":
        return rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-9, -3)
    if kind == "zeros":
        return rng.choice([0.0, -0.0], n)
    if kind == "nonfinite":
        return rng.choice([np.nan, np.inf, -np.inf, 0.0], n)
    if kind == "rounding":
        base = rng.choice([9.99995, 0.99995, 99.999951, 9.99999e7, 1e-4, 0.00010001,
                           1000.0, 999.9999, 1e8, 100000001.0, 0.5, 2.5], n)
        return base * rng.choice([1.0, -1.0], n)
    if kind == "huge_range":
        return rng.choice([1e-300, 1e300, -1e-120, 3.5e250, 1.0, -2.5e-200, 7.0], n)
    if kind == "unit":
        return rng.uniform(-1, 1, n)
    # "special": a mix with non-finite values and zeros sprinkled in
    v = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 5)
    if rng.random() < 0.5:
        v = np.round(v)
    mask = rng.random(n)
    v[mask < 0.1] = np.nan
    v[(mask >= 0.1) & (mask < 0.17)] = np.inf
    v[(mask >= 0.17) & (mask < 0.22)] = -np.inf
    v[(mask >= 0.22) & (mask < 0.3)] = 0.0
    return v


def _int_values(rng, dtype, n):
    lo, hi = INT_RANGES[dtype]
    if rng.random() < 0.5:
        lo, hi = max(lo, -100), min(hi, 100)
    return rng.integers(lo, hi, n, endpoint=True, dtype=np.int64 if dtype != "uint8" else np.uint8)


def _random_shape(rng):
    r = rng.random()
    if r < 0.08:
        return ()
    if r < 0.16:  # empty, any rank
        nd = int(rng.integers(1, 5))
        shape = [int(rng.integers(0, 4)) for _ in range(nd)]
        shape[int(rng.integers(0, nd))] = 0
        return tuple(shape)
    if r < 0.28:  # large enough to summarize by default
        big = [(1001,), (2000,), (33, 40), (5, 7, 30), (2, 3, 11, 17),
               (1, 1001), (1001, 1), (7, 7, 7, 7), (3, 400), (400, 3)]
        return big[int(rng.integers(0, len(big)))]
    nd = int(rng.integers(1, 5))
    dims = [int(rng.integers(1, 7)) for _ in range(nd)]
    if rng.random() < 0.4:
        dims[-1] = int(rng.integers(5, 40))  # long rows -> line wrapping
    return tuple(dims)


def _random_options(rng):
    if rng.random() < 0.45:
        return PrintOptions()
    if rng.random() < 0.2:
        o = PrintOptions()
        name = str(rng.choice(["short", "full", "default"]))
        o.precision, o.threshold, o.edgeitems, o.linewidth = fmt._PROFILES[name]
        return o
    return PrintOptions(
        precision=int(rng.integers(0, 9)),
        threshold=[3, 10, 50, 1000, math.inf][int(rng.integers(0, 5))],
        edgeitems=int(rng.integers(1, 5)),
        linewidth=[20, 40, 60, 80, 120, 200][int(rng.integers(0, 6))],
        sci_mode=[None, None, True, False][int(rng.integers(0, 4))],
    )


def _make_case(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    shape = _random_shape(rng)
    n = int(np.prod(shape, dtype=np.int64))
    kind = None
    if dtype in FLOATS or dtype in COMPLEX:
        kind = FLOAT_KINDS[int(rng.integers(0, len(FLOAT_KINDS)))]
        vals = _float_values(rng, kind, n)
        if dtype in COMPLEX:
            kind2 = FLOAT_KINDS[int(rng.integers(0, len(FLOAT_KINDS)))]
            cvals = np.empty(n, dtype=np.complex128)
            cvals.real = vals
            cvals.imag = _float_values(rng, kind2, n)
            vals = cvals
            kind = f"{kind}+{kind2}j"
    elif dtype == "bool":
        vals = rng.random(n) < 0.5
    else:
        vals = _int_values(rng, dtype, n)
    opts = _random_options(rng)
    default_dtype = "float64" if rng.random() < 0.15 else "float32"
    grad = None
    if dtype in FLOATS or dtype in COMPLEX:
        grad = [None, None, None, "requires_grad", "grad_fn"][int(rng.integers(0, 5))]
    return dtype, shape, kind, np.asarray(vals).reshape(shape), opts, default_dtype, grad


N_RANDOM = 900


@needs_torch
@pytest.mark.parametrize("seed", range(N_RANDOM))
def test_random_against_torch(seed):
    dtype, shape, kind, vals, opts, default_dtype, grad = _make_case(seed)
    t = torch.from_numpy(np.ascontiguousarray(vals)).to(getattr(torch, dtype))
    grad_fn = None
    if grad is not None:
        t.requires_grad_(True)
        if grad == "grad_fn":
            t = t.clone()
            grad_fn = type(t.grad_fn).__name__  # CloneBackward0
    _check(t, opts, default_dtype, grad_fn=grad_fn)


# --------------------------------------------------------------------------
# Targeted cases
# --------------------------------------------------------------------------

TARGETED = [
    ("1-d float", lambda: torch.tensor([1.0, 2.0, 3.0])),
    ("fraction", lambda: torch.tensor([1.5, -2.25, 3.125])),
    ("scalar", lambda: torch.tensor(3.5)),
    ("scalar int", lambda: torch.tensor(7)),
    ("scalar bool", lambda: torch.tensor(False)),
    ("scalar nan", lambda: torch.tensor(float("nan"))),
    ("scalar -inf", lambda: torch.tensor(float("-inf"))),
    ("scalar neg zero", lambda: torch.tensor(-0.0)),
    ("scalar f16", lambda: torch.tensor(0.1, dtype=torch.float16)),
    ("scalar bf16", lambda: torch.tensor(1e10, dtype=torch.bfloat16)),
    ("scalar sci", lambda: torch.tensor(1e-7)),
    ("int32", lambda: torch.tensor([1, 2], dtype=torch.int32)),
    ("int64", lambda: torch.tensor([1, -2, 300])),
    ("uint8", lambda: torch.arange(250, 256, dtype=torch.uint8)),
    ("int8", lambda: torch.tensor([-128, 127, 0], dtype=torch.int8)),
    ("int16", lambda: torch.tensor([[-32768], [5]], dtype=torch.int16)),
    ("int64 extremes", lambda: torch.tensor([-2**63, 2**63 - 1])),
    ("bool", lambda: torch.tensor([True, False])),
    ("bool all true", lambda: torch.ones(3, 4, dtype=torch.bool)),
    ("empty", lambda: torch.tensor([])),
    ("empty 2d", lambda: torch.zeros(0, 3)),
    ("empty int", lambda: torch.zeros(0, dtype=torch.int64)),
    ("empty bool 3d", lambda: torch.zeros(2, 0, 1, dtype=torch.bool)),
    ("empty f64", lambda: torch.zeros(0, dtype=torch.float64)),
    ("empty f16 2d", lambda: torch.zeros(1, 0, dtype=torch.float16)),
    ("nan inf", lambda: torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])),
    ("nan inf frac", lambda: torch.tensor([float("nan"), -float("inf"), 1.25])),
    ("zeros nan", lambda: torch.tensor([0.0, float("nan"), -0.0])),
    ("whole sci", lambda: torch.tensor([1.0, 1e5])),
    ("big whole", lambda: torch.tensor([1e9, 2.0])),
    ("tiny", lambda: torch.tensor([1e-5, 0.5])),
    ("ratio 1000", lambda: torch.tensor([1.0, 1000.0, 0.5])),
    ("ratio over", lambda: torch.tensor([1.0, 1000.5, 0.5])),
    ("ratio exactly 1000", lambda: torch.tensor([0.5, 500.0, 3.25])),
    ("ratio just over", lambda: torch.tensor([0.5, 500.25])),
    ("whole ratio exactly 1000", lambda: torch.tensor([1.0, 1000.0, -7.0])),
    ("whole ratio over", lambda: torch.tensor([1.0, 1001.0])),
    ("whole max 1e8", lambda: torch.tensor([1e8, 2e5], dtype=torch.float64)),
    ("whole max over 1e8", lambda: torch.tensor([100000001.0, 2e5], dtype=torch.float64)),
    ("min exactly 1e-4", lambda: torch.tensor([1e-4, 0.05], dtype=torch.float64)),
    ("threshold boundary", lambda: torch.arange(1000.0) / 4),
    ("float64", lambda: torch.tensor([1.0, 2.5], dtype=torch.float64)),
    ("float64 3-digit exp", lambda: torch.tensor([1e-300, 1e300, -5.0], dtype=torch.float64)),
    ("float16", lambda: torch.tensor([1.0, 0.1, 65504.0], dtype=torch.float16)),
    ("float16 overflow", lambda: torch.tensor([1e5, -1.0], dtype=torch.float16)),
    ("bfloat16", lambda: torch.tensor([1.0, 0.1, 3e38], dtype=torch.bfloat16)),
    ("arange 2000", lambda: torch.arange(2000)),
    ("arange f 1001", lambda: torch.arange(1001.0)),
    ("randn 40x40", lambda: torch.randn(40, 40, generator=torch.Generator().manual_seed(0))),
    ("linspace 3d", lambda: torch.linspace(-5, 5, 3 * 20 * 20).reshape(3, 20, 20)),
    ("4d", lambda: torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5) / 7),
    ("4d big", lambda: torch.arange(8 * 8 * 8 * 8).reshape(8, 8, 8, 8)),
    ("wrap long row", lambda: torch.arange(100.0) * 1.5),
    ("wrap int", lambda: torch.arange(-50, 50).reshape(2, 50)),
    ("complex", lambda: torch.tensor([1 + 2j, -3.5 - 1e-5j])),
    ("complex scalar", lambda: torch.tensor(-0.5 + 0j)),
    ("complex128", lambda: torch.tensor([[1 + 1j, 2 - 2j]], dtype=torch.complex128)),
]


@needs_torch
@pytest.mark.parametrize("name,make", TARGETED, ids=[c[0] for c in TARGETED])
@pytest.mark.parametrize("opts", [
    PrintOptions(),
    PrintOptions(precision=2, edgeitems=2),
    PrintOptions(precision=6, linewidth=40, sci_mode=True),
    PrintOptions(threshold=10, edgeitems=1, linewidth=120, sci_mode=False),
], ids=["default", "short", "sci", "nosci"])
def test_targeted_against_torch(name, make, opts):
    _check(make(), opts)


@needs_torch
@pytest.mark.parametrize("default_dtype", ["float32", "float64"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_default_dtype_suffix(dtype, default_dtype):
    with _TorchState(PrintOptions(), default_dtype):
        full = torch.ones(2, dtype=getattr(torch, dtype))
        empty = torch.ones(0, dtype=getattr(torch, dtype))
    _check(full, PrintOptions(), default_dtype)
    _check(empty, PrintOptions(), default_dtype)


@needs_torch
@pytest.mark.parametrize("linewidth", [10, 30, 45, 50, 60, 80])
def test_suffix_wrapping(linewidth):
    opts = PrintOptions(linewidth=linewidth)
    base = torch.arange(12, dtype=torch.float16).reshape(3, 4) / 3
    t = base.clone().requires_grad_(True)
    _check(t, opts)
    u = t * 2
    _check(u, opts, grad_fn=type(u.grad_fn).__name__)
    _check(torch.arange(30, dtype=torch.int16), opts)


@needs_torch
def test_grad_fn_variants():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a + 1
    for name in ("AddBackward0", "<AddBackward0>"):
        assert format_tensor(_numpy_values(b), dtype_name="float32", grad_fn=name) == repr(b)
    s = b.sum()
    assert format_tensor(_numpy_values(s), dtype_name="torch.float32",
                         grad_fn=type(s.grad_fn).__name__) == repr(s)


@needs_torch
def test_edgeitems_zero():
    opts = PrintOptions(threshold=5, edgeitems=0)
    _check(torch.arange(10), opts)
    with _TorchState(opts, "float32"):
        with pytest.raises(RuntimeError):
            repr(torch.arange(20).reshape(4, 5))
    with pytest.raises(RuntimeError):
        format_tensor(np.arange(20).reshape(4, 5), dtype_name="int64", options=opts)


@needs_torch
def test_half_values_given_unrounded():
    """float32 values not representable in the half type are rounded first."""
    raw = np.array([0.1, 1 / 3, 1e-8, 70000.0, np.nan, 1.00390625], dtype=np.float32)
    for dtype in ("float16", "bfloat16"):
        t = torch.from_numpy(raw).to(getattr(torch, dtype))
        _check(t, PrintOptions(), values=raw)
        _check(t, PrintOptions(precision=8), values=raw)


@needs_torch
def test_module_printoptions_match_torch():
    calls = [
        {},
        {"precision": 2},
        {"profile": "short"},
        {"profile": "full", "linewidth": 100},
        {"sci_mode": True},
        {"threshold": 5, "edgeitems": 1},
        {"profile": "nonexistent"},
        {"profile": "default"},
    ]
    t = torch.linspace(0.001, 5, 1200)
    try:
        for kw in calls:
            torch.set_printoptions(**kw)
            fmt.set_printoptions(**kw)
            po = torch._tensor_str.PRINT_OPTS
            want = {k: getattr(po, k) for k in
                    ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")}
            assert fmt.get_printoptions() == want
            assert format_tensor(_numpy_values(t), dtype_name="float32") == repr(t)
    finally:
        torch.set_printoptions(profile="default")
        fmt.set_printoptions(profile="default")


# --------------------------------------------------------------------------
# Cases without a torch oracle (CUDA is not available to the reference)
# --------------------------------------------------------------------------


def test_printoptions_defaults_and_profiles():
    fmt.set_printoptions(profile="default")
    try:
        assert fmt.get_printoptions() == asdict(PrintOptions()) == {
            "precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
            "sci_mode": None}
        fmt.set_printoptions(profile="short", sci_mode=False)
        assert fmt.get_printoptions() == {
            "precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80,
            "sci_mode": False}
        assert format_tensor(np.array([1.23456]), dtype_name="float32") == "tensor([1.23])"
        fmt.set_printoptions(profile="full")
        assert fmt.get_printoptions()["threshold"] == math.inf
        assert fmt.get_printoptions()["sci_mode"] is None  # reset when omitted
        # explicit options win over the module state
        assert format_tensor(np.array([1.23456]), dtype_name="float32",
                             options=PrintOptions(precision=1)) == "tensor([1.2])"
    finally:
        fmt.set_printoptions(profile="default")


DEVICE_CASES = [
    (dict(values=np.array([1.0, 2.0]), dtype_name="float32", device="cuda:0"),
     "tensor([1., 2.], device='cuda:0')"),
    (dict(values=np.array([1.0, 2.0]), dtype_name="float32", device="cuda"),
     "tensor([1., 2.], device='cuda:0')"),
    (dict(values=np.array([1, 2]), dtype_name="int32", device="cuda:1"),
     "tensor([1, 2], device='cuda:1', dtype=torch.int32)"),
    (dict(values=np.array(3.5), dtype_name="float16", device="cuda:0",
          requires_grad=True),
     "tensor(3.5000, device='cuda:0', dtype=torch.float16, requires_grad=True)"),
    (dict(values=np.zeros((0, 3)), dtype_name="float32", device="cuda:0"),
     "tensor([], device='cuda:0', size=(0, 3))"),
    (dict(values=np.array([1.0]), dtype_name="float32", device="cpu", requires_grad=True),
     "tensor([1.], requires_grad=True)"),
    (dict(values=np.array([[1.0, 2.0]]), dtype_name="float32", device="cuda:0",
          grad_fn="AddBackward0"),
     "tensor([[1., 2.]], device='cuda:0', grad_fn=<AddBackward0>)"),
    (dict(values=np.arange(9.0).reshape(3, 3) + 0.5, dtype_name="float64", device="cuda:0",
          grad_fn="MulBackward0"),
     "tensor([[0.5000, 1.5000, 2.5000],\n"
     "        [3.5000, 4.5000, 5.5000],\n"
     "        [6.5000, 7.5000, 8.5000]], device='cuda:0', dtype=torch.float64,\n"
     "       grad_fn=<MulBackward0>)"),
]


@pytest.mark.parametrize("kwargs,expected", DEVICE_CASES)
def test_device_suffix_literals(kwargs, expected):
    kwargs = dict(kwargs)
    values = kwargs.pop("values")
    assert format_tensor(values, options=PrintOptions(), **kwargs) == expected


def test_literals_without_torch():
    o = PrintOptions()
    assert format_tensor(np.array([1.0, 2.0, 3.0]), dtype_name="float32", options=o) == \
        "tensor([1., 2., 3.])"
    assert format_tensor(np.array(3.5), dtype_name="float32", options=o) == "tensor(3.5000)"
    assert format_tensor(np.zeros((0, 3)), dtype_name="float32", options=o) == \
        "tensor([], size=(0, 3))"
    assert format_tensor(np.array([True, False]), dtype_name="bool", options=o) == \
        "tensor([ True, False])"
    assert format_tensor(np.arange(2000), dtype_name="int64", options=o) == \
        "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"
    with pytest.raises(ValueError):
        format_tensor(np.array([1]), dtype_name="quint8")
