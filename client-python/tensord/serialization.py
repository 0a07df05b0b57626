"""tensord.save / tensord.load: checkpoints in PyTorch's zip format.

A checkpoint is an uncompressed zip archive, as torch >= 1.6 writes it:

    archive/data.pkl     the object, pickled (protocol 2); tensors refer to
                         storages through persistent ids
    archive/data/<key>   one record per storage: its raw little-endian bytes
    archive/version      "3"
    archive/byteorder    "little"

A tensor is pickled as torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, OrderedDict()); a storage as the persistent id
('storage', torch.<Kind>Storage, key, location, numel). Views of one daemon
storage share one record, and load as views of one uploaded storage again.
The unpickler never imports torch: torch's names map to tensord's.

Whole objects (torch.save(model)) pickle as usual, except that the
tensord.nn classes whose attributes are torch's (_TORCH_CLASS_MODULES) are
written under torch's names (tensord's Linear as
torch.nn.modules.linear.Linear), so PyTorch loads such a file as its own
modules; tensord.load(weights_only=False) maps every torch.* name back to
tensord's (find_torch_global). Other tensord classes keep tensord's
names; the program's own classes keep theirs and must be importable where
the file is loaded, as with torch.
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import os
import pickle
import struct
import sys
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from . import _C, _dtype
from ._dtype import device

Tensor = _C.Tensor

_WRITE_CHUNK = 16 << 20  # bytes per write into a record (slices of the fetched buffer)
_READ_CHUNK = 4 << 20    # bytes per read of a record (zipfile copies each piece twice)
_PROGRESS_MIN_BYTES = 64 << 20
_ALIGN = 64  # torch aligns each record's data to 64 bytes in the file
_FORMAT_VERSION = b"3\n"

_STORAGE_NAMES = {
    _dtype.float32: "FloatStorage", _dtype.float64: "DoubleStorage",
    _dtype.float16: "HalfStorage", _dtype.bfloat16: "BFloat16Storage",
    _dtype.int64: "LongStorage", _dtype.int32: "IntStorage", _dtype.int16: "ShortStorage",
    _dtype.int8: "CharStorage", _dtype.uint8: "ByteStorage", _dtype.bool: "BoolStorage",
}


class _Global:
    """A module-level name the pickle refers to (GLOBAL module name), without
    importing the module. Callable only so that Pickler.save_reduce takes it."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:
        raise TypeError(f"{self.module}.{self.name} is a name in a checkpoint, not a function")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_STORAGE_GLOBALS = {d: _Global("torch", n) for d, n in _STORAGE_NAMES.items()}
_TORCH_DEVICE = _Global("torch", "device")
_TORCH_SIZE = _Global("torch", "Size")


