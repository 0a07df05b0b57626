"""The legacy and convenience tensor API against PyTorch 1.13.

torch.Tensor(...) and the typed constructors, Tensor.new*/type()/__format__,
identity hashing, allclose/equal/isclose, torch.testing.assert_close and
Module.double()/half()/float()/bfloat16(). Each case runs the same expression
with `torch` bound to tensord and to Debian's PyTorch and compares results,
or the exception type and message.
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

import tensord as td
from helpers import to_numpy


def run(module: Any, expr: str) -> Any:
    return eval(expr, {"torch": module, "np": np})  # noqa: S307 (test expressions)


def outcome(module: Any, expr: str) -> Any:
    """The expression's value, or (exception type name, message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run(module, expr)
    except Exception as e:  # noqa: BLE001 (compared against torch's)
        return (type(e).__name__, str(e))


def assert_tensor_like_ref(got: Any, want: Any, values: bool = True) -> None:
    assert isinstance(got, td.Tensor), got
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.device.type == want.device.type
    if values:
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


# ---------------------------------------------------------------- constructors

DATA_CASES = [
    "torch.Tensor([1, 2])",
    "torch.Tensor([[1, 2], [3, 4]])",
    "torch.Tensor((2, 3))",                   # one tuple is data, not a size
    "torch.Tensor(np.array([1, 2]))",
    "torch.Tensor(np.array(3.0))",
    "torch.Tensor([])",
    "torch.Tensor([True, False])",
    "torch.Tensor(range(3))",
    "torch.Tensor([np.float64(1.5), 2])",
    "torch.Tensor([torch.tensor(1.5), torch.tensor(2.0)])",
    "torch.Tensor([[1], [2]])",
    "torch.LongTensor([1.7, -2.5])",          # truncates toward zero
    "torch.LongTensor([1, 2])",
    "torch.IntTensor(np.array([1.9, 2.1]))",
    "torch.ShortTensor([3, -4])",
    "torch.CharTensor([-3])",
    "torch.ByteTensor([-1, 3])",              # wraps
    "torch.BoolTensor([2, 0, -1])",
    "torch.HalfTensor([1.5, -2])",
    "torch.BFloat16Tensor([1.5, 3])",
    "torch.DoubleTensor([[0.1], [0.2]])",
    "torch.FloatTensor((2, 3))",
    "torch.FloatTensor(np.array([1, 2]))",
    "torch.LongTensor(torch.tensor([4, 5]))",  # an alias of the same type
    "torch.Tensor(torch.tensor([4, 5]))",      # torch.Tensor keeps the other's type
    "torch.Tensor([1, 2], device='cpu')",
    "torch.ones(2).new([1, 2])",
    "torch.ones(2, dtype=torch.int64).new([1.5])",
    "torch.ones(2, dtype=torch.int32).new(np.array([7, 8]))",
]


@pytest.mark.parametrize("expr", DATA_CASES)
def test_legacy_constructor_with_data_matches_torch(ref: Any, expr: str) -> None:
    assert_tensor_like_ref(run(td, expr), run(ref, expr))


UNINITIALISED_CASES = [
    "torch.Tensor()",
    "torch.Tensor(2, 3)",
    "torch.Tensor(0)",
    "torch.Tensor(size=(2, 3))",
    "torch.Tensor(torch.Size([2, 3]))",       # a Size is a size
    "torch.Tensor(np.int64(3))",
    "torch.Tensor(2, device='cpu')",
    "torch.LongTensor(3)",
    "torch.LongTensor()",
    "torch.FloatTensor(2, 3)",
    "torch.FloatTensor(torch.Size([2]))",
    "torch.BoolTensor(4)",
    "torch.ones(2).new(3)",
    "torch.ones(2).new()",
    "torch.ones(2).new(2, 3)",
    "torch.ones(2, dtype=torch.float16).new(size=(2,))",
]


@pytest.mark.parametrize("expr", UNINITIALISED_CASES)
def test_legacy_constructor_with_a_size_is_uninitialised_of_that_shape(ref: Any, expr: str) -> None:
    got = run(td, expr)
    assert_tensor_like_ref(got, run(ref, expr), values=False)
    got.numpy()  # the daemon made it: fetching works


