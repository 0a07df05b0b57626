"""torch.testing.assert_close, with PyTorch 1.13's rules and messages.

Inputs pair up recursively through sequences and mappings; each leaf pair is
None/None, two booleans, two numbers, or two directly related tensor-likes
(two tensors, or two NumPy arrays). Tensors are compared on the client: both
are fetched once (after the attribute checks), promoted to float64 (floating)
or int64 (others) as PyTorch promotes them, and compared with NumPy, so the
messages give the same counts, differences and indices as PyTorch's.
"""
from __future__ import annotations

import cmath
import collections.abc
import contextlib
from typing import Any, Callable, Optional, Union

import numpy as np

from .. import _C, _dtype
from .._tensor import _values

Tensor = _C.Tensor
_Msg = Optional[Union[str, Callable[[str], str]]]

# {dtype: (rtol, atol)}; other dtypes compare exactly.
_DTYPE_PRECISIONS = {
    _dtype.float16: (0.001, 1e-5),
    _dtype.bfloat16: (0.016, 1e-5),
    _dtype.float32: (1.3e-6, 1e-5),
    _dtype.float64: (1e-7, 1e-7),
}
_NUMBER_DTYPES = {int: _dtype.int64, float: _dtype.float64}


class _ErrorMeta(Exception):
    """A user-facing failure, turned into its exception once msg is known."""

    def __init__(self, type: type, msg: str, *, id: tuple = ()) -> None:
        super().__init__(msg)
        self.type, self.msg, self.id = type, msg, id

    def to_error(self, msg: _Msg = None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                where = "".join(str([item]) for item in self.id)
                generated += f"\n\nThe failure occurred for item {where}"
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


class _Unsupported(Exception):
    """This pair type cannot handle the inputs: try the next one."""


def _tolerances(dtypes: list, rtol: Optional[float], atol: Optional[float],
                id: tuple) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _ErrorMeta(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}.", id=id)
    if rtol is not None and atol is not None:
        return rtol, atol
    rtols, atols = zip(*[_DTYPE_PRECISIONS.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _mismatch_msg(identifier: str, extra: Optional[str], abs_diff: Any, abs_idx: Any,
                  rel_diff: Any, rel_idx: Any, rtol: float, atol: float) -> str:
    equality = rtol == 0 and atol == 0

    def diff_line(kind: str, diff: Any, idx: Any, tol: float) -> str:
        line = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        return line + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += extra.strip() + "\n"
    msg += diff_line("absolute", abs_diff, abs_idx, atol)
    msg += diff_line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", None, abs_diff, None, rel_diff, None, rtol, atol)


class _Pair:
    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), **options: Any) -> None:
        self.actual, self.expected, self.id = actual, expected, id

    def fail(self, type: type, msg: str) -> _ErrorMeta:
        return _ErrorMeta(type, msg, id=self.id)


class _NonePair(_Pair):
    def __init__(self, actual: Any, expected: Any, **options: Any) -> None:
        if not (actual is None or expected is None):
            raise _Unsupported()
        super().__init__(actual, expected, **options)

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            raise self.fail(AssertionError, f"None mismatch: {self.actual} is not {self.expected}")


class _BooleanPair(_Pair):
    def __init__(self, actual: Any, expected: Any, **options: Any) -> None:
        if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise _Unsupported()
        super().__init__(bool(actual), bool(expected), **options)

    def compare(self) -> None:
        if self.actual is not self.expected:
            raise self.fail(AssertionError,
                            f"Booleans mismatch: {self.actual} is not {self.expected}")


class _NumberPair(_Pair):
    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), rtol: Any = None,
                 atol: Any = None, equal_nan: bool = False, check_dtype: bool = False,
                 **options: Any) -> None:
        kinds = (int, float, complex, np.number)
        if not all(isinstance(x, kinds) for x in (actual, expected)):
            raise _Unsupported()
        actual, expected = [x.item() if isinstance(x, np.number) else x for x in (actual, expected)]
        super().__init__(actual, expected, id=id)
        dtypes = [_NUMBER_DTYPES.get(type(x), _dtype.float64) for x in (actual, expected)]
        self.rtol, self.atol = _tolerances(dtypes, rtol, atol, id)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def compare(self) -> None:
        a, e = self.actual, self.expected
        if self.check_dtype and type(a) is not type(e):
            raise self.fail(AssertionError, f"The (d)types do not match: {type(a)} != {type(e)}.")
        if a == e:
            return
        if self.equal_nan and cmath.isnan(a) and cmath.isnan(e):
            return
        abs_diff = abs(a - e)
        if cmath.isfinite(abs_diff) and abs_diff <= self.atol + self.rtol * abs(e):
            return
        raise self.fail(AssertionError, _scalar_mismatch_msg(a, e, self.rtol, self.atol))