class _Progress:
    """A one-line byte counter on stderr ("tensord.save:  42% (27/64 MiB)")."""

    def __init__(self, label: str, total: int, progress: bool | None) -> None:
        if progress is None:
            progress = total > _PROGRESS_MIN_BYTES and sys.stderr.isatty()
        self.label, self.total, self.on, self.done, self.shown = label, total, progress, 0, -1

    def update(self, n: int) -> None:
        if not self.on:
            return
        self.done += n
        pct = 100 * self.done // self.total if self.total else 100
        if pct != self.shown:
            self.shown = pct
            sys.stderr.write(f"\r{self.label}: {pct:3d}% ({self.done / 2**20:.1f}/"
                             f"{self.total / 2**20:.1f} MiB)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            if self.shown < 0:
                self.update(0)
            sys.stderr.write("\n")
            sys.stderr.flush()


def _describe(f: Any) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else type(f).__name__

# ---------------------------------------------------------------- save


class _StorageRecord:
    """One storage in the file: the span [start, end) (in elements) of a daemon
    storage that the saved tensors sharing it cover."""

    def __init__(self, key: str, tensor: Any) -> None:
        self.key, self.tensor, self.dtype = key, tensor, tensor.dtype
        self.location = tensor._device_str
        self.start: int | None = None
        self.end = 0
        # Off the CPU, as_strided has no kernel: each tensor gets its own
        # record of its values, laid out contiguously.
        self.own_values = self.location != "cpu"

    def add(self, t: Any) -> None:
        if t.numel() == 0:
            return
        if self.own_values:
            self.start, self.end = 0, t.numel()
            return
        lo = t.storage_offset()
        hi = lo + 1 + sum((n - 1) * s for n, s in zip(t.shape, t.stride()))
        self.start = lo if self.start is None else min(self.start, lo)
        self.end = max(self.end, hi)

    @property
    def numel(self) -> int:
        return 0 if self.start is None else self.end - self.start

    def layout(self, t: Any) -> tuple[int, tuple[int, ...]]:
        """The tensor's offset and strides within this record."""
        if self.own_values:
            return 0, _contiguous_strides(tuple(t.shape))
        offset = 0 if t.numel() == 0 else t.storage_offset() - (self.start or 0)
        return offset, tuple(t.stride())

    def values(self) -> np.ndarray:
        """The record's bytes, fetched from the daemon (one buffer, no copy)."""
        if self.numel == 0:
            return np.empty(0, np.uint8)
        if self.own_values:
            arr = self.tensor._fetch()
        else:
            flat = _C.call("as_strided", (self.tensor, [self.numel], [1], self.start))
            arr = flat._fetch()
        return np.ascontiguousarray(arr).reshape(-1).view(np.uint8)


def _contiguous_strides(size: tuple[int, ...]) -> tuple[int, ...]:
    strides, acc = [], 1
    for n in reversed(size):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


class _ParameterData:
    """The tensor inside a pickled Parameter (pickled without requires_grad)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor


class _Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """Protocol-2 pickler that writes torch's names for tensors and storages.

    The pure-Python pickler, because only it lets a stand-in object be written
    as a GLOBAL of a module (torch) that is not imported."""

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: Any, protocol: int, records: dict[Any, _StorageRecord],
                 collect: bool) -> None:
        super().__init__(file, protocol=protocol)
        self.records, self.collect = records, collect

    def save_global_ref(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    def save_dtype(self, obj: _dtype.dtype) -> None:
        self.write(pickle.GLOBAL + f"torch\n{obj._name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_Global] = save_global_ref
    dispatch[_dtype.dtype] = save_dtype

    def save_global(self, obj: Any, name: Any = None) -> None:
        torch_module = _torch_module_of(obj)
        if torch_module is None:
            super().save_global(obj, name)
            return
        self.write(pickle.GLOBAL + f"{torch_module}\n{obj.__qualname__}\n".encode("utf-8"))
        self.memoize(obj)

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is _StorageRecord:
            return ("storage", _STORAGE_GLOBALS[obj.dtype], obj.key, obj.location, obj.numel)
        return None

    def record_of(self, t: Any) -> _StorageRecord:
        key = (t._storage_id, t.dtype) if t._device_str == "cpu" else ("own", id(t))
        rec = self.records.get(key)
        if rec is None:
            rec = self.records[key] = _StorageRecord(str(len(self.records)), t)
        return rec

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, device):
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (_TORCH_DEVICE, args)
        if isinstance(obj, _dtype.Size):
            return (_TORCH_SIZE, (tuple(obj),))
        if isinstance(obj, _ParameterData):
            return self.tensor_reduce(obj.tensor, False)
        if isinstance(obj, Tensor):
            requires_grad = bool(getattr(obj, "requires_grad", False))
            if type(obj).__name__ == "Parameter":
                return (_REBUILD_PARAMETER, (_ParameterData(obj), requires_grad,
                                             collections.OrderedDict()))
            return self.tensor_reduce(obj, requires_grad)
        return NotImplemented

    def tensor_reduce(self, t: Any, requires_grad: bool) -> Any:
        rec = self.record_of(t)
        if self.collect:
            rec.add(t)
        offset, stride = rec.layout(t)
        return (_REBUILD_TENSOR, (rec, offset, tuple(t.shape), stride, requires_grad,
                                  collections.OrderedDict()))


class _Discard:
    def write(self, data: Any) -> int:
        return len(data)


def _pickle(obj: Any, protocol: int) -> tuple[bytes, list[_StorageRecord]]:
    """The pickled object and its storage records, in key order.

    Pickles twice: the first pass finds every tensor of each storage, so the
    second can write each record's span and the offsets within it."""
    records: dict[Any, _StorageRecord] = {}
    _Pickler(_Discard(), protocol, records, collect=True).dump(obj)
    count = len(records)
    out = io.BytesIO()
    _Pickler(out, protocol, records, collect=False).dump(obj)
    if len(records) != count:
        raise RuntimeError("[save] the object changed while it was being pickled")
    return out.getvalue(), sorted(records.values(), key=lambda r: int(r.key))


def _aligned_info(zf: zipfile.ZipFile, name: str, nbytes: int) -> zipfile.ZipInfo:
    """A stored (uncompressed) entry whose data starts at a multiple of 64
    bytes, padded with an 'FB' extra field as torch's writer does."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = nbytes
    zip64_extra = 20 if _needs_zip64(nbytes) else 0
    here = zf.fp.tell()  # type: ignore[union-attr]
    start = here + 30 + len(name.encode("utf-8")) + zip64_extra + 4  # local header, 'FB' field
    pad = -start % _ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    return info


def _needs_zip64(nbytes: int) -> bool:
    return nbytes * 1.05 > zipfile.ZIP64_LIMIT


def _write_record(zf: zipfile.ZipFile, name: str, data: memoryview, progress: _Progress) -> None:
    info = _aligned_info(zf, name, len(data))
    with zf.open(info, "w", force_zip64=_needs_zip64(len(data))) as w:
        for pos in range(0, len(data), _WRITE_CHUNK):
            piece = data[pos:pos + _WRITE_CHUNK]
            w.write(piece)
            progress.update(len(piece))


def save(obj: Any, f: str | os.PathLike[str] | BinaryIO, pickle_module: Any = pickle,
         pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True,
         *, progress: bool | None = None) -> None:
    """torch.save: writes obj to a path or binary file in PyTorch's zip format.

    Each storage's bytes go from the fetched buffer into the archive in
    pieces. progress=True shows a byte counter on stderr (None: only for
    checkpoints over 64 MiB when stderr is a terminal)."""
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("tensord.save writes only the zip format "
                                  "(_use_new_zipfile_serialization=True)")
    if pickle_module is not pickle:
        raise NotImplementedError("tensord.save pickles with the standard pickle module only")
    data_pkl, records = _pickle(obj, pickle_protocol)
    total = sum(r.numel * r.dtype.itemsize for r in records)
    bar = _Progress("tensord.save", total, progress)
    own = isinstance(f, (str, os.PathLike))
    fp: Any = open(f, "wb") if own else f
    try:
        with zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as zf:
            _write_record(zf, "archive/data.pkl", memoryview(data_pkl), _Progress("", 0, False))
            for r in records:
                values = r.values()
                _write_record(zf, f"archive/data/{r.key}", memoryview(values), bar)
                del values
            zf.writestr(_aligned_info(zf, "archive/version", 2), _FORMAT_VERSION)
            zf.writestr(_aligned_info(zf, "archive/byteorder", 6), b"little")
    finally:
        bar.close()
        if own:
            fp.close()

# ---------------------------------------------------------------- load


class _StorageType:
    """What torch.<Kind>Storage names in a checkpoint: a dtype."""

    def __init__(self, name: str, dtype: _dtype.dtype) -> None:
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TYPES = {n: _StorageType(n, d) for d, n in _STORAGE_NAMES.items()}
_STORAGE_TYPES["UntypedStorage"] = _StorageType("UntypedStorage", _dtype.uint8)
_UNSUPPORTED_STORAGES = ("ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage",
                         "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage")


class _LoadedStorage:
    """One storage record, uploaded: a flat 1-d tensor on its device."""

    __slots__ = ("flat", "dtype")

    def __init__(self, flat: Any, dtype: _dtype.dtype) -> None:
        self.flat, self.dtype = flat, dtype


def _rebuild_tensor_v2(storage: _LoadedStorage, storage_offset: int, size: Any, stride: Any,
                       requires_grad: bool = False, backward_hooks: Any = None,
                       metadata: Any = None) -> Any:
    size, stride = [int(n) for n in size], [int(s) for s in stride]
    flat = storage.flat
    if flat._device_str == "cpu":
        t = _C.call("as_strided", (flat, size, stride, int(storage_offset)))
    else:
        # as_strided runs on the CPU only: a whole contiguous storage stays a
        # view of it; other layouts become their own tensor on the device.
        n = 1
        for d in size:
            n *= d
        if storage_offset == 0 and n == flat.numel() and \
                tuple(stride) == _contiguous_strides(tuple(size)):
            t = flat.view(size)
        else:
            host = flat.cpu()
            t = _C.call("as_strided", (host, size, stride, int(storage_offset))).to(flat.device)
    if requires_grad:
        _set_requires_grad(t)
    return t


def _set_requires_grad(t: Any) -> None:
    """requires_grad=True where this tensord has autograd; dropped otherwise."""
    setter = getattr(t, "requires_grad_", None)
    if setter is not None:
        setter(True)
        return
    try:
        t.requires_grad = True
    except AttributeError:
        pass


def _parameter_class() -> Any:
    try:
        from . import nn  # type: ignore[attr-defined]
        return nn.Parameter
    except (ImportError, AttributeError):
        return None


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any = None) -> Any:
    cls = _parameter_class()
    if cls is not None:
        return cls(data, requires_grad)
    if requires_grad:
        _set_requires_grad(data)
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: bool, backward_hooks: Any,
                                  state: Any) -> Any:
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    for k, v in (state or {}).items():
        try:
            setattr(p, k, v)
        except AttributeError:
            pass
    return p


def _torch_names() -> dict[tuple[str, str], Any]:
    """torch's names that a weights-only checkpoint may use, as tensord's."""
    import _codecs

    names: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch", "device"): device,
        ("torch", "Size"): _dtype.Size,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex, ("builtins", "slice"): slice,
        ("builtins", "bytearray"): bytearray,
        ("_codecs", "encode"): _codecs.encode,  # how protocol 2 pickles bytes
    }
    for n, st in _STORAGE_TYPES.items():
        names[("torch", n)] = st
    for d in _dtype.ALL_DTYPES:
        names[("torch", d._name)] = d
    return names


_TORCH_NAMES = _torch_names()


def _python3_name(module: str, name: str) -> tuple[str, str]:
    """Protocol 2 writes Python 2's names for builtins (__builtin__.set)."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _unsupported_storage(module: str, name: str) -> None:
    if module == "torch" and name in _UNSUPPORTED_STORAGES:
        raise RuntimeError(f"[load] the checkpoint holds a torch.{name}; tensord has no such dtype")


# tensord.nn classes that hold exactly torch 1.13's attributes, by where
# torch defines them: saved under torch's name, PyTorch loads them as its own
# (tests/python/test_save_whole.py loads each in torch and runs it). Other
# tensord classes keep tensord's names.
_TORCH_CLASS_MODULES = {
    **dict.fromkeys(("Sequential", "ModuleList", "ModuleDict"), "torch.nn.modules.container"),
    **dict.fromkeys(("Linear", "Identity"), "torch.nn.modules.linear"),
    "Flatten": "torch.nn.modules.flatten",
    **dict.fromkeys(("Conv1d", "Conv2d", "Conv3d"), "torch.nn.modules.conv"),
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"), "torch.nn.modules.batchnorm"),
    **dict.fromkeys(("LayerNorm", "GroupNorm"), "torch.nn.modules.normalization"),
    "Embedding": "torch.nn.modules.sparse",
    "Dropout": "torch.nn.modules.dropout",
    **dict.fromkeys(("ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU", "ELU", "SiLU", "Softplus",
                     "Softmax", "LogSoftmax"), "torch.nn.modules.activation"),
    **dict.fromkeys(("MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"),
                    "torch.nn.modules.pooling"),
    **dict.fromkeys(("MSELoss", "CrossEntropyLoss"), "torch.nn.modules.loss"),
}


def _torch_module_of(cls: Any) -> str | None:
    """torch's module for a tensord.nn class saved under torch's name."""
    name = getattr(cls, "__qualname__", "")
    torch_module = _TORCH_CLASS_MODULES.get(name)
    if torch_module is None or not getattr(cls, "__module__", "").startswith("tensord.nn."):
        return None
    from . import nn  # type: ignore[attr-defined]
    return torch_module if getattr(nn, name, None) is cls else None


# torch's classes that tensord has under another name.
_TENSORD_ALIASES = {
    ("torch.nn.modules.linear", "NonDynamicallyQuantizableLinear"): ("tensord.nn", "Linear"),
}


def torch_module_to_tensord(module: str) -> str | None:
    """The tensord module that stands for torch module `module` when
    unpickling ("torch.nn.modules.linear" -> "tensord.nn.modules.linear");
    None for a module outside torch. find_torch_global resolves a name
    with it (for tensord.load and tensord.run_as_torch alike)."""
    if module == "torch" or module.startswith("torch."):
        return "tensord" + module[len("torch"):]
    return None


class _WeightsUnpickler(pickle.Unpickler):
    """weights_only=True: only the names in _TORCH_NAMES may be loaded.

    Every way a pickle reaches a callable (GLOBAL, STACK_GLOBAL, INST, EXT*)
    goes through find_class, so refusing there refuses them all."""

    def find_class(self, module: str, name: str) -> Any:
        module, name = _python3_name(module, name)
        found = _TORCH_NAMES.get((module, name))
        if found is not None:
            return found
        _unsupported_storage(module, name)
        raise pickle.UnpicklingError(
            "Weights only load failed. Re-running `tensord.load` with `weights_only=False` "
            "will likely succeed, but it can result in arbitrary code execution; do it only "
            "if you trust the source of the checkpoint. WeightsUnpickler error: Unsupported "
            f"global: GLOBAL {module}.{name} was not an allowed global by default.")


class _FullUnpickler(pickle.Unpickler):
    """weights_only=False: any global; torch's names become tensord's."""

    def find_class(self, module: str, name: str) -> Any:
        module, name = _python3_name(module, name)
        found = _TORCH_NAMES.get((module, name))
        if found is not None:
            return found
        _unsupported_storage(module, name)
        if module == "torch.nn.parameter" and name == "Parameter":
            cls = _parameter_class()
            if cls is not None:
                return cls
        if torch_module_to_tensord(module) is None:
            return super().find_class(module, name)
        found = find_torch_global(module, name)
        if found is None:
            raise pickle.UnpicklingError(f"[load] the checkpoint refers to {module}.{name}, "
                                         "which tensord does not have")
        return found


def find_torch_global(module: str, name: str) -> Any:
    """tensord's object for torch's `module`.`name` (a class or function a
    pickle names), or None when tensord has none. tensord's files are not
    torch's (BatchNorm2d lives in normalization, not batchnorm), so a name
    missing from the mapped module is looked up in tensord.nn too."""
    import importlib

    ours = torch_module_to_tensord(module)
    if ours is None:
        return None
    candidates = [_TENSORD_ALIASES.get((module, name), (ours, name))]
    if ours.startswith("tensord.nn.modules."):
        candidates.append(("tensord.nn", name))
    for mod, attr in candidates:
        try:
            found: Any = importlib.import_module(mod)
            for part in attr.split("."):
                found = getattr(found, part)
            return found
        except (ImportError, AttributeError):
            continue
    return None


def _daemon_devices() -> list[str]:
    from ._connection import daemon_info

    return list(daemon_info().get("devices", ["cpu"]))


def _restore_device(location: str, storage_type: _StorageType) -> str:
    """torch's default_restore_location: the device a record named `location` loads to."""
    if location == "cpu":
        return "cpu"
    if location.startswith("cuda"):
        try:
            index = device(location).index or 0
        except RuntimeError:
            index = -1
        gpus = [d for d in _daemon_devices() if d.startswith("cuda")]
        if not gpus:
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU.")
        if not 0 <= index < len(gpus):
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {index} but "
                f"torch.cuda.device_count() is {len(gpus)}. Please use torch.load with "
                "map_location to map your storages to an existing device.")
        return f"cuda:{index}"
    raise RuntimeError(f"don't know how to restore data location of {storage_type!r} "
                       f"(tagged with {location})")


