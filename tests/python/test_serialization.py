"""Checkpoints (tensord.save / tensord.load) against PyTorch 1.13's torch.save /
torch.load, both ways: every dtype, 0-d / empty / strided tensors, views that
share a storage, containers, map_location, weights_only and damaged files."""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import tracemalloc
import zipfile
from typing import Any, Callable

import numpy as np
import pytest

import tensord as td
from helpers import TORCH_DTYPES, assert_same, to_numpy

SHAPES = [(3, 4), (), (0, 3), (2, 0, 5)]
LAYOUTS = ["contiguous", "transposed", "stepped", "offset"]


def make(ref: Any, shape: tuple[int, ...], dtype: str, layout: str = "contiguous",
         seed: int = 0) -> tuple[Any, Any]:
    """The same values as (tensord, torch) tensors of `shape`, laid out as asked
    (views of a larger storage for every layout but contiguous)."""
    rng = np.random.RandomState(seed)
    if layout == "transposed" and len(shape) >= 2:
        base_shape = shape[:-2] + (shape[-1], shape[-2])
    elif layout == "stepped" and len(shape) >= 1:
        base_shape = shape[:-1] + (shape[-1] * 2,)
    elif layout == "offset" and len(shape) >= 1:
        base_shape = (shape[0] + 2,) + shape[1:]
    else:
        base_shape = shape
    arr = np.asarray(rng.randint(-50, 60, size=base_shape))
    if dtype == "bool":
        arr = np.asarray(arr > 0)
    elif dtype == "uint8":
        arr = np.abs(arr)
    elif dtype.startswith(("float", "bfloat")):
        arr = arr + np.asarray(rng.rand(*base_shape)).round(2)
    t = ref.tensor(arr).to(getattr(ref, dtype))
    g = td.tensor(to_numpy(t) if dtype != "bfloat16" else arr, dtype=getattr(td, dtype))
    if layout == "transposed" and len(shape) >= 2:
        t, g = t.transpose(-1, -2), g.transpose(-1, -2)
    elif layout == "stepped" and len(shape) >= 1:
        t, g = t[..., ::2], g[..., ::2]
    elif layout == "offset" and len(shape) >= 1:
        t, g = t[2:], g[2:]
    assert tuple(g.shape) == tuple(shape) == tuple(t.shape)
    return g, t


def td_bytes(obj: Any, **kw: Any) -> bytes:
    buf = io.BytesIO()
    td.save(obj, buf, **kw)
    return buf.getvalue()


def torch_bytes(ref: Any, obj: Any) -> bytes:
    buf = io.BytesIO()
    ref.save(obj, buf)
    return buf.getvalue()


def td_load(data: bytes, **kw: Any) -> Any:
    return td.load(io.BytesIO(data), **kw)


def torch_load(ref: Any, data: bytes, **kw: Any) -> Any:
    return ref.load(io.BytesIO(data), **kw)


def assert_tensor_equal(got: Any, want: Any) -> None:
    """got (tensord or torch) has the torch tensor want's dtype, shape,
    strides and values."""
    if hasattr(got, "_fetch"):
        assert_same(got, want, rtol=0, atol=0)
    else:
        assert got.dtype == want.dtype
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    if got.numel() > 0:
        assert tuple(got.stride()) == tuple(want.stride())


