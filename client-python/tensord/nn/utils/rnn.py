"""nn.utils.rnn: PackedSequence, pack/pad helpers, as torch 1.13.

A PackedSequence's `data` holds the time steps one after another, step t
holding the first batch_sizes[t] sequences (sorted longest first). The batch
sizes are also kept as a Python list (`_sizes`) so the recurrent layers need
no round trip to read them.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, List, Optional, Sequence

_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                                     "unsorted_indices"])


def _td() -> Any:
    import tensord
    return tensord


def _as_list(lengths: Any) -> List[int]:
    if hasattr(lengths, "tolist"):
        lengths = lengths.tolist()
    return [int(n) for n in lengths]


def _index_tensor(values: Sequence[int]) -> Any:
    td = _td()
    return td.tensor(list(values), dtype=td.int64)


def _invert_permutation(perm: Optional[List[int]]) -> Optional[List[int]]:
    if perm is None:
        return None
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


class PackedSequence(_PackedSequenceBase):
    def __new__(cls, data: Any, batch_sizes: Any = None, sorted_indices: Any = None,
                unsorted_indices: Any = None) -> "PackedSequence":
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _index_tensor(_invert_permutation(_as_list(sorted_indices)))
        if batch_sizes is None:
            raise RuntimeError("tensord: PackedSequence needs batch_sizes")
        sizes = None
        if isinstance(batch_sizes, (list, tuple)):
            sizes = [int(b) for b in batch_sizes]
            batch_sizes = _index_tensor(sizes)
        self = super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        self._sizes = sizes
        return self

    def batch_size_list(self) -> List[int]:
        """batch_sizes as Python ints (cached: one daemon round trip at most)."""
        if self._sizes is None:
            self._sizes = _as_list(self.batch_sizes)
        return self._sizes

    def _with_data(self, data: Any) -> "PackedSequence":
        out = type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)
        out._sizes = self._sizes
        return out

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def cpu(self) -> "PackedSequence":
        return self._with_data(self.data.cpu())

    def double(self) -> "PackedSequence":
        return self._with_data(self.data.double())

    def float(self) -> "PackedSequence":
        return self._with_data(self.data.float())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0) -> Any:
    from .. import functional as F
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        pads = [0, 0] * (s.dim() - 1) + [0, max_len - s.shape[0]]
        padded.append(F.pad(s, pads, value=padding_value))
    return _td().stack(padded, 0 if batch_first else 1)


def pack_padded_sequence(input: Any, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    lens = _as_list(lengths)
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_idx: Optional[List[int]] = None
    else:
        sorted_idx = sorted(range(len(lens)), key=lambda i: -lens[i])
        lens = [lens[i] for i in sorted_idx]
    if batch_first:
        input = input.transpose(0, 1)
    if len(lens) != input.shape[1]:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                         f"(batch_size={input.shape[1]})")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens and lens[0] > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be smaller than or equal to {input.shape[0]}")
    if sorted_idx is not None:
        input = input.index_select(1, _index_tensor(sorted_idx))
    sizes = [sum(1 for n in lens if n > t) for t in range(lens[0] if lens else 0)]
    steps = [input.select(0, t).narrow(0, 0, b) for t, b in enumerate(sizes)]
    data = _td().cat(steps, 0)
    sorted_t = _index_tensor(sorted_idx) if sorted_idx is not None else None
    unsorted_t = _index_tensor(_invert_permutation(sorted_idx)) if sorted_idx is not None else None
    out = PackedSequence(data, sizes, sorted_t, unsorted_t)
    return out


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: Optional[int] = None) -> tuple:
    from .. import functional as F
    td = _td()
    sizes = sequence.batch_size_list() if isinstance(sequence, PackedSequence) \
        else _as_list(sequence.batch_sizes)
    data = sequence.data
    max_len = len(sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
    else:
        total_length = max_len
    batch = sizes[0]
    trailing = [0, 0] * (data.dim() - 1)
    steps, offset = [], 0
    for b in sizes:
        step = data.narrow(0, offset, b)
        offset += b
        steps.append(F.pad(step, trailing + [0, batch - b], value=padding_value) if b < batch else step)
    for _ in range(total_length - max_len):
        steps.append(td.full([batch] + list(data.shape[1:]), padding_value, dtype=data.dtype,
                             device=data._device_str))
    padded = td.stack(steps, 0)
    lengths = [sum(1 for b in sizes if b > i) for i in range(batch)]
    if sequence.unsorted_indices is not None:
        unsorted = _as_list(sequence.unsorted_indices)
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = [lengths[i] for i in unsorted]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, td.tensor(lengths, dtype=td.int64)


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