ERROR_CASES = [
    ("torch.Tensor(2.5)", "TypeError", r"new\(\): data must be a sequence \(got float\)"),
    ("torch.Tensor(True)", "TypeError", r"new\(\): data must be a sequence \(got bool\)"),
    ("torch.Tensor(None)", "TypeError", r"new\(\): data must be a sequence \(got NoneType\)"),
    ("torch.Tensor(np.float32(3))", "TypeError", r"data must be a sequence \(got numpy.float32\)"),
    ("torch.Tensor('a')", "TypeError", r"new\(\): invalid data type 'str'"),
    ("torch.Tensor([1, 'a'])", "TypeError", r"must be real number, not str"),
    ("torch.Tensor(np.array(['a']))", "TypeError", r"can't convert np.ndarray of type numpy.str_"),
    ("torch.Tensor([[1, 2], [3]])", "ValueError",
     r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ("torch.Tensor(-1)", "RuntimeError",
     r"Trying to create tensor with negative dimension -1: \[-1\]"),
    ("torch.Tensor(2, 3.0)", "TypeError",
     r"new\(\): argument 'size' must be tuple of ints, but found element of type float at pos 2"),
    ("torch.Tensor([1, 2], [3])", "TypeError",
     r"new\(\) received an invalid combination of arguments - got \(list, list\)"),
    ("torch.Tensor(3, dtype=torch.float64)", "TypeError",
     r"new\(\) received an invalid combination of arguments - got \(int, dtype=torch.dtype\)"),
    ("torch.Tensor(2, size=(3,))", "TypeError",
     r"invalid combination of arguments - got \(int, size=tuple\)"),
    ("torch.LongTensor(torch.ones(2))", "TypeError",
     r"expected TensorOptions\(dtype=long int, .*\(got TensorOptions\(dtype=float, "),
    ("torch.ones(2).new(torch.ones(2, dtype=torch.int64))", "TypeError",
     r"expected TensorOptions\(dtype=float, .*\(got TensorOptions\(dtype=long int, "),
    ("torch.ones(2).new(2, dtype=torch.float64)", "TypeError", r"invalid combination of arguments"),
    ("torch.Tensor([1, 2], device='cuda')", "RuntimeError",
     r"legacy constructor expects device type: cpu but device type: cuda was passed"),
    ("torch.LongTensor(2, device='cuda')", "RuntimeError",
     r"legacy constructor expects device type: cpu but device type: cuda was passed"),
]


@pytest.mark.parametrize("expr,exc,message", ERROR_CASES)
def test_legacy_constructor_errors_match_torch(ref: Any, expr: str, exc: str, message: str) -> None:
    for module in (ref, td):
        got = outcome(module, expr)
        assert isinstance(got, tuple), f"{module.__name__}: {expr} gave {got!r}"
        assert got[0] == exc and re.search(message, got[1]), f"{module.__name__}: {got}"
    assert td.ones(2).sum().item() == 2.0  # nothing was left behind on the session


def test_tensor_of_a_tensor_aliases_its_storage_and_graph(ref: Any) -> None:
    base = td.zeros(3)
    alias = td.Tensor(base)
    assert alias is not base
    alias[1] = 5.0
    assert base.tolist() == [0.0, 5.0, 0.0]
    leaf = td.ones(2, requires_grad=True)
    through = td.Tensor(leaf)
    assert through.requires_grad and through.grad_fn is not None
    (through * 3).sum().backward()
    assert leaf.grad.tolist() == [3.0, 3.0]


def test_tensor_follows_the_default_dtype_and_typed_constructors_do_not(ref: Any) -> None:
    before = td.get_default_dtype()
    td.set_default_dtype(td.float64)
    ref.set_default_dtype(ref.float64)
    try:
        for expr in ("torch.Tensor(2)", "torch.Tensor([1])", "torch.FloatTensor(2)",
                     "torch.ones(2).type()", "torch.tensor([1.]).type()"):
            got, want = run(td, expr), run(ref, expr)
            assert str(getattr(got, "dtype", got)) == str(getattr(want, "dtype", want)), expr
    finally:
        td.set_default_dtype(before)
        ref.set_default_dtype(ref.float32)


LEGACY_TYPES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
                "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_isinstance_of_legacy_types_matches_torch(ref: Any, dtype: str) -> None:
    t, r = td.zeros(2, dtype=getattr(td, dtype)), ref.zeros(2, dtype=getattr(ref, dtype))
    assert isinstance(t, td.Tensor)
    for name in LEGACY_TYPES:
        assert isinstance(t, getattr(td, name)) == isinstance(r, getattr(ref, name)), name
        assert not isinstance(t, getattr(td.cuda, name))
        assert getattr(td, name).dtype is getattr(td, getattr(ref, name).dtype.__repr__()[6:])
    assert t.type() == r.type()


def test_legacy_types_are_tensortypes_not_subclasses(ref: Any) -> None:
    assert type(td.FloatTensor).__name__ == type(ref.FloatTensor).__name__ == "tensortype"
    assert issubclass(td.FloatTensor, td.Tensor) == issubclass(ref.FloatTensor, ref.Tensor)
    assert td.FloatTensor.__name__ == "FloatTensor"
    assert td.cuda.LongTensor.is_cuda and not td.LongTensor.is_cuda
    assert td.cuda.LongTensor.dtype is td.int64
    assert not isinstance(np.zeros(2), td.FloatTensor)
    assert isinstance(td.nn.Parameter(td.ones(2)), td.FloatTensor)


def test_subclassing_tensor_constructs_and_computes(ref: Any) -> None:
    class Tagged(td.Tensor):
        pass

    t = Tagged([1.0, 2.0])
    assert isinstance(t, Tagged) and isinstance(t, td.Tensor) and isinstance(t, td.FloatTensor)
    assert (t * 2).tolist() == [2.0, 4.0]
    assert Tagged(2, 3).shape == (2, 3)


def test_old_style_module_with_parameter_of_tensor_trains(ref: Any) -> None:
    """nn.Parameter(torch.Tensor(out, in)) then an init_: the pre-1.0 idiom."""
    class OldLinear(td.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = td.nn.Parameter(td.Tensor(3, 2))
            self.bias = td.nn.Parameter(td.Tensor(3))
            td.nn.init.constant_(self.weight, 0.5)
            self.bias.data.zero_()

        def forward(self, x: Any) -> Any:
            return x @ self.weight.t() + self.bias

    m = OldLinear()
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m(td.ones(4, 2)).sum().backward()
    assert m.weight.grad.tolist() == [[4.0, 4.0]] * 3
    assert m.bias.grad.tolist() == [4.0] * 3


# ---------------------------------------------------------------- Tensor.type

TYPE_CASES = [
    "torch.ones(2).type(torch.int64)",
    "torch.ones(2).type('torch.LongTensor')",
    "torch.ones(2).type(torch.LongTensor)",
    "torch.ones(2).type(dtype=torch.int32)",
    "torch.ones(2).type(torch.int64, non_blocking=True)",
    "torch.ones(2, dtype=torch.int64).type(torch.Tensor)",
    "torch.tensor([1.5, -2.5]).type(torch.ByteTensor)",
    "torch.tensor([1.5, 0.0]).type('torch.BoolTensor')",
    "torch.tensor([1, 2]).type(torch.HalfTensor)",
]


@pytest.mark.parametrize("expr", TYPE_CASES)
def test_type_converts_like_torch(ref: Any, expr: str) -> None:
    assert_tensor_like_ref(run(td, expr), run(ref, expr))


def test_type_strings_and_identity(ref: Any) -> None:
    for expr in ("torch.ones(2).type()", "torch.ones(2).type(None)",
                 "torch.ones(2, dtype=torch.bool).type()",
                 "torch.ones(2, dtype=torch.bfloat16).type()",
                 "torch.ones(2, dtype=torch.float16).type()"):
        assert run(td, expr) == run(ref, expr), expr
    t = td.ones(2)
    assert t.type(td.float32) is t and t.type("torch.FloatTensor") is t
    for expr, exc in (("torch.ones(2).type('foo')", "ValueError"),
                      ("torch.ones(2).type('FloatTensor')", "ValueError"),
                      ("torch.ones(2).type(3)", "TypeError")):
        got, want = outcome(td, expr), outcome(ref, expr)
        assert got == want and got[0] == exc, (got, want)


# ---------------------------------------------------------------- new_*

NEW_CASES = [
    "torch.ones(2).new_zeros(3)",
    "torch.ones(2).new_zeros((2, 3))",
    "torch.ones(2).new_zeros(2, 3)",
    "torch.ones(2).new_zeros(size=(2,))",
    "torch.ones(2, dtype=torch.int32).new_ones(2)",
    "torch.ones(2).new_ones([2, 1], dtype=torch.float64)",
    "torch.ones(2).new_full((2,), 7)",
    "torch.ones(2).new_full((2,), 1.5, dtype=torch.int64)",
    "torch.ones(2, dtype=torch.int64).new_full((2,), 1.5)",
    "torch.ones(2, dtype=torch.int64).new_zeros(2, dtype=torch.float64)",
    "torch.ones(2).new_tensor([1, 2])",
    "torch.ones(2).new_tensor([1, 2], dtype=torch.int64)",
    "torch.ones(2, dtype=torch.int64).new_tensor([1.5])",
    "torch.ones(2).new_tensor(np.array([1, 2]))",
    "torch.ones(2).new_tensor(3)",
    "torch.ones(2, dtype=torch.float16).new_tensor(torch.tensor([1, 2]))",
]


@pytest.mark.parametrize("expr", NEW_CASES)
def test_new_methods_match_torch(ref: Any, expr: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # new_tensor(tensor)'s advice; its own test checks it
        assert_tensor_like_ref(run(td, expr), run(ref, expr))


def test_new_empty_and_requires_grad(ref: Any) -> None:
    e = td.ones(2, dtype=td.int16).new_empty((2, 3))
    assert e.dtype is td.int16 and e.shape == (2, 3)
    assert td.ones(2).new_empty(3, dtype=td.int64).dtype is td.int64
    for expr in ("torch.ones(2).new_zeros(2, requires_grad=True).requires_grad",
                 "torch.ones(2).new_tensor([1, 2], requires_grad=True).requires_grad",
                 "torch.ones(2, requires_grad=True).new_zeros(2).requires_grad",
                 "torch.ones(2, requires_grad=True).new(2).requires_grad"):
        assert run(td, expr) == run(ref, expr), expr


def test_new_tensor_copies_a_tensor_with_torchs_warning(ref: Any) -> None:
    src = td.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copy = td.ones(2).new_tensor(src)
    copy[0] = 9.0
    assert src.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("expr,exc", [
    ("torch.ones(2).new_full(2, 7)", "TypeError"),
    ("torch.ones(2).new_full((2,), 'a')", "TypeError"),
    ("torch.ones(2).new_zeros(-1)", "RuntimeError"),
])
def test_new_method_errors_match_torch(ref: Any, expr: str, exc: str) -> None:
    got, want = outcome(td, expr), outcome(ref, expr)
    assert got[0] == want[0] == exc
    assert got[1].replace("SymInts", "ints") == want[1].replace("SymInts", "ints")


# ---------------------------------------------------------------- format, hash, get_device

FORMAT_CASES = [
    ("torch.tensor(3.14159)", ".2f"), ("torch.tensor(3.14159)", ""), ("torch.tensor(2.5)", ">8"),
    ("torch.tensor(3)", "d"), ("torch.tensor(3)", ".2f"), ("torch.tensor(True)", ""),
    ("torch.tensor(2.5, requires_grad=True)", ".1f"), ("torch.ones(2)[0]", ".3e"),
    ("torch.tensor(2.5, dtype=torch.bfloat16)", ".3f"), ("torch.tensor([1.5, 2.0])", ""),
    ("torch.tensor([[1, 2]])", ""), ("torch.tensor([3.0])", ".1f"), ("torch.ones(2)", ".2f"),
]


@pytest.mark.parametrize("expr,spec", FORMAT_CASES)
def test_format_matches_torch(ref: Any, expr: str, spec: str) -> None:
    code = f"format({expr}, {spec!r})"
    assert outcome(td, code) == outcome(ref, code)


def test_hash_is_identity() -> None:
    a, b = td.ones(2), td.ones(2)
    assert hash(a) == id(a) and hash(a) != hash(b)
    seen = {a, b}
    assert len(seen) == 2 and a in seen and td.ones(2) not in seen
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"


def test_get_device_on_cpu(ref: Any) -> None:
    assert td.ones(2).get_device() == ref.ones(2).get_device() == -1


# ---------------------------------------------------------------- allclose, equal, isclose

COMPARE_CASES = [
    "torch.allclose(torch.ones(2), torch.ones(2) + 1e-9)",
    "torch.allclose(torch.ones(2), torch.ones(2) + 1e-3)",
    "torch.allclose(torch.ones(2), torch.ones(2) + 1e-5, 1e-3)",
    "torch.allclose(torch.ones(2), torch.zeros(2), 0, 1.0)",
    "torch.allclose(torch.tensor([float('nan')]), torch.tensor([float('nan')]))",
    "torch.allclose(torch.tensor([float('nan')]), torch.tensor([float('nan')]), equal_nan=True)",
    "torch.allclose(torch.tensor([1., float('inf')]), torch.tensor([1., float('inf')]))",
    "torch.allclose(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64))",
    "torch.allclose(torch.ones(2), torch.ones(1))",
    "torch.ones(2).allclose(torch.ones(2))",
    "torch.equal(torch.ones(2), torch.ones(2))",
    "torch.equal(torch.ones(2), torch.ones(3))",
    "torch.equal(torch.ones(2, 1), torch.ones(1, 2))",
    "torch.equal(torch.ones(2), torch.ones(2, dtype=torch.int64))",
    "torch.equal(torch.tensor([float('nan')]), torch.tensor([float('nan')]))",
    "torch.equal(torch.ones(2), torch.ones(2, requires_grad=True))",
    "torch.equal(torch.zeros(0), torch.zeros(0))",
    "torch.ones(2).equal(torch.tensor([1., 2.]))",
    "torch.isclose(torch.ones(2), torch.tensor([1., 2.])).tolist()",
    "torch.isclose(torch.tensor([float('inf')]), torch.tensor([float('inf')])).tolist()",
]


@pytest.mark.parametrize("expr", COMPARE_CASES)
def test_allclose_equal_isclose_match_torch(ref: Any, expr: str) -> None:
    got, want = run(td, expr), run(ref, expr)
    assert type(got) is type(want) and got == want


@pytest.mark.parametrize("expr,exc,message", [
    ("torch.allclose(torch.ones(2), 1.0)", "TypeError",
     r"allclose\(\): argument 'other' \(position 2\) must be Tensor, not float"),
    ("torch.equal(torch.ones(2), 1)", "TypeError",
     r"equal\(\): argument 'other' \(position 2\) must be Tensor, not int"),
    ("torch.allclose(torch.ones(2), torch.ones(2), rtol=-1)", "RuntimeError",
     r"rtol must be greater than or equal to zero, but got -1"),
    ("torch.allclose(torch.ones(2), torch.ones(3))", "RuntimeError",
     r"The size of tensor a \(2\) must match the size of tensor b \(3\)"),
    ("torch.allclose(torch.ones(2), torch.ones(2, dtype=torch.float64))", "RuntimeError",
     r"did not match"),
])
def test_comparison_errors_match_torch(ref: Any, expr: str, exc: str, message: str) -> None:
    for module in (ref, td):
        got = outcome(module, expr)
        assert got[0] == exc and re.search(message, got[1]), (module.__name__, got)


# ---------------------------------------------------------------- testing.assert_close

ASSERT_CLOSE_CASES = [
    "torch.testing.assert_close(torch.ones(2), torch.ones(2))",
    "torch.testing.assert_close(torch.ones(2), torch.tensor([1., 2.]))",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2, dtype=torch.float64))",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2, dtype=torch.float64),"
    " check_dtype=False)",
    "torch.testing.assert_close(torch.ones(2), torch.ones(3))",
    "torch.testing.assert_close(torch.ones(2, dtype=torch.int64), torch.tensor([1, 3]))",
    "torch.testing.assert_close(1.0, 1.0 + 1e-9)",
    "torch.testing.assert_close(1, 2)",
    "torch.testing.assert_close(1.0, 1)",
    "torch.testing.assert_close(1.0, 1, check_dtype=False)",
    "torch.testing.assert_close(True, False)",
    "torch.testing.assert_close(None, None)",
    "torch.testing.assert_close(None, 1)",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2) * 1.1, msg='boom')",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2) * 1.1, msg=lambda m: 'H\\n' + m)",
    "torch.testing.assert_close(torch.tensor([float('nan')]), torch.tensor([float('nan')]))",
    "torch.testing.assert_close(torch.tensor([float('nan')]), torch.tensor([float('nan')]),"
    " equal_nan=True)",
    "torch.testing.assert_close([torch.ones(2)], [torch.ones(2) * 2])",
    "torch.testing.assert_close((torch.ones(2), 3), [torch.ones(2), 3])",
    "torch.testing.assert_close([1, 2], [1])",
    "torch.testing.assert_close({'a': torch.ones(2)}, {'a': torch.zeros(2)})",
    "torch.testing.assert_close({'a': 1}, {'b': 1})",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2), rtol=1)",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2), atol=1)",
    "torch.testing.assert_close(torch.ones(2), torch.ones(2).requires_grad_())",
    "torch.testing.assert_close(torch.tensor(1.), torch.tensor(2.))",
    "torch.testing.assert_close(torch.ones(2, 2), torch.tensor([[1., 1.], [1., 5.]]))",
    "torch.testing.assert_close(torch.ones(2, 2, dtype=torch.float64),"
    " torch.tensor([[1., 1.], [1., 5.]], dtype=torch.float64))",
    "torch.testing.assert_close(torch.ones(3, dtype=torch.float16),"
    " torch.tensor([1., 1.001, 1.01], dtype=torch.float16))",
    "torch.testing.assert_close(torch.ones(2, 3).t(), torch.ones(3, 2))",
    "torch.testing.assert_close(torch.ones(2, 3).t(), torch.ones(3, 2), check_stride=True)",
    "torch.testing.assert_close(torch.ones(2, dtype=torch.bool), torch.zeros(2, dtype=torch.bool))",
    "torch.testing.assert_close(torch.tensor([1.0, 0.0]), torch.tensor([1.01, 0.0]),"
    " rtol=0, atol=1e-3)",
    "torch.testing.assert_close(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1e-3]),"
    " rtol=0, atol=0)",
    "torch.testing.assert_close(np.ones(2), np.array([1.0, 2.0]))",
    "torch.testing.assert_close(torch.ones(2).numpy(), torch.ones(2))",
    "torch.testing.assert_close(torch.ones(2), [1., 1.])",
]


