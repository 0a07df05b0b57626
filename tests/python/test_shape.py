"""Views, shape copies, joins and splits against PyTorch 1.13: values, dtypes,
shapes, and (for views) the strides/offset PyTorch gives, plus client
metadata equal to the daemon's (assert_same)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tensord as td
from helpers import TORCH_DTYPES, assert_meta_matches, assert_same, to_numpy, torch_or_skip

LAYOUTS = ["contiguous", "transposed", "stepped"]


def make(ref: Any, shape: tuple[int, ...], dtype: str, layout: str = "contiguous",
         seed: int = 0) -> tuple[Any, Any]:
    """The same values as (tensord, torch) tensors of `shape`, laid out as asked."""
    rng = np.random.RandomState(seed)
    if layout == "transposed" and len(shape) >= 2:
        base_shape = shape[:-2] + (shape[-1], shape[-2])
    elif layout == "stepped" and len(shape) >= 1:
        base_shape = shape[:-1] + (shape[-1] * 2,)
    else:
        base_shape = shape
    arr = np.asarray(rng.randint(-5, 6, size=base_shape))
    if dtype == "bool":
        arr = np.asarray(arr > 0)
    elif dtype == "uint8":
        arr = np.abs(arr)
    elif dtype.startswith(("float", "bfloat")):
        arr = arr + rng.rand(*base_shape).round(2) if base_shape else arr + 0.5
    t = ref.tensor(arr).to(getattr(ref, dtype))
    g = td.tensor(to_numpy(t) if dtype != "bfloat16" else arr, dtype=getattr(td, dtype))
    if layout == "transposed" and len(shape) >= 2:
        t, g = t.transpose(-1, -2), g.transpose(-1, -2)
    elif layout == "stepped" and len(shape) >= 1:
        t, g = t[..., ::2], g[..., ::2]
    assert tuple(g.shape) == tuple(shape) == tuple(t.shape)
    return g, t


def check(got: Any, want: Any, view: bool = False) -> None:
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, view)
        return
    assert_same(got, want)
    if view:
        assert tuple(got.stride()) == tuple(want.stride())
        assert got.storage_offset() == want.storage_offset()


# (name, shape, fn(lib, x), is_view): fn runs on tensord and torch alike.
VIEWS: list[tuple[str, tuple[int, ...], Callable[[Any, Any], Any]]] = [
    ("permute", (2, 3, 4), lambda L, x: x.permute(2, 0, 1)),
    ("permute_neg", (2, 3, 4), lambda L, x: L.permute(x, (-1, 0, -2))),
    ("transpose", (2, 3, 4), lambda L, x: x.transpose(0, -1)),
    ("swapaxes", (2, 3, 4), lambda L, x: L.swapaxes(x, 0, 1)),
    ("swapdims", (2, 3, 4), lambda L, x: x.swapdims(-1, 1)),
    ("t", (3, 4), lambda L, x: x.t()),
    ("t_1d", (4,), lambda L, x: L.t(x)),
    ("T", (2, 3, 4), lambda L, x: x.T),
    ("mT", (2, 3, 4), lambda L, x: x.mT),
    ("squeeze", (1, 3, 1, 4), lambda L, x: x.squeeze()),
    ("squeeze_dim", (1, 3, 1, 4), lambda L, x: x.squeeze(-2)),
    ("squeeze_noop", (2, 3, 4), lambda L, x: x.squeeze(1)),
    ("unsqueeze", (3, 4), lambda L, x: x.unsqueeze(1)),
    ("unsqueeze_end", (3, 4), lambda L, x: x.unsqueeze(-1)),
    ("expand", (3, 1), lambda L, x: x.expand(2, 3, 5)),
    ("expand_keep", (3, 1), lambda L, x: x.expand(-1, 4)),
    ("expand_as", (3, 1), lambda L, x: x.expand_as(L.zeros(3, 4))),
    ("broadcast_to", (1, 4), lambda L, x: L.broadcast_to(x, (3, 4))),
    ("view_as", (3, 4), lambda L, x: x.contiguous().view_as(L.zeros(4, 3))),
    ("unflatten", (3, 4), lambda L, x: x.unflatten(1, (2, -1))),
    ("narrow", (3, 4), lambda L, x: x.narrow(1, 1, 2)),
    ("narrow_neg", (3, 4), lambda L, x: L.narrow(x, -1, -2, 2)),
    ("select", (3, 4), lambda L, x: x.select(1, -1)),
    ("unbind", (3, 4), lambda L, x: x.unbind(1)),
    ("movedim", (2, 3, 4), lambda L, x: x.movedim(0, -1)),
    ("movedim_list", (2, 3, 4), lambda L, x: L.movedim(x, (0, 1), (2, 0))),
    ("moveaxis", (2, 3, 4), lambda L, x: L.moveaxis(x, -1, 0)),
    ("diagonal", (3, 4), lambda L, x: x.diagonal()),
    ("diagonal_off", (2, 3, 4), lambda L, x: x.diagonal(1, 2, 0)),
    ("diagonal_neg", (3, 4), lambda L, x: x.diagonal(-1)),
    ("diagonal_far", (3, 4), lambda L, x: x.diagonal(7)),
    ("split", (5, 4), lambda L, x: x.split(2)),
    ("split_sizes", (5, 4), lambda L, x: L.split(x, [1, 3], 1)),
    ("chunk", (5, 4), lambda L, x: x.chunk(3)),
    ("chunk_dim", (5, 4), lambda L, x: x.chunk(4, -1)),
    ("tensor_split_n", (7, 4), lambda L, x: x.tensor_split(3)),
    ("tensor_split_idx", (7, 4), lambda L, x: L.tensor_split(x, [1, 5, 2, 9], dim=0)),
    ("hsplit", (3, 4), lambda L, x: L.hsplit(x, 2)),
    ("vsplit", (4, 3), lambda L, x: L.vsplit(x, [1])),
    ("slice_getitem", (5, 4), lambda L, x: x[1:-1:2, ::3]),
    ("flatten_view", (2, 3, 4), lambda L, x: x.flatten(0, 0)),
    ("as_strided", (3, 4), lambda L, x: x.as_strided((2, 2), (1, 2), 1)),
]

COPIES: list[tuple[str, tuple[int, ...], Callable[[Any, Any], Any]]] = [
    ("flatten", (2, 3, 4), lambda L, x: x.flatten()),
    ("flatten_mid", (2, 3, 4), lambda L, x: L.flatten(x, 1)),
    ("flatten_0d", (), lambda L, x: x.flatten()),
    ("repeat", (2, 3), lambda L, x: x.repeat(2, 1, 3)),
    ("repeat_zero", (2, 3), lambda L, x: x.repeat(0, 2)),
    ("tile", (2, 3), lambda L, x: L.tile(x, (2,))),
    ("repeat_interleave", (2, 3), lambda L, x: x.repeat_interleave(2)),
    ("repeat_interleave_dim", (2, 3), lambda L, x: x.repeat_interleave(3, dim=1)),
    ("repeat_interleave_t", (3, 2), lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=0)),
    ("repeat_interleave_t1", (3, 2), lambda L, x: L.repeat_interleave(x, L.tensor([2]))),
    ("flip", (2, 3, 4), lambda L, x: x.flip(0, -1)),
    ("flip_none", (2, 3), lambda L, x: L.flip(x, ())),
    ("roll", (3, 4), lambda L, x: x.roll(1, 0)),
    ("roll_multi", (3, 4), lambda L, x: L.roll(x, (-1, 5), (1, 0))),
    ("roll_flat", (3, 4), lambda L, x: x.roll(5)),
    ("rot90", (3, 4), lambda L, x: x.rot90()),
    ("rot90_k", (2, 3, 4), lambda L, x: L.rot90(x, -3, (2, 1))),
    ("rot90_2", (3, 4), lambda L, x: x.rot90(2)),
    ("tril", (3, 4), lambda L, x: x.tril()),
    ("triu_k", (2, 3, 4), lambda L, x: L.triu(x, 1)),
    ("tril_neg", (4, 3), lambda L, x: x.tril(-1)),
    ("diag_1d", (3,), lambda L, x: L.diag(x, 1)),
    ("diag_2d", (3, 4), lambda L, x: x.diag(-1)),
    ("cat", (2, 3), lambda L, x: L.cat([x, x * 1 if x.dtype != L.bool else x, x[:1]])),
    ("cat_dim", (2, 3), lambda L, x: L.cat((x, x[:, :1]), dim=-1)),
    ("stack", (2, 3), lambda L, x: L.stack([x, x], 1)),
    ("stack_end", (2, 3), lambda L, x: L.stack([x, x, x], -1)),
    ("hstack", (2, 3), lambda L, x: L.hstack([x, x])),
    ("vstack", (3,), lambda L, x: L.vstack([x, x])),
    ("meshgrid_ij", (3,), lambda L, x: L.meshgrid(x, x[:2], indexing="ij")),
    ("meshgrid_xy", (3,), lambda L, x: L.meshgrid(x, x[:2], x[:1], indexing="xy")),
    ("clone_T", (3, 4), lambda L, x: x.T.clone()),
]


def _run(ref: Any, shape: tuple[int, ...], dtype: str, layout: str,
         fn: Callable[[Any, Any], Any], view: bool) -> None:
    if layout != "contiguous" and not shape:
        pytest.skip("0-d has one layout")
    g, t = make(ref, shape, dtype, layout)
    want = torch_or_skip(fn, ref, t)
    check(fn(td, g), want, view=view and layout == "contiguous")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "bfloat16"])
@pytest.mark.parametrize("name,shape,fn", VIEWS, ids=[c[0] for c in VIEWS])
def test_view_ops_match_torch(ref, name, shape, fn, dtype, layout):
    _run(ref, shape, dtype, layout, fn, view=True)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float16"])
@pytest.mark.parametrize("name,shape,fn", COPIES, ids=[c[0] for c in COPIES])
def test_copy_ops_match_torch(ref, name, shape, fn, dtype, layout):
    _run(ref, shape, dtype, layout, fn, view=False)


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_every_dtype_moves_through_shape_ops(ref, dtype):
    g, t = make(ref, (3, 4), dtype, "transposed")
    for fn in (lambda L, x: x.flip(1), lambda L, x: x.repeat(2, 1), lambda L, x: L.cat([x, x], 1),
               lambda L, x: x.roll(1, 1), lambda L, x: x.tril(), lambda L, x: x.permute(1, 0),
               lambda L, x: x.unsqueeze(0).expand(2, 3, 4)):
        check(fn(td, g), fn(ref, t))


def test_views_write_through_to_the_base():
    base = td.zeros(3, 4)
    base.t()[1].fill_(1)
    base.narrow(0, 2, 1).fill_(2)
    base.diagonal().fill_(5)
    want = np.zeros((3, 4), dtype=np.float32)
    want[:, 1] = 1
    want[2] = 2
    np.fill_diagonal(want, 5)
    np.testing.assert_array_equal(base.numpy(), want)
    a, b = base.split(2)
    b.fill_(7)
    assert base[2].tolist() == [7.0] * 4


def test_flatten_and_reshape_of_non_viewable_copy(ref):
    g, t = make(ref, (3, 4), "float32", "transposed")
    check(g.flatten(), t.flatten())
    assert g.flatten().is_contiguous()
    g2, t2 = make(ref, (2, 3, 4), "float32", "contiguous")
    check(g2.flatten(1), t2.flatten(1), view=True)


def test_empty_and_zero_d_edges(ref):
    for shape, fn in [((0, 3), lambda L, x: x.t()), ((0, 3), lambda L, x: x.flip(0)),
                      ((0, 3), lambda L, x: x.repeat(2, 2)), ((0,), lambda L, x: L.cat([x, x])),
                      ((0,), lambda L, x: x.chunk(3)), ((0,), lambda L, x: x.split(2)),
                      ((), lambda L, x: x.unsqueeze(0)), ((), lambda L, x: x.squeeze()),
                      ((), lambda L, x: x.expand(3)), ((), lambda L, x: x.roll(1)),
                      ((), lambda L, x: x.repeat(2, 2)), ((), lambda L, x: x.flip(0)),
                      ((2, 0), lambda L, x: x.tril()), ((), lambda L, x: x.repeat_interleave(2)),
                      ((3, 0), lambda L, x: L.cat([x, x], 1)), ((2,), lambda L, x: L.stack([x])),
                      ((0, 2), lambda L, x: x.roll(1, 0))]:
        g, t = make(ref, shape, "float32")
        check(fn(td, g), fn(ref, t))


def test_cat_promotes_and_skips_legacy_empty(ref):
    a = td.tensor([[1, 2]], dtype=td.int32)
    b = td.tensor([[0.5, 1.5]], dtype=td.float16)
    e = td.zeros(0)
    ra, rb, re = ref.tensor([[1, 2]], dtype=ref.int32), ref.tensor([[0.5, 1.5]], dtype=ref.float16), ref.zeros(0)
    check(td.cat([a, b]), ref.cat([ra, rb]))
    check(td.cat([a, e, a], 1), ref.cat([ra, re, ra], 1))
    check(td.cat([e, e]), ref.cat([re, re]))
    check(td.stack([a, a.to(td.int64)]), ref.stack([ra, ra.long()]))
    check(td.concat([a, a]), ref.concat([ra, ra]))


def test_iteration_and_len():
    x = td.arange(6).view(3, 2)
    rows = list(x)
    assert len(x) == 3 and [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    for r in rows:
        assert_meta_matches(r)
    with pytest.raises(TypeError):
        len(td.tensor(1.0))


def _err(ref: Any, fn: Callable[[Any], Any]) -> type:
    try:
        fn(ref)
    except Exception as e:  # noqa: BLE001
        return type(e)
    raise AssertionError("torch raised nothing")


ERRORS = [
    ("permute_len", lambda L: L.zeros(2, 3).permute(0), "permute"),
    ("permute_dup", lambda L: L.zeros(2, 3).permute(0, 0), "duplicate dims"),
    ("transpose_dim", lambda L: L.zeros(2, 3).transpose(0, 2), "Dimension out of range"),
    ("expand_few", lambda L: L.zeros(2, 3).expand(3), "must be greater or equal"),
    ("expand_mismatch", lambda L: L.zeros(2, 3).expand(2, 4), "must match the existing size"),
    ("expand_lead", lambda L: L.zeros(2, 3).expand(-1, 2, 3), "leading, non-existing"),
    ("narrow_len", lambda L: L.zeros(2, 3).narrow(1, 2, 3), "exceeds dimension size"),
    ("select_range", lambda L: L.zeros(2, 3).select(1, 3), "out of range"),
    ("select_0d", lambda L: L.zeros(()).select(0, 0), "0-dim"),
    ("diagonal_same", lambda L: L.zeros(2, 3).diagonal(0, 1, 1), "cannot be identical"),
    ("movedim_len", lambda L: L.zeros(2, 3).movedim([0], [0, 1]), "movedim"),
    ("unflatten", lambda L: L.zeros(2, 3).unflatten(1, (2, 2)), "don't multiply up"),
    ("flatten_order", lambda L: L.zeros(2, 3).flatten(1, 0), "start_dim cannot come after"),
    ("t_3d", lambda L: L.zeros(2, 2, 2).t(), "<= 2 dimensions"),
    ("repeat_few", lambda L: L.zeros(2, 3).repeat(2), "can not be smaller"),
    ("flip_dup", lambda L: L.zeros(2, 3).flip(0, 0), "multiple times"),
    ("roll_align", lambda L: L.zeros(2, 3).roll((1, 2), (0,)), "must align"),
    ("tril_1d", lambda L: L.zeros(3).tril(), "Dimension out of range"),
    ("diag_3d", lambda L: L.zeros(2, 2, 2).diag(), "matrix or a vector"),
    ("cat_shape", lambda L: L.cat([L.zeros(2, 3), L.zeros(2, 2)]), "Sizes of tensors must match"),
    ("cat_ndim", lambda L: L.cat([L.zeros(2, 3), L.zeros(2)]), "same number of dimensions"),
    ("cat_0d", lambda L: L.cat([L.zeros(()), L.zeros(2)]), "zero-dimensional"),
    ("cat_empty", lambda L: L.cat([]), "non-empty"),
    ("stack_shape", lambda L: L.stack([L.zeros(2, 3), L.zeros(2, 2)]), "equal size"),
    ("split_sum", lambda L: L.zeros(2, 3).split([1, 1], 1), "sum exactly"),
    ("chunk_zero", lambda L: L.zeros(2, 3).chunk(0), "greater than 0"),
    ("tensor_split_zero", lambda L: L.zeros(2, 3).tensor_split(0), "larger than 0"),
    ("unbind_0d", lambda L: L.zeros(()).unbind(0), "no dimensions"),
    ("repeat_interleave_neg", lambda L: L.zeros(2).repeat_interleave(-1), "negative"),
    ("rot90_dims", lambda L: L.zeros(2, 3).rot90(1, (0, 0)), "different"),
    ("as_strided_neg", lambda L: L.zeros(4).as_strided((2,), (-1,)), "Negative strides"),
]


@pytest.mark.parametrize("name,fn,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch_exception_type(ref, name, fn, msg):
    want = _err(ref, fn)
    with pytest.raises(want, match=msg):
        r = fn(td)
        for x in r if isinstance(r, tuple) else (r,):
            x.tolist()


def test_as_strided_outside_storage_raises_and_reads_nothing(ref):
    x = td.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"setStorage: sizes \[3, 3\], strides \[3, 1\], storage "
                       r"offset 0, and itemsize 4 requiring a storage size of 36 are out of bounds "
                       r"for storage of size 24"):
        x.as_strided((3, 3), (3, 1)).tolist()
    with pytest.raises(RuntimeError, match="out of bounds for storage"):
        x[1:].as_strided((1,), (1,), 6).tolist()
    # A view reaching back into the storage is fine (as in torch).
    y = td.arange(6.0)[3:]
    assert y.as_strided((2, 2), (1, 1), 0).tolist() == [[0.0, 1.0], [1.0, 2.0]]
    assert x.tolist() == [[0.0] * 3] * 2


def test_repeat_interleave_tensor_repeats_size_is_fetched(ref):
    g = td.arange(4).repeat_interleave(td.tensor([0, 3, 1, 2]))
    assert g.shape == (6,)
    check(g, ref.arange(4).repeat_interleave(ref.tensor([0, 3, 1, 2])))
    check(td.repeat_interleave(td.tensor([2, 1])), ref.repeat_interleave(ref.tensor([2, 1])))
    with pytest.raises(RuntimeError, match="negative"):
        td.arange(2).repeat_interleave(td.tensor([1, -1])).tolist()
