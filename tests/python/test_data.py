"""tensord.utils.data against torch.utils.data (torch 1.13) on the same datasets."""

from __future__ import annotations

import collections
import warnings
from typing import Any

import numpy as np
import pytest
import tensord as td
from helpers import assert_meta_matches, assert_same
from tensord.utils import data as tdd

Point = collections.namedtuple("Point", ["x", "label"])


class ListDataset:
    """Map-style dataset over a list; usable by both tensord's and torch's DataLoader."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __getitem__(self, i: int) -> Any:
        return self.items[i]

    def __len__(self) -> int:
        return len(self.items)


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def samples(kind: str, n: int = 10) -> list:
    r = _rng()
    if kind == "numpy-float32":
        return [r.standard_normal(3).astype(np.float32) for _ in range(n)]
    if kind == "numpy-int-2d":
        return [r.integers(-5, 5, size=(2, 3)) for _ in range(n)]
    if kind == "numpy-bool-0d":
        return [np.array(bool(r.integers(2))) for _ in range(n)]
    if kind == "numpy-noncontig":
        return [r.standard_normal((3, 4))[:, ::2].T for _ in range(n)]
    if kind == "numpy-scalar":
        return [np.float64(r.standard_normal()) for _ in range(n)]
    if kind == "numpy-int32-scalar":
        return [np.int32(r.integers(100)) for _ in range(n)]
    if kind == "float":
        return [float(r.standard_normal()) for _ in range(n)]
    if kind == "int":
        return [int(r.integers(100)) for _ in range(n)]
    if kind == "bool":
        return [bool(r.integers(2)) for _ in range(n)]
    if kind == "str":
        return [f"s{i}" for i in range(n)]
    if kind == "tuple":
        return [
            (r.standard_normal(2).astype(np.float32), int(r.integers(10)))
            for _ in range(n)
        ]
    if kind == "list":
        return [[float(i), i, np.arange(i, i + 2)] for i in range(n)]
    if kind == "dict":
        return [
            {"x": r.standard_normal(4), "y": i % 3, "name": f"n{i}"} for i in range(n)
        ]
    if kind == "namedtuple":
        return [
            Point(r.standard_normal((2, 2)).astype(np.float32), i) for i in range(n)
        ]
    if kind == "nested":
        return [
            {"a": (np.full(2, i, dtype=np.int16), {"b": float(i)}), "c": [i, i + 1]}
            for i in range(n)
        ]
    raise AssertionError(kind)


KINDS = [
    "numpy-float32",
    "numpy-int-2d",
    "numpy-bool-0d",
    "numpy-noncontig",
    "numpy-scalar",
    "numpy-int32-scalar",
    "float",
    "int",
    "bool",
    "str",
    "tuple",
    "list",
    "dict",
    "namedtuple",
    "nested",
]


def assert_batch_same(got: Any, want: Any, where: str = "batch") -> None:
    import torch

    if isinstance(want, torch.Tensor):
        assert isinstance(got, td.Tensor), (
            f"{where}: {type(got).__name__} is not a tensord.Tensor"
        )
        assert_same(got, want)
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want), where
        for k in want:
            assert_batch_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), (
            f"{where}: {type(got)} vs {type(want)}"
        )
        for i, (g, w) in enumerate(zip(got, want)):
            assert_batch_same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


def all_batches(loader: Any) -> list:
    return list(loader)


def flat(loader: Any) -> list:
    """One epoch's sample order: the batches' values, concatenated."""
    return [v for b in loader for v in b.tolist()]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "batch_size,drop_last",
    [(1, False), (3, False), (3, True), (4, True), (10, False), (None, False)],
)
def test_batches_match_torch(
    ref: Any, kind: str, batch_size: Any, drop_last: bool
) -> None:
    ds = ListDataset(samples(kind))
    want = all_batches(
        ref.utils.data.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    )
    got = all_batches(tdd.DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    assert (
        len(got)
        == len(want)
        == len(tdd.DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    )
    for i, (g, w) in enumerate(zip(got, want)):
        assert_batch_same(g, w, f"batch {i}")


@pytest.mark.parametrize("n,batch_size", [(0, 2), (1, 4), (7, 7), (9, 2), (10, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_length_and_drop_last_match_torch(
    ref: Any, n: int, batch_size: int, drop_last: bool
) -> None:
    ds = ListDataset(list(range(n)))
    want = ref.utils.data.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    got = tdd.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    assert len(got) == len(want)
    assert [b.tolist() for b in got] == [b.tolist() for b in want]


def test_shuffle_gives_a_permutation_per_epoch_and_a_seed_reproduces_it() -> None:
    ds = ListDataset(list(range(50)))
    loader = tdd.DataLoader(
        ds, batch_size=8, shuffle=True, generator=td.Generator().manual_seed(3)
    )
    epochs = [flat(loader) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(50))
    assert epochs[0] != epochs[1] != epochs[2]
    again = tdd.DataLoader(
        ds, batch_size=8, shuffle=True, generator=td.Generator().manual_seed(3)
    )
    assert [flat(again) for _ in range(3)] == epochs
    other = tdd.DataLoader(
        ds, batch_size=8, shuffle=True, generator=td.Generator().manual_seed(4)
    )
    assert flat(other) != epochs[0]


def test_unseeded_shuffle_follows_tensord_manual_seed() -> None:
    ds = ListDataset(list(range(40)))

    def epoch() -> list:
        return flat(tdd.DataLoader(ds, batch_size=5, shuffle=True))

    td.manual_seed(11)
    first = [epoch(), epoch()]
    td.manual_seed(11)
    assert [epoch(), epoch()] == first
    assert first[0] != first[1] and sorted(first[0]) == list(range(40))


def test_custom_collate_fn_sees_the_sample_list() -> None:
    seen = []

    def collate(batch: list) -> Any:
        seen.append(list(batch))
        return td.tensor([s * 10 for s in batch])

    out = [
        b.tolist()
        for b in tdd.DataLoader(
            ListDataset(list(range(5))), batch_size=2, collate_fn=collate
        )
    ]
    assert seen == [[0, 1], [2, 3], [4]]
    assert out == [[0, 10], [20, 30], [40]]


def test_tensor_dataset_indexes_tensord_tensors_as_views(ref: Any) -> None:
    x_np = np.arange(24, dtype=np.float32).reshape(6, 4)
    y_np = np.arange(6) % 2
    x, y = td.from_numpy(x_np), td.from_numpy(y_np)
    ds = tdd.TensorDataset(x, y)
    assert len(ds) == 6
    row, _label = ds[2]
    assert row.storage_offset() == 8 and tuple(row.shape) == (4,)
    assert_meta_matches(row)
    row.add_(100)  # a view: the write lands in x
    assert x[2].tolist() == [108.0, 109.0, 110.0, 111.0]
    x_np[2] += 100
    want = list(
        ref.utils.data.DataLoader(
            ref.utils.data.TensorDataset(ref.from_numpy(x_np), ref.from_numpy(y_np)),
            batch_size=4,
        )
    )
    got = list(tdd.DataLoader(ds, batch_size=4))
    assert_batch_same(got, want)


def test_tensor_dataset_over_non_contiguous_tensors(ref: Any) -> None:
    base = np.arange(30, dtype=np.float64).reshape(5, 6)
    x = td.from_numpy(base).t()[::2]  # (3, 5), strided
    want_x = ref.from_numpy(base).t()[::2]
    got = list(tdd.DataLoader(tdd.TensorDataset(x), batch_size=2))
    want = list(
        ref.utils.data.DataLoader(ref.utils.data.TensorDataset(want_x), batch_size=2)
    )
    assert_batch_same(got, want)


def test_tensor_dataset_size_mismatch_fails() -> None:
    with pytest.raises(AssertionError, match="Size mismatch"):
        tdd.TensorDataset(td.zeros(3, 2), td.zeros(4))


def test_a_batch_of_numpy_samples_is_one_upload() -> None:
    ds = ListDataset(samples("numpy-float32", 16))
    loader = tdd.DataLoader(ds, batch_size=8)
    it = iter(loader)
    before, ops_before = td._C.op_counts(), td._C.stats()["ops_recorded"]
    batch = next(it)
    after, ops_after = td._C.op_counts(), td._C.stats()["ops_recorded"]
    assert tuple(batch.shape) == (8, 3)
    assert after["from_data"] - before["from_data"] == 1
    assert ops_after - ops_before == 1
    np.testing.assert_array_equal(batch.numpy(), np.stack(ds.items[:8]))


def test_a_batch_of_numbers_is_one_upload() -> None:
    loader = tdd.DataLoader(ListDataset(samples("float", 12)), batch_size=12)
    before = td._C.stats()["ops_recorded"]
    batch = next(iter(loader))
    assert td._C.stats()["ops_recorded"] - before == 1
    assert batch.dtype is td.float64


def test_a_batch_of_tensord_tensors_is_one_stack() -> None:
    items = [td.full((3,), float(i)) for i in range(6)]
    loader = tdd.DataLoader(ListDataset(items), batch_size=6)
    before = td._C.op_counts()
    batch = next(iter(loader))
    after = td._C.op_counts()
    assert after["stack"] - before["stack"] == 1
    assert after["from_data"] == before["from_data"]
    assert batch.tolist() == [[float(i)] * 3 for i in range(6)]


def test_default_collate_of_tensord_tensors_matches_torch(ref: Any) -> None:
    r = _rng()
    arrs = [r.standard_normal((2, 3)) for _ in range(4)]
    got = tdd.default_collate(
        [td.from_numpy(a).t() for a in arrs]
    )  # non-contiguous samples
    want = ref.utils.data.default_collate([ref.from_numpy(a).t() for a in arrs])
    assert_same(got, want)
    got0 = tdd.default_collate([td.tensor(i) for i in range(3)])  # 0-d samples
    assert_same(got0, ref.utils.data.default_collate([ref.tensor(i) for i in range(3)]))


def test_default_collate_of_mixed_numpy_dtypes_promotes_like_torch(ref: Any) -> None:
    batch = [np.arange(3), np.ones(3, dtype=np.float32)]
    assert_same(tdd.default_collate(batch), ref.utils.data.default_collate(batch))


@pytest.mark.parametrize(
    "batch",
    [
        [np.zeros(2), np.zeros(3)],
        [np.array(["a", "b"]), np.array(["c", "d"])],
        [[1, 2], [3]],
        [object(), object()],
        [np.zeros(2, dtype=np.uint16), np.zeros(2, dtype=np.uint16)],
    ],
    ids=["numpy-shapes", "numpy-strings", "list-lengths", "object", "uint16"],
)
def test_default_collate_errors_match_torch(ref: Any, batch: list) -> None:
    with pytest.raises(Exception) as want:
        ref.utils.data.default_collate(batch)
    with pytest.raises(Exception) as got:
        tdd.default_collate(batch)
    assert type(got.value) is type(want.value)
    # tensord's dtype error lists tensord's dtypes (no complex) after "The only supported types".
    assert str(got.value).split(" The only")[0] == str(want.value).split(" The only")[0]


@pytest.mark.parametrize(
    "kind", ["numpy-float32", "dict", "tuple", "namedtuple", "str", "int"]
)
def test_default_convert_matches_torch(ref: Any, kind: str) -> None:
    for s in samples(kind, 3):
        assert_batch_same(tdd.default_convert(s), ref.utils.data.default_convert(s))


class Stream(tdd.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Any:
        return iter(np.arange(self.n, dtype=np.float32) * 0.5)

    def __len__(self) -> int:
        return self.n


@pytest.mark.parametrize(
    "n,batch_size,drop_last",
    [(7, 3, False), (7, 3, True), (6, 3, True), (5, None, False)],
)
def test_iterable_dataset_batches_match_torch(
    ref: Any, n: int, batch_size: Any, drop_last: bool
) -> None:
    class RefStream(ref.utils.data.IterableDataset):
        def __iter__(self) -> Any:
            return iter(np.arange(n, dtype=np.float32) * 0.5)

        def __len__(self) -> int:
            return n

    want = ref.utils.data.DataLoader(
        RefStream(), batch_size=batch_size, drop_last=drop_last
    )
    got = tdd.DataLoader(Stream(n), batch_size=batch_size, drop_last=drop_last)
    assert len(got) == len(want)
    assert_batch_same(list(got), list(want))


def test_chain_and_concat_datasets(ref: Any) -> None:
    chained = Stream(3) + Stream(2)
    assert isinstance(chained, tdd.ChainDataset) and len(chained) == 5
    assert [float(v) for v in chained] == [0.0, 0.5, 1.0, 0.0, 0.5]
    a, b = ListDataset([0, 1, 2]), ListDataset([10, 11])
    got, want = tdd.ConcatDataset([a, b]), ref.utils.data.ConcatDataset([a, b])
    assert len(got) == len(want) == 5
    assert [got[i] for i in range(-5, 5)] == [want[i] for i in range(-5, 5)]
    assert got.cumulative_sizes == want.cumulative_sizes
    with pytest.raises(ValueError, match="absolute value of index"):
        got[-6]

    class Sized(tdd.Dataset):
        def __getitem__(self, i: int) -> int:
            return i

        def __len__(self) -> int:
            return 2

    both = Sized() + Sized()
    assert isinstance(both, tdd.ConcatDataset) and [both[i] for i in range(4)] == [
        0,
        1,
        0,
        1,
    ]
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        tdd.ConcatDataset([a, Stream(2)])


def test_subset_indexes_through(ref: Any) -> None:
    base = ListDataset(list(range(100, 110)))
    got, want = tdd.Subset(base, [9, 0, 4]), ref.utils.data.Subset(base, [9, 0, 4])
    assert len(got) == 3 and [got[i] for i in range(3)] == [
        want[i] for i in range(3)
    ] == [109, 100, 104]


@pytest.mark.parametrize(
    "lengths",
    [[3, 7], [0, 10], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34], [1.0]],
)
def test_random_split_lengths_match_torch_and_partition(
    ref: Any, lengths: list
) -> None:
    ds = ListDataset(list(range(10)))
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        want = ref.utils.data.random_split(
            ds, lengths, generator=ref.Generator().manual_seed(0)
        )
    with warnings.catch_warnings(record=True) as dw:
        warnings.simplefilter("always")
        got = tdd.random_split(ds, lengths, generator=td.Generator().manual_seed(0))
    assert [str(w.message) for w in dw] == [str(w.message) for w in tw]
    assert [len(s) for s in got] == [len(s) for s in want]
    assert sorted(i for s in got for i in s.indices) == list(range(10))
    assert all(isinstance(s, tdd.Subset) for s in got)
    again = tdd.random_split(ds, lengths, generator=td.Generator().manual_seed(0))
    assert [s.indices for s in again] == [s.indices for s in got]


def test_random_split_without_generator_follows_manual_seed() -> None:
    ds = ListDataset(list(range(30)))
    td.manual_seed(5)
    a = [s.indices for s in tdd.random_split(ds, [10, 20])]
    td.manual_seed(5)
    assert [s.indices for s in tdd.random_split(ds, [10, 20])] == a


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [-0.5, 1.5]])
def test_random_split_errors_match_torch(ref: Any, lengths: list) -> None:
    ds = ListDataset(list(range(10)))
    with pytest.raises(Exception) as want:
        ref.utils.data.random_split(ds, lengths)
    with pytest.raises(Exception) as got:
        tdd.random_split(ds, lengths)
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)


def test_sequential_and_batch_samplers_match_torch(ref: Any) -> None:
    ds = ListDataset(list(range(11)))
    assert list(tdd.SequentialSampler(ds)) == list(ref.utils.data.SequentialSampler(ds))
    for bs in (1, 4, 11, 12):
        for drop in (False, True):
            got = tdd.BatchSampler(tdd.SequentialSampler(ds), bs, drop)
            want = ref.utils.data.BatchSampler(
                ref.utils.data.SequentialSampler(ds), bs, drop
            )
            assert list(got) == list(want) and len(got) == len(want)


def test_random_sampler_options() -> None:
    ds = ListDataset(list(range(7)))
    g = td.Generator().manual_seed(1)
    order = list(tdd.RandomSampler(ds, generator=g))
    assert sorted(order) == list(range(7))
    long = list(tdd.RandomSampler(ds, num_samples=17, generator=g))
    assert len(long) == 17 and sorted(long[:7]) == sorted(long[7:14]) == list(range(7))
    assert set(long[14:]) <= set(range(7)) and len(set(long[14:])) == 3
    drawn = list(tdd.RandomSampler(ds, replacement=True, num_samples=100, generator=g))
    assert len(drawn) == 100 and set(drawn) == set(
        range(7)
    )  # 100 draws of 7 values hit all
    assert len(tdd.RandomSampler(ds, replacement=True, num_samples=100)) == 100
    a = list(
        tdd.RandomSampler(
            ds,
            replacement=True,
            num_samples=40,
            generator=td.Generator().manual_seed(9),
        )
    )
    b = list(
        tdd.RandomSampler(
            ds,
            replacement=True,
            num_samples=40,
            generator=td.Generator().manual_seed(9),
        )
    )
    assert a == b


def test_subset_random_sampler_permutes_the_indices() -> None:
    idx = [3, 8, 13, 21, 34]
    got = list(tdd.SubsetRandomSampler(idx, generator=td.Generator().manual_seed(0)))
    assert sorted(got) == idx and len(tdd.SubsetRandomSampler(idx)) == 5


def test_weighted_random_sampler() -> None:
    g = td.Generator().manual_seed(2)
    drawn = list(tdd.WeightedRandomSampler([1.0, 0.0, 2.0, 7.0], 20000, generator=g))
    freq = np.bincount(drawn, minlength=4) / len(drawn)
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.2, 0.7], atol=0.02)
    once = list(
        tdd.WeightedRandomSampler(
            td.tensor([1.0, 0.0, 2.0, 7.0]), 3, replacement=False, generator=g
        )
    )
    assert sorted(once) == [0, 2, 3]  # the zero weight comes only after the others
    every = list(
        tdd.WeightedRandomSampler(
            [1.0, 0.0, 2.0, 7.0], 4, replacement=False, generator=g
        )
    )
    assert sorted(every) == [0, 1, 2, 3] and every[-1] == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda m, ds: m.RandomSampler(ds, num_samples=0),
        lambda m, ds: m.RandomSampler(ds, replacement=1),
        lambda m, ds: m.WeightedRandomSampler([1.0, 2.0], 0),
        lambda m, ds: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=None),
        lambda m, ds: m.WeightedRandomSampler([[1.0, 2.0]], 2),
        lambda m, ds: m.BatchSampler(range(3), 0, False),
        lambda m, ds: m.BatchSampler(range(3), 2, 1),
        lambda m, ds: list(m.WeightedRandomSampler([1.0, -1.0], 2)),
        lambda m, ds: list(m.WeightedRandomSampler([0.0, 0.0], 2)),
        lambda m, ds: list(m.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)),
        lambda m, ds: m.DataLoader(ds, shuffle=True, sampler=[0, 1]),
        lambda m, ds: m.DataLoader(ds, batch_sampler=[[0]], batch_size=2),
        lambda m, ds: m.DataLoader(ds, batch_size=None, drop_last=True),
        lambda m, ds: m.DataLoader(ds, num_workers=-1),
        lambda m, ds: m.DataLoader(ds, timeout=-1),
        lambda m, ds: m.DataLoader(ds, prefetch_factor=4),
        lambda m, ds: m.DataLoader(ds, persistent_workers=True),
    ],
    ids=[
        "num_samples",
        "replacement",
        "weighted-num_samples",
        "weighted-replacement",
        "weighted-2d",
        "batch_size",
        "drop_last",
        "negative-weight",
        "zero-weights",
        "too-many",
        "shuffle+sampler",
        "batch_sampler+batch_size",
        "None+drop_last",
        "workers",
        "timeout",
        "prefetch",
        "persistent",
    ],
)
def test_sampler_and_loader_errors_match_torch(ref: Any, make: Any) -> None:
    ds = ListDataset(list(range(4)))
    with pytest.raises(Exception) as want:
        make(ref.utils.data, ds)
    with pytest.raises(Exception) as got:
        make(tdd, ds)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)


def test_loader_rejects_setting_its_sampler_after_init() -> None:
    loader = tdd.DataLoader(ListDataset([1, 2]))
    with pytest.raises(
        ValueError,
        match="batch_size attribute should not be set after DataLoader is initialized",
    ):
        loader.batch_size = 4


def test_iterable_dataset_rejects_shuffle_and_samplers() -> None:
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        tdd.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        tdd.DataLoader(Stream(3), sampler=[0])


def test_batch_sampler_and_sampler_arguments(ref: Any) -> None:
    ds = ListDataset(samples("numpy-float32", 9))
    bsampler = [[8, 0], [3, 3, 1], [5]]
    got = list(tdd.DataLoader(ds, batch_sampler=bsampler))
    want = list(ref.utils.data.DataLoader(ds, batch_sampler=bsampler))
    assert_batch_same(got, want)
    got = list(tdd.DataLoader(ds, sampler=[4, 2, 0, 6], batch_size=3))
    want = list(ref.utils.data.DataLoader(ds, sampler=[4, 2, 0, 6], batch_size=3))
    assert_batch_same(got, want)


def test_num_workers_runs_in_process_with_a_warning() -> None:
    seen = []

    class Probe(ListDataset):
        def __getitem__(self, i: int) -> Any:
            info = tdd.get_worker_info()
            seen.append((info.id, info.num_workers) if info else None)
            return super().__getitem__(i)

    calls = []

    def init(worker_id: int) -> None:
        info = tdd.get_worker_info()
        calls.append((worker_id, info.id, info.num_workers, info.seed))

    with pytest.warns(UserWarning, match="num_workers=3 runs as one in-process worker"):
        loader = tdd.DataLoader(
            Probe(list(range(5))),
            batch_size=2,
            num_workers=3,
            worker_init_fn=init,
            persistent_workers=True,
            prefetch_factor=4,
            generator=td.Generator().manual_seed(0),
        )
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    assert len(calls) == 1 and calls[0][:3] == (0, 0, 1)
    assert set(seen) == {(0, 1)}
    assert tdd.get_worker_info() is None
    with pytest.raises(RuntimeError, match="Cannot assign attributes"):
        tdd.dataloader.WorkerInfo(id=0).id = 1


def test_generator_api(ref: Any) -> None:
    g = td.Generator()
    assert g.initial_seed() == ref.Generator().initial_seed()
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    assert (
        td.Generator().manual_seed(-1).initial_seed()
        == ref.Generator().manual_seed(-1).initial_seed()
    )
    state = g.get_state()
    assert isinstance(state, td.Tensor) and state.dtype is td.uint8 and state.dim() == 1
    first = g._randperm(20)
    g.set_state(state)
    assert g._randperm(20) == first and g.initial_seed() == 42
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**64
    assert td.Generator().manual_seed(5)._randperm(30) == td.Generator().manual_seed(
        5
    )._randperm(30)
    with pytest.raises(TypeError, match="expected a tensord.ByteTensor"):
        g.set_state([1, 2, 3])
    with pytest.raises(RuntimeError, match="RNG state size"):
        g.set_state(td.zeros(3, dtype=td.uint8))
    with pytest.raises(TypeError):
        g.manual_seed(1.5)
    assert td.utils.data.DataLoader is tdd.DataLoader
