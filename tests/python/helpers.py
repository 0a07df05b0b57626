"""Helpers shared by the Python tests."""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

import tensord as td

TORCH_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
                "float32", "float64"]
FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]


def assert_meta_matches(t: Any) -> None:
    """The client's inferred metadata equals what the daemon has."""
    sizes, strides, offset, dtype = t._daemon_meta()
    assert tuple(t.shape) == tuple(sizes), f"shape {tuple(t.shape)} != daemon {sizes}"
    assert t.dtype._name == dtype, f"dtype {t.dtype} != daemon {dtype}"
    assert tuple(t.stride()) == tuple(strides), f"strides {t.stride()} != daemon {strides}"
    assert t.storage_offset() == offset, f"offset {t.storage_offset()} != daemon {offset}"


def to_numpy(t: Any) -> np.ndarray:
    """Values of a tensord or torch tensor as float64/int/bool NumPy (bf16 widened)."""
    if hasattr(t, "_fetch"):
        from tensord._tensor import _values
        return np.asarray(_values(t))
    import torch
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.detach().numpy()


def assert_same(got: Any, want: Any, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """tensord result `got` equals torch result `want`: dtype, shape, values, metadata."""
    assert got.dtype._name == str(want.dtype).replace("torch.", ""), f"dtype {got.dtype} != {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"shape {tuple(got.shape)} != {tuple(want.shape)}"
    assert_meta_matches(got)
    g, w = to_numpy(got), to_numpy(want)
    if got.dtype._name in ("float16", "bfloat16"):
        rtol, atol = max(rtol, 1e-2), max(atol, 1e-2)
    if g.dtype.kind in "fc":
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, w)


def pair(ref: Any, arr: np.ndarray, dtype: str) -> tuple[Any, Any]:
    """The same values as a tensord tensor and a torch tensor of `dtype`."""
    t = ref.tensor(arr).to(getattr(ref, dtype))
    return td.tensor(to_numpy(t) if dtype != "bfloat16" else arr, dtype=getattr(td, dtype)), t


def torch_or_skip(fn: Any, *args: Any) -> Any:
    """fn(*args) on the torch side; skip the test where torch's CPU build has
    no kernel for the dtype (there is nothing to compare with)."""
    import pytest

    try:
        return fn(*args)
    except RuntimeError as e:
        if "not implemented for" not in str(e):
            raise
        pytest.skip(f"torch CPU: {e}")


def assert_close(got: Any, want: Any, tol: float) -> None:
    """A tensord result (e.g. a gradient) equals torch's within `tol`, with
    matching shape and client/daemon metadata; None fails."""
    assert got is not None, "missing gradient"
    assert tuple(got.shape) == tuple(want.shape), f"{tuple(got.shape)} != {tuple(want.shape)}"
    assert_meta_matches(got)
    g = to_numpy(got.detach() if hasattr(got, "detach") else got)
    np.testing.assert_allclose(g, to_numpy(want), rtol=tol, atol=tol)


def copy_params(ours: Any, theirs: Any) -> None:
    """Loads torch module `theirs`'s parameters and buffers into tensord module `ours`."""
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


class Float64Draw:
    """float64 leaf tensors (requires_grad) for gradcheck, drawn from a
    generator seeded by the case's name, so each case sees fixed inputs."""

    def __init__(self, name: str) -> None:
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))

    def leaf(self, arr):
        return td.tensor(np.asarray(arr, dtype=np.float64), dtype=td.float64, requires_grad=True)

    def any(self, *shape, lo=-1.5, hi=1.5):
        return self.leaf(self.rng.uniform(lo, hi, shape))

    def nonzero(self, *shape):
        """|x| in [0.3, 1.5] with a random sign: away from kinks at 0."""
        return self.leaf(self.rng.uniform(0.3, 1.5, shape) * self.rng.choice([-1.0, 1.0], shape))