@pytest.mark.parametrize("expr", ASSERT_CLOSE_CASES)
def test_assert_close_matches_torch(ref: Any, expr: str) -> None:
    got, want = outcome(td, expr), outcome(ref, expr)
    if isinstance(want, tuple):
        want = (want[0], want[1].replace("torch.Tensor", "tensord.Tensor"))
    assert got == want


# ---------------------------------------------------------------- Module dtype casts

@pytest.mark.parametrize("cast", ["double", "half", "float", "bfloat16"])
def test_module_casts_params_and_float_buffers_like_torch(ref: Any, cast: str) -> None:
    def build(module: Any) -> Any:
        return module.nn.Sequential(module.nn.Linear(2, 3), module.nn.BatchNorm1d(3))

    m, r = build(td), build(ref)
    assert getattr(m, cast)() is m
    getattr(r, cast)()
    got = {n: str(p.dtype) for n, p in list(m.named_parameters()) + list(m.named_buffers())}
    want = {n: str(p.dtype) for n, p in list(r.named_parameters()) + list(r.named_buffers())}
    assert got == want
    assert all(isinstance(p, td.nn.Parameter) and p.requires_grad for p in m.parameters())
    if cast in ("double", "float"):
        x = td.ones(4, 2, dtype=m[0].weight.dtype)
        assert m(x).dtype is m[0].weight.dtype


