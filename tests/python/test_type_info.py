"""torch.finfo, torch.iinfo and torch.is_floating_point against PyTorch's."""
from __future__ import annotations

from typing import Any

import pytest

import tensord as td
from helpers import FLOAT_DTYPES

INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("name", FLOAT_DTYPES)
def test_finfo_matches_torch(ref: Any, name: str) -> None:
    ours, theirs = td.finfo(getattr(td, name)), ref.finfo(getattr(ref, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)
    assert ours == td.finfo(getattr(td, name))


@pytest.mark.parametrize("name", INT_DTYPES)
def test_iinfo_matches_torch(ref: Any, name: str) -> None:
    ours, theirs = td.iinfo(getattr(td, name)), ref.iinfo(getattr(ref, name))
    assert (ours.bits, ours.min, ours.max, ours.dtype) == (theirs.bits, theirs.min, theirs.max,
                                                          theirs.dtype)
    assert repr(ours) == repr(theirs)


def test_finfo_defaults_to_the_default_dtype(ref: Any) -> None:
    assert repr(td.finfo()) == repr(ref.finfo())
    td.set_default_dtype(td.float64)
    try:
        assert td.finfo().dtype == "float64"
    finally:
        td.set_default_dtype(td.float32)


def test_wrong_kinds_raise_torchs_type_errors(ref: Any) -> None:
    for lib in (td, ref):
        with pytest.raises(TypeError, match=r"finfo\(\) requires a floating point input type"):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError, match=r"iinfo\(\) requires an integer input type"):
            lib.iinfo(lib.float32)
        with pytest.raises(TypeError, match="torch.bool is not supported by torch.iinfo"):
            lib.iinfo(lib.bool)
        with pytest.raises(TypeError, match="must be Tensor, not float"):
            lib.is_floating_point(1.0)


def test_is_floating_point(ref: Any) -> None:
    for name in FLOAT_DTYPES + INT_DTYPES + ["bool"]:
        assert td.is_floating_point(td.zeros(1, dtype=getattr(td, name))) == \
            ref.is_floating_point(ref.zeros(1, dtype=getattr(ref, name))), name