def rewrite(data: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """A copy of a checkpoint with each record passed through edit (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            content = edit(name, zin.read(name))
            if content is not None:
                zout.writestr(name, content)
    return out.getvalue()


def records(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [n.split("/", 1)[1] for n in z.namelist()]

# ---------------------------------------------------------------- tensors, both ways


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_torch_save_tensord_load_every_dtype(ref: Any, dtype: str, shape: tuple[int, ...]) -> None:
    _, t = make(ref, shape, dtype)
    got = td_load(torch_bytes(ref, {"t": t}))["t"]
    assert_tensor_equal(got, t)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_tensord_save_torch_load_every_dtype(ref: Any, dtype: str, shape: tuple[int, ...]) -> None:
    g, t = make(ref, shape, dtype)
    got = torch_load(ref, td_bytes({"t": g}))["t"]
    assert_tensor_equal(got, t)
    assert got.storage_offset() == 0


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "bool", "float16"])
def test_strided_views_keep_their_strides_both_ways(ref: Any, dtype: str, layout: str) -> None:
    g, t = make(ref, (3, 4), dtype, layout)
    assert_tensor_equal(td_load(torch_bytes(ref, t)), t)
    assert_tensor_equal(torch_load(ref, td_bytes(g)), t)
    assert_tensor_equal(td_load(td_bytes(g)), t)


def test_saving_a_slice_stores_only_the_span_it_covers(ref: Any) -> None:
    g = td.arange(100, dtype=td.float32)[40:50]
    data = td_bytes(g)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.getinfo("archive/data/0").file_size == 10 * 4
    got = torch_load(ref, data)
    assert got.tolist() == list(range(40, 50)) and got.storage_offset() == 0

# ---------------------------------------------------------------- shared storages


def _views(lib: Any, base: Any) -> dict[str, Any]:
    x = base.view(3, 4)
    return {"x": x, "t": x.t(), "row": x[1], "cols": x[:, 1:3], "step": base[::5]}


def test_tensord_views_share_one_record_and_alias_after_torch_load(ref: Any) -> None:
    views = _views(td, td.arange(12, dtype=td.float32))
    data = td_bytes(views)
    assert [r for r in records(data) if r.startswith("data/")] == ["data/0"]
    got = torch_load(ref, data)
    want = _views(ref, ref.arange(12, dtype=ref.float32))
    for k in want:
        assert_tensor_equal(got[k], want[k])
    ptr = got["x"].storage().data_ptr()
    assert all(v.storage().data_ptr() == ptr for v in got.values())
    got["row"].add_(100)
    assert got["x"][1].tolist() == [104.0, 105.0, 106.0, 107.0]
    assert got["t"][2, 1].item() == 106.0 and got["cols"][1].tolist() == [105.0, 106.0]


@pytest.mark.parametrize("source", ["torch", "tensord"])
def test_views_alias_after_tensord_load(ref: Any, source: str) -> None:
    if source == "torch":
        data = torch_bytes(ref, _views(ref, ref.arange(12, dtype=ref.float32)))
    else:
        data = td_bytes(_views(td, td.arange(12, dtype=td.float32)))
    got = td_load(data)
    want = _views(ref, ref.arange(12, dtype=ref.float32))
    for k in want:
        assert_tensor_equal(got[k], want[k])
    got["row"].add_(100)   # a write through one view...
    got["step"].mul_(-1)
    want["row"].add_(100)
    want["step"].mul_(-1)
    for k in want:         # ...is seen through every other
        assert_tensor_equal(got[k], want[k])


def test_client_knows_which_tensors_share_a_storage() -> None:
    x = td.arange(6, dtype=td.float32)
    m = x.view(2, 3)
    views = [m, m.t(), m[1], m[:, ::2], *m.unbind(0), td._C.call("as_strided", (m, [2], [2], 1))]
    assert {v._storage_id for v in views} == {x._storage_id}
    others = [x.clone(), x + 1, m.contiguous().t().contiguous(), td.arange(6)]
    assert len({t._storage_id for t in others} | {x._storage_id}) == 5


def test_separate_tensors_get_separate_records(ref: Any) -> None:
    a, b = td.ones(3), td.zeros(2, dtype=td.int32)
    data = td_bytes([a, b, a])
    assert sorted(r for r in records(data) if r.startswith("data/")) == ["data/0", "data/1"]
    got = torch_load(ref, data)
    assert got[0] is got[2]
    assert got[1].dtype == ref.int32 and got[1].tolist() == [0, 0]

# ---------------------------------------------------------------- containers


def test_torch_state_dict_loads_with_its_metadata(ref: Any) -> None:
    ref.manual_seed(0)
    model = ref.nn.Sequential(ref.nn.Linear(3, 2), ref.nn.BatchNorm1d(2))
    sd = model.state_dict()
    got = td_load(torch_bytes(ref, sd))
    assert isinstance(got, collections.OrderedDict)
    assert list(got) == list(sd)
    for k in sd:
        assert_tensor_equal(got[k], sd[k])
    assert got._metadata == sd._metadata


def test_tensord_state_dict_loads_in_torch_weights_only(ref: Any) -> None:
    sd = collections.OrderedDict(
        [("fc.weight", td.ones(2, 3)), ("fc.bias", td.zeros(2)),
         ("bn.num_batches_tracked", td.tensor(7))])
    got = torch_load(ref, td_bytes(sd), weights_only=True)
    assert isinstance(got, collections.OrderedDict) and list(got) == list(sd)
    model = ref.nn.Module()
    model.fc = ref.nn.Linear(3, 2)
    model.bn = ref.nn.Module()
    model.bn.register_buffer("num_batches_tracked", ref.tensor(0))
    model.load_state_dict(got)
    assert model.fc.weight.sum().item() == 6.0 and model.bn.num_batches_tracked.item() == 7


def _nested(lib: Any) -> Any:
    return {"ints": [1, -2, 2**40], "float": 2.5, "str": "héllo", "none": None,
            "bool": True, "bytes": b"\x00\xff", "tuple": (lib.ones(2), {"deep": [lib.zeros(1)]}),
            "set": {1, 2}, "dtype": lib.float16, "device": lib.device("cpu"),
            "size": lib.Size([2, 3])}


@pytest.mark.parametrize("direction", ["torch->tensord", "tensord->torch", "tensord->tensord"])
def test_nested_containers_and_plain_values(ref: Any, direction: str) -> None:
    src, dst = direction.split("->")
    obj = _nested(ref if src == "torch" else td)
    data = torch_bytes(ref, obj) if src == "torch" else td_bytes(obj)
    # torch 1.13's weights-only unpickler refuses floats (BINFLOAT): its default
    got = torch_load(ref, data) if dst == "torch" else td_load(data)
    lib = ref if dst == "torch" else td
    want = _nested(lib)
    for k in ("ints", "float", "str", "none", "bool", "bytes", "set"):
        assert got[k] == want[k] and type(got[k]) is type(want[k])
    assert isinstance(got["tuple"], tuple)
    assert got["tuple"][0].tolist() == [1.0, 1.0] and got["tuple"][1]["deep"][0].tolist() == [0.0]
    assert got["dtype"] is lib.float16
    assert got["device"] == lib.device("cpu") and type(got["device"]) is lib.device
    assert got["size"] == (2, 3) and type(got["size"]) is lib.Size


def test_torch_optimizer_state_loads(ref: Any) -> None:
    ref.manual_seed(0)
    lin = ref.nn.Linear(3, 2)
    opt = ref.optim.Adam(lin.parameters(), lr=0.1)
    lin(ref.ones(4, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    got = td_load(torch_bytes(ref, sd))
    assert got["param_groups"] == sd["param_groups"]
    assert sorted(got["state"]) == [0, 1]
    for i in (0, 1):
        for k in ("step", "exp_avg", "exp_avg_sq"):
            assert_tensor_equal(got["state"][i][k], sd["state"][i][k])


def test_tensord_optimizer_state_loads_in_torch(ref: Any) -> None:
    state = {"state": {0: {"step": td.tensor(3.0), "exp_avg": td.ones(2, 3),
                           "exp_avg_sq": td.full((2, 3), 0.25)}},
             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                               "weight_decay": 0, "amsgrad": False, "params": [0]}]}
    got = torch_load(ref, td_bytes(state))
    assert got["param_groups"] == state["param_groups"]
    assert got["state"][0]["step"].item() == 3.0 and got["state"][0]["step"].dim() == 0
    assert got["state"][0]["exp_avg_sq"].tolist() == [[0.25] * 3] * 2


def test_torch_parameter_and_requires_grad_load_as_tensors(ref: Any) -> None:
    p = ref.nn.Parameter(ref.arange(4.0))
    g = ref.arange(3.0).requires_grad_()
    got = td_load(torch_bytes(ref, {"p": p, "g": g}))
    assert_tensor_equal(got["p"], p.detach())
    assert_tensor_equal(got["g"], g.detach())

# ---------------------------------------------------------------- files


def test_paths_and_file_objects(ref: Any, tmp_path: Any) -> None:
    g, t = make(ref, (2, 5), "float64", "transposed")
    td.save(g, str(tmp_path / "a.pt"))
    td.save(g, tmp_path / "b.pt")
    with open(tmp_path / "c.pt", "wb") as fh:
        fh.write(b"junk before")      # the archive starts where the file object is
        start = fh.tell()
        td.save(g, fh)
    assert_tensor_equal(ref.load(str(tmp_path / "a.pt")), t)
    assert_tensor_equal(td.load(tmp_path / "b.pt"), t)
    with open(tmp_path / "c.pt", "rb") as fh:
        fh.seek(start)
        assert_tensor_equal(td.load(fh), t)
    ref.save(t, tmp_path / "d.pt")    # torch names the archive after the file
    assert_tensor_equal(td.load(str(tmp_path / "d.pt")), t)


def test_file_layout_is_torchs(ref: Any) -> None:
    data = td_bytes({"a": td.ones(3), "b": td.zeros(2, dtype=td.int8)})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert names == ["archive/data.pkl", "archive/data/0", "archive/data/1",
                         "archive/version", "archive/byteorder"]
        assert z.read("archive/version") == b"3\n" and z.read("archive/byteorder") == b"little"
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:
                                                            info.header_offset + 30])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
        pkl = z.read("archive/data.pkl")
    assert pkl.startswith(b"\x80\x02")
    for name in (b"torch._utils\n_rebuild_tensor_v2", b"torch\nFloatStorage",
                 b"torch\nCharStorage"):
        assert name in pkl


def test_progress_true_prints_to_stderr(capsys: Any) -> None:
    data = td_bytes(td.ones(1000), progress=True)
    err = capsys.readouterr().err
    assert "tensord.save" in err and "100%" in err
    td_load(data, progress=True)
    err = capsys.readouterr().err
    assert "tensord.load" in err and "100%" in err
    td_load(td_bytes(td.ones(1000)))   # small, and stderr is no terminal: quiet
    assert capsys.readouterr().err == ""


def test_large_checkpoints_stream_without_a_python_copy(ref: Any, tmp_path: Any) -> None:
    n = 10 << 20  # 40 MiB of float32
    g = td.arange(n, dtype=td.float32)
    path = tmp_path / "big.pt"
    tracemalloc.start()
    try:
        td.save(g, path)
        saved_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        got = td.load(path)
        got.sum().item()
        loaded_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert saved_peak < 20 << 20, saved_peak          # no second copy of 40 MiB
    assert loaded_peak < (40 << 20) + (20 << 20), loaded_peak  # one buffer + one piece
    assert got[n - 1].item() == float(n - 1)
    t = ref.load(path)
    assert t[12345].item() == 12345.0 and t.shape == (n,)

# ---------------------------------------------------------------- map_location


def _on_cuda(data: bytes) -> bytes:
    """The checkpoint with every storage tagged cuda:0 (as a GPU run saves it)."""
    def edit(name: str, content: bytes) -> bytes:
        if name.endswith("data.pkl"):
            cpu = b"X" + struct.pack("<I", 3) + b"cpu"
            assert content.count(cpu) == 1  # memoized: written once
            return content.replace(cpu, b"X" + struct.pack("<I", 6) + b"cuda:0")
        return content
    return rewrite(data, edit)


def _has_gpu() -> bool:
    return any(d.startswith("cuda") for d in td.daemon_info()["devices"])


@pytest.mark.parametrize("source", ["torch", "tensord"])
def test_cuda_checkpoint_needs_a_map_location_without_gpu(ref: Any, source: str) -> None:
    if _has_gpu():
        pytest.skip("the daemon has a GPU")
    g, t = make(ref, (2, 3), "float32", "transposed")
    data = _on_cuda(torch_bytes(ref, t) if source == "torch" else td_bytes(g))
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        torch_load(ref, data)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device "
                       "but torch.cuda.is_available.. is False"):
        td_load(data)
    with pytest.raises(RuntimeError, match="CUDA device"):
        td_load(data, map_location={"cuda:1": "cpu"})   # names another device
    for ml in ("cpu", td.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        got = td_load(data, map_location=ml)
        assert_tensor_equal(got, t)
        assert got.device == td.device("cpu")


def test_map_location_callable_sees_each_storage_once(ref: Any) -> None:
    x = ref.arange(6.0)
    data = torch_bytes(ref, [x, x[2:], ref.ones(2, dtype=ref.int16)])
    seen: list[tuple[Any, str]] = []

    def ml(storage: Any, loc: str) -> None:
        seen.append((storage.dtype, storage.numel(), loc))
        return None  # torch then restores to loc itself

    got = td_load(data, map_location=ml)
    assert seen == [(td.float32, 6, "cpu"), (td.int16, 2, "cpu")]
    assert got[1].tolist() == [2.0, 3.0, 4.0, 5.0]


def test_unknown_location_is_refused(ref: Any) -> None:
    data = td_bytes(td.ones(2))
    with pytest.raises(RuntimeError, match=r"don't know how to restore data location of "
                       r"torch.FloatStorage \(tagged with xpu:3\)"):
        td_load(data, map_location="xpu:3")
    with pytest.raises(TypeError, match="map_location"):
        td_load(data, map_location=3)

# ---------------------------------------------------------------- weights_only


class _MakesDir:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (os.mkdir, (self.path,))


def test_weights_only_refuses_other_globals(ref: Any, tmp_path: Any) -> None:
    target = str(tmp_path / "made")
    data = torch_bytes(ref, {"w": ref.ones(2), "evil": _MakesDir(target)})
    with pytest.raises(pickle.UnpicklingError,
                       match=r"Unsupported global: GLOBAL posix\.mkdir") as e:
        td_load(data)
    assert "weights_only=False" in str(e.value)
    with pytest.raises(pickle.UnpicklingError, match="posix.mkdir"):
        torch_load(ref, data, weights_only=True)
    assert not os.path.exists(target)
    got = td_load(data, weights_only=False)  # trusted: runs it, as torch.load would
    assert os.path.isdir(target) and got["w"].tolist() == [1.0, 1.0]


def test_weights_only_false_maps_torch_names(ref: Any) -> None:
    data = torch_bytes(ref, {"dtype": ref.bfloat16, "dev": ref.device("cpu"),
                             "od": collections.OrderedDict(a=ref.ones(1)), "cplx": 1 + 2j})
    got = td_load(data, weights_only=False)
    assert got["dtype"] is td.bfloat16 and got["dev"] == td.device("cpu")
    assert got["od"]["a"].tolist() == [1.0] and got["cplx"] == 1 + 2j


def test_unsupported_dtype_is_named(ref: Any) -> None:
    data = torch_bytes(ref, ref.ones(2, dtype=ref.complex64))
    with pytest.raises(RuntimeError, match="ComplexFloatStorage"):
        td_load(data)

# ---------------------------------------------------------------- damaged files


@pytest.fixture
def good(ref: Any) -> bytes:
    return torch_bytes(ref, {"a": ref.arange(10.0), "b": ref.ones(3, dtype=ref.int64)})


def test_truncated_file(ref: Any, good: bytes, tmp_path: Any) -> None:
    bad = good[: len(good) // 2]
    with pytest.raises(RuntimeError, match="PytorchStreamReader failed reading zip archive"):
        torch_load(ref, bad)
    with pytest.raises(RuntimeError,
                       match="PytorchStreamReader failed reading zip archive.*BytesIO"):
        td_load(bad)
    (tmp_path / "t.pt").write_bytes(bad)
    with pytest.raises(RuntimeError, match="t.pt"):
        td.load(tmp_path / "t.pt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_not_a_zip(content: bytes) -> None:
    with pytest.raises(RuntimeError, match="failed reading zip archive"):
        td_load(content)


def test_legacy_format_is_named(ref: Any) -> None:
    buf = io.BytesIO()
    ref.save(ref.ones(2), buf, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy"):
        td_load(buf.getvalue())


@pytest.mark.parametrize("drop", ["data.pkl", "data/0"])
def test_missing_record(ref: Any, good: bytes, drop: str) -> None:
    bad = rewrite(good, lambda n, c: None if n.endswith("/" + drop) else c)
    with pytest.raises(RuntimeError, match=f"failed locating file {drop}: file not found"):
        torch_load(ref, bad)
    with pytest.raises(RuntimeError, match=f"failed locating file {drop}: file not found"):
        td_load(bad)


@pytest.mark.parametrize("delta", [-4, 8])
def test_record_of_wrong_size(good: bytes, delta: int) -> None:
    bad = rewrite(good, lambda n, c: (c[:delta] if delta < 0 else c + b"\0" * delta)
                  if n.endswith("/data/1") else c)
    with pytest.raises(RuntimeError, match=r"record data/1 of BytesIO holds \d+ bytes, but its "
                       r"torch.LongStorage of 3 elements needs 24"):
        td_load(bad)


def test_corrupted_record_fails_its_checksum(good: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        info = z.getinfo("archive/data/0")
    head = info.header_offset
    name_len, extra_len = struct.unpack("<HH", good[head + 26:head + 30])
    at = head + 30 + name_len + extra_len + 5
    bad = good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:]
    with pytest.raises(RuntimeError, match="failed reading file data/0.*CRC"):
        td_load(bad)


def test_big_endian_records_are_swapped(ref: Any) -> None:
    data = torch_bytes(ref, ref.arange(5, dtype=ref.int32))

    def edit(name: str, content: bytes) -> bytes:
        if name.endswith("/data/0"):
            return np.frombuffer(content, "<i4").astype(">i4").tobytes()
        return content
    big = rewrite(data, edit)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(big)) as zin, zipfile.ZipFile(out, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, zin.read(n))
        zout.writestr("archive/byteorder", b"big")
    assert td_load(out.getvalue()).tolist() == [0, 1, 2, 3, 4]