# ---------------------------------------------------------------- conversions that already existed

CONVENIENCE_CASES = [
    "torch.tensor([1.5, -2.5]).long()", "torch.tensor([1.5, -2.5]).int()",
    "torch.tensor([1.5, -2.5]).short()", "torch.tensor([1.5, -2.5]).char()",
    "torch.tensor([1.5, 0.0]).bool()", "torch.tensor([1.5, 2.5]).byte()",
    "torch.tensor([1, 2]).float()", "torch.tensor([1, 2]).double()",
    "torch.tensor([1, 2]).half()", "torch.tensor([1, 2]).bfloat16()",
    "torch.tensor(3.5).tolist()", "torch.tensor(3).tolist()", "torch.tensor([[1, 2]]).tolist()",
    "torch.is_tensor(torch.ones(1))", "torch.is_tensor([1])", "torch.numel(torch.ones(2, 3))",
    "[10, 20, 30][torch.tensor(1)]", "list(range(5))[torch.tensor(2):]",
    "torch.tensor(1.0).__index__()", "torch.tensor([1, 2]).__index__()",
    "torch.ones(2, requires_grad=True).data.requires_grad",
]


@pytest.mark.parametrize("expr", CONVENIENCE_CASES)
def test_conversions_and_helpers_match_torch(ref: Any, expr: str) -> None:
    got, want = outcome(td, expr), outcome(ref, expr)
    if hasattr(want, "dtype"):
        assert_tensor_like_ref(got, want)
    else:
        assert got == want


