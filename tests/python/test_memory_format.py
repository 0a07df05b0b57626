"""torch.memory_format: accepted where it asks for what tensord gives (row-major),
refused with PyTorch's error types otherwise."""
from __future__ import annotations

import pickle
from typing import Any

import pytest

import tensord as td
from helpers import assert_same


def test_memory_formats_are_torchs_names(ref: Any) -> None:
    for name in ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d"):
        ours = getattr(td, name)
        assert isinstance(ours, td.memory_format)
        assert repr(ours) == repr(getattr(ref, name))
        assert pickle.loads(pickle.dumps(ours)) is ours


@pytest.mark.parametrize("fmt", ["contiguous_format", "preserve_format"])
def test_clone_and_to_take_row_major_formats(ref: Any, fmt: str) -> None:
    x, rx = td.arange(6.0).view(2, 3).t(), ref.arange(6.0).view(2, 3).t()
    assert_same(x.clone(memory_format=getattr(td, fmt)).contiguous(),
                rx.clone(memory_format=getattr(ref, fmt)).contiguous())
    assert_same(td.clone(x, memory_format=getattr(td, fmt)).contiguous(),
                ref.clone(rx, memory_format=getattr(ref, fmt)).contiguous())
    got = x.to(td.float64, memory_format=getattr(td, fmt))
    assert got.dtype is td.float64 and got.tolist() == rx.tolist()


def test_contiguous_with_contiguous_format_copies_a_transposed_tensor(ref: Any) -> None:
    x, rx = td.arange(6.0).view(2, 3).t(), ref.arange(6.0).view(2, 3).t()
    assert_same(x.contiguous(memory_format=td.contiguous_format),
                rx.contiguous(memory_format=ref.contiguous_format))


def test_unsupported_formats_raise_torchs_errors(ref: Any) -> None:
    x, rx = td.ones(2, 3), ref.ones(2, 3)
    assert x.contiguous(memory_format=td.preserve_format) is x
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        x.t().contiguous(memory_format=td.preserve_format)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        rx.t().contiguous(memory_format=ref.preserve_format)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        x.contiguous(memory_format=td.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        rx.contiguous(memory_format=ref.channels_last)
    with pytest.raises(NotImplementedError, match="channels-last layouts are not supported"):
        td.ones(1, 2, 2, 2).clone(memory_format=td.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        td.zeros_like(x, memory_format=td.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        ref.zeros_like(rx, memory_format=ref.channels_last)
    assert td.ones_like(x, memory_format=td.preserve_format).tolist() == [[1.0] * 3] * 2
    with pytest.raises(TypeError, match="must be torch.memory_format, not int"):
        x.clone(memory_format=3)
    with pytest.raises(TypeError, match="must be torch.memory_format, not int"):
        rx.clone(memory_format=3)