def _move(flat: Any, dev: str) -> Any:
    return flat if flat._device_str == dev else flat.to(dev)


def _restorer(map_location: Any) -> Callable[[Any, str, _StorageType], Any]:
    """map_location (None, str, device, dict or callable) as a function
    (cpu flat tensor, location, storage type) -> flat tensor on its device."""
    if map_location is None:
        return lambda flat, loc, st: _move(flat, _restore_device(loc, st))
    if isinstance(map_location, (str, device)):
        target = str(map_location)
        return lambda flat, loc, st: _move(flat, _restore_device(target, st))
    if isinstance(map_location, dict):
        return lambda flat, loc, st: _move(
            flat, _restore_device(str(map_location.get(loc, loc)), st))
    if callable(map_location):
        def restore(flat: Any, loc: str, st: _StorageType) -> Any:
            out = map_location(flat, loc)
            if out is None:
                return _move(flat, _restore_device(loc, st))
            if not isinstance(out, Tensor):
                raise TypeError(f"[load] map_location returned {type(out).__name__}; expected "
                                "the storage it was given (a tensor), moved or not, or None")
            return out
        return restore
    raise TypeError(f"[load] map_location must be None, a str, a device, a dict or a callable, "
                    f"not {type(map_location).__name__}")


class _Archive:
    """The records of a checkpoint; errors name the file and the record."""

    def __init__(self, f: Any, what: str) -> None:
        self.what = what
        head = f.read(4)
        f.seek(-len(head), os.SEEK_CUR)
        if head[:3] == b"\x80\x02\x8a":
            raise RuntimeError(f"[load] {what} is in PyTorch's legacy (pre-1.6) format; tensord "
                               "reads the zip format only (re-save it with torch.save)")
        try:
            self.zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: failed finding "
                               f"central directory ({what} is not a complete zip checkpoint: "
                               f"{e})") from None
        names = self.zf.namelist()
        self.prefix = names[0].split("/", 1)[0] if names else "archive"
        self.byteorder = "little"
        if self.has("byteorder"):
            self.byteorder = self.read("byteorder").decode("ascii", "replace").strip()
            if self.byteorder not in ("little", "big"):
                raise RuntimeError(f"[load] {what}: unknown byteorder '{self.byteorder}'")

    def has(self, name: str) -> bool:
        try:
            self.zf.getinfo(f"{self.prefix}/{name}")
            return True
        except KeyError:
            return False

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.zf.getinfo(f"{self.prefix}/{name}")
        except KeyError:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found "
                               f"(in {self.what})") from None

    def read(self, name: str) -> bytes:
        info = self.info(name)
        try:
            return self.zf.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: {e} "
                               f"(in {self.what})") from None

    def read_into(self, name: str, out: np.ndarray, progress: _Progress) -> None:
        """The record's bytes into out (uint8, exactly the record's size)."""
        info = self.info(name)
        try:
            with self.zf.open(info) as r:
                pos = 0
                while pos < out.size:
                    piece = r.read(min(_READ_CHUNK, out.size - pos))
                    if not piece:
                        raise EOFError(f"the record ends after {pos} of {out.size} bytes")
                    out[pos:pos + len(piece)] = np.frombuffer(piece, np.uint8)
                    pos += len(piece)
                    progress.update(len(piece))
                if r.read(1):
                    raise EOFError("the record is longer than its header says")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: {e} "
                               f"(in {self.what})") from None

    def storage_bytes(self) -> int:
        data = f"{self.prefix}/data/"
        return sum(i.file_size for i in self.zf.infolist() if i.filename.startswith(data))