def test_data_is_an_alias_that_in_place_writes_go_through(ref: Any) -> None:
    w, r = td.ones(3, requires_grad=True), ref.ones(3, requires_grad=True)
    for t, module in ((w, td), (r, ref)):
        t.data.mul_(2)
        t.data -= 0.5 * module.ones(3)
    assert w.detach().tolist() == r.detach().tolist() == [1.5, 1.5, 1.5]
    assert w.requires_grad and w.is_leaf


# ---------------------------------------------------------------- copy.deepcopy

def test_deepcopy_of_a_leaf_copies_values_grad_and_requires_grad(ref: Any) -> None:
    import copy
    for module in (td, ref):
        a = module.ones(2, requires_grad=True)
        (a * 2).sum().backward()
        b = copy.deepcopy(a)
        assert b is not a and b.is_leaf and b.requires_grad
        assert b.grad.tolist() == [2.0, 2.0]
        b.data.add_(1)
        assert a.tolist() == [1.0, 1.0], module.__name__
        twice = copy.deepcopy([a, a])
        assert twice[0] is twice[1]
        with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
            copy.deepcopy(a * 2)


def test_deepcopy_of_a_model_and_its_state_dict_is_independent(ref: Any) -> None:
    import copy
    model = td.nn.Linear(2, 1)
    best = copy.deepcopy(model.state_dict())
    clone = copy.deepcopy(model)
    assert [n for n, _ in clone.named_parameters()] == ["weight", "bias"]
    assert all(isinstance(p, td.nn.Parameter) and p.requires_grad for p in clone.parameters())
    assert all(p is not q for p, q in zip(clone.parameters(), model.parameters()))
    opt = td.optim.SGD(model.parameters(), lr=0.5)
    model(td.ones(3, 2)).sum().backward()
    opt.step()
    assert not td.equal(model.weight, best["weight"])
    assert td.equal(clone.weight, best["weight"]) and td.equal(clone.bias, best["bias"])
    model.load_state_dict(best)
    assert td.equal(model.weight, clone.weight)