class _TensorLike:
    """What the comparison needs of a tensor or an ndarray; values on demand."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        if isinstance(obj, Tensor):
            self.dtype, self.shape = obj.dtype, obj.shape
            self.device = obj.device
        else:
            try:
                self.dtype = _dtype.from_numpy_dtype(obj.dtype)
            except TypeError:
                raise _Unsupported() from None
            self.shape = _dtype.Size(obj.shape)
            self.device = _dtype.device("cpu")

    def stride(self) -> tuple:
        if isinstance(self.obj, Tensor):
            return tuple(self.obj.stride())
        return tuple(s // self.obj.itemsize for s in self.obj.strides)

    def values(self, promoted: _dtype.dtype) -> np.ndarray:
        arr = _values(self.obj.detach()) if isinstance(self.obj, Tensor) else self.obj
        kind = np.float64 if promoted.is_floating_point else np.int64
        return np.asarray(arr).astype(kind)


def _promote(a: _dtype.dtype, b: _dtype.dtype) -> _dtype.dtype:
    """The dtype both are compared in: float64 for floating, else int64."""
    return _dtype.float64 if a.is_floating_point or b.is_floating_point else _dtype.int64


class _TensorLikePair(_Pair):
    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), allow_subclasses: bool = True,
                 rtol: Any = None, atol: Any = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, **options: Any) -> None:
        if not (isinstance(actual, (Tensor, np.ndarray)) and
                (isinstance(actual, type(expected)) or isinstance(expected, type(actual)))):
            raise _Unsupported()
        if not allow_subclasses and type(actual) is not type(expected):
            raise _Unsupported()
        super().__init__(_TensorLike(actual), _TensorLike(expected), id=id)
        self.rtol, self.atol = _tolerances([self.actual.dtype, self.expected.dtype], rtol, atol, id)
        self.equal_nan = equal_nan
        self.check_device, self.check_dtype = check_device, check_dtype
        self.check_stride = check_stride

    def _mismatch(self, attribute: str, actual: Any, expected: Any) -> _ErrorMeta:
        return self.fail(AssertionError, f"The values for attribute '{attribute}' do not match: "
                                         f"{actual} != {expected}.")

    def compare(self) -> None:
        a, e = self.actual, self.expected
        if a.shape != e.shape:
            raise self._mismatch("shape", a.shape, e.shape)
        if self.check_stride and a.stride() != e.stride():
            raise self._mismatch("stride()", a.stride(), e.stride())
        if self.check_device and a.device != e.device:
            raise self._mismatch("device", a.device, e.device)
        if self.check_dtype and a.dtype is not e.dtype:
            raise self._mismatch("dtype", a.dtype, e.dtype)
        promoted = _promote(a.dtype, e.dtype)
        self._compare_values(a.values(promoted), e.values(promoted))

    def _compare_values(self, actual: np.ndarray, expected: np.ndarray) -> None:
        rtol, atol = self.rtol, self.atol
        with np.errstate(all="ignore"):
            if rtol == 0 and atol == 0 and actual.dtype.kind == "i":
                matches = actual == expected
            else:
                matches = np.isclose(actual, expected, rtol=rtol, atol=atol,
                                     equal_nan=self.equal_nan)
            if matches.all():
                return
            if actual.shape == ():
                msg = _scalar_mismatch_msg(actual.item(), expected.item(), rtol, atol)
                raise self.fail(AssertionError, msg)
            raise self.fail(AssertionError, self._tensor_mismatch_msg(actual, expected, ~matches))

    def _tensor_mismatch_msg(self, actual: np.ndarray, expected: np.ndarray,
                             mismatches: np.ndarray) -> str:
        total = int(mismatches.sum())
        n = mismatches.size
        extra = f"Mismatched elements: {total} / {n} ({total / n:.1%})"
        flat_mismatch = mismatches.reshape(-1)
        abs_diff = np.abs(actual.reshape(-1) - expected.reshape(-1))
        abs_diff[~flat_mismatch] = 0
        # PyTorch divides in its default float dtype for integers, in float64 otherwise.
        rel_type = np.float64 if actual.dtype.kind == "f" else np.float32
        rel_diff = (abs_diff / np.abs(expected.reshape(-1))).astype(rel_type)
        rel_diff[~flat_mismatch] = 0

        def greatest(diffs: np.ndarray) -> tuple[Any, tuple]:
            idx = int(np.argmax(diffs))  # NaN counts as the greatest, as in torch.max
            return diffs[idx].item(), tuple(int(i) for i in np.unravel_index(idx, mismatches.shape))

        abs_value, abs_idx = greatest(abs_diff)
        rel_value, rel_idx = greatest(rel_diff)
        return _mismatch_msg("Tensor-likes", extra, abs_value, abs_idx, rel_value, rel_idx,
                             self.rtol, self.atol)


_PAIR_TYPES = (_NonePair, _BooleanPair, _NumberPair, _TensorLikePair)


def _originate_pairs(actual: Any, expected: Any, id: tuple, **options: Any) -> list:
    seq = collections.abc.Sequence
    if (isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq)
            and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _ErrorMeta(AssertionError, "The length of the sequences mismatch: "
                             f"{len(actual)} != {len(expected)}", id=id)
        pairs = []
        for i in range(len(actual)):
            pairs.extend(_originate_pairs(actual[i], expected[i], (*id, i), **options))
        return pairs
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise _ErrorMeta(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                f"Additional keys in the actual mapping: {sorted(actual_keys - expected_keys)}",
                id=id)
        keys: Any = actual_keys
        with contextlib.suppress(Exception):
            keys = sorted(keys)
        pairs = []
        for key in keys:
            pairs.extend(_originate_pairs(actual[key], expected[key], (*id, key), **options))
        return pairs
    for pair_type in _PAIR_TYPES:
        try:
            return [pair_type(actual, expected, id=id, **options)]
        except _Unsupported:
            continue
    raise _ErrorMeta(TypeError, "No comparison pair was able to handle inputs of type "
                     f"{type(actual)} and {type(expected)}.", id=id)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: Optional[float] = None, atol: Optional[float] = None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg: _Msg = None) -> None:
    """Asserts that actual and expected are close: |actual - expected| <= atol +
    rtol * |expected| elementwise, with per-dtype default tolerances (float32:
    rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; integers and bool: exact).
    Raises AssertionError with PyTorch's message, or msg (a string replaces
    it; a callable receives it and returns the message)."""
    __tracebackhide__ = True
    try:
        pairs = _originate_pairs(
            actual, expected, (), allow_subclasses=allow_subclasses, rtol=rtol, atol=atol,
            equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
            check_layout=check_layout, check_stride=check_stride)
    except _ErrorMeta as error:
        raise error.to_error(msg) from None
    for pair in pairs:
        try:
            pair.compare()
        except _ErrorMeta as error:
            raise error.to_error(msg) from None