def load(f: str | os.PathLike[str] | BinaryIO, map_location: Any = None, pickle_module: Any = None,
         *, weights_only: bool = True, progress: bool | None = None, mmap: Any = None,
         **pickle_load_args: Any) -> Any:
    """torch.load for PyTorch's zip checkpoints (torch >= 1.6).

    Each storage record is read into one buffer and uploaded as a flat
    tensor; the tensors on it are as_strided views, so views saved together
    still alias. weights_only=True (the default) refuses every global but
    tensors, storages, dtypes, devices and plain containers."""
    if pickle_module not in (None, pickle):
        raise NotImplementedError("tensord.load unpickles with the standard pickle module only")
    if mmap:
        raise NotImplementedError("tensord.load: mmap=True is not supported (records are "
                                  "uploaded to the daemon)")
    restore = _restorer(map_location)
    what = _describe(f)
    own = isinstance(f, (str, os.PathLike))
    fp: Any = open(f, "rb") if own else f
    try:
        archive = _Archive(fp, what)
        bar = _Progress("tensord.load", archive.storage_bytes(), progress)
        try:
            return _unpickle(archive, restore, weights_only, bar, pickle_load_args)
        finally:
            bar.close()
    finally:
        if own:
            fp.close()


def _unpickle(archive: _Archive, restore: Callable[[Any, str, _StorageType], Any],
              weights_only: bool, bar: _Progress, pickle_load_args: dict[str, Any]) -> Any:
    loaded: dict[str, _LoadedStorage] = {}

    def persistent_load(pid: Any) -> _LoadedStorage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"[load] {archive.what}: unsupported persistent id "
                                         f"{pid!r:.200}")
        _, storage_type, key, location, numel = pid
        key = str(key)
        if key in loaded:
            return loaded[key]
        dtype = storage_type.dtype
        name = f"data/{key}"
        nbytes = int(numel) * dtype.itemsize
        size = archive.info(name).file_size
        if size != nbytes:
            raise RuntimeError(
                f"[load] record {name} of {archive.what} holds {size} bytes, but its "
                f"{storage_type!r} of {numel} elements needs {nbytes}")
        buf = np.empty(nbytes, np.uint8)
        archive.read_into(name, buf, bar)
        if archive.byteorder == "big" and dtype.itemsize > 1:
            buf.view(f"u{dtype.itemsize}").byteswap(inplace=True)
        flat = _C.from_array(buf, dtype._index, [int(numel)])
        del buf
        out = restore(flat, str(location), storage_type)
        loaded[key] = _LoadedStorage(out, dtype)
        return loaded[key]

    cls = _WeightsUnpickler if weights_only else _FullUnpickler
    unpickler = cls(io.BytesIO(archive.read("data.pkl")), **pickle_load_args)
    unpickler.persistent_load = persistent_load  # type: ignore[assignment]
    return unpickler.load()
