"""tensord.nn recurrent layers against torch 1.13: RNN/LSTM/GRU (layers,
directions, batch_first, unbatched, h0/c0, PackedSequence), their cells, and
nn.utils.rnn. Outputs, final states and every parameter/input gradient are
compared in float64 with the same parameters."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
from helpers import assert_close, copy_params, to_numpy

RNG = np.random.default_rng(5)
TOL = 1e-9


def randn(*shape):
    return RNG.standard_normal(shape)




def close(got, want, tol=TOL):
    assert_close(got, want, tol)


def flat(out):
    """The tensors of a layer's result: output (or packed data), h_n, c_n."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], tuple):
        return flat(out[0]) + list(out[1])
    if isinstance(out, tuple) and not hasattr(out, "batch_sizes"):
        return [t for o in out for t in flat(o)]
    if hasattr(out, "batch_sizes"):
        return [out.data]
    return [out]


def compare(ref, ours, theirs, inputs_np, make_args=None, grad=True):
    """Runs both modules on the same float64 inputs; compares every result
    tensor and the gradients of a random projection of all of them."""
    copy_params(ours, theirs)
    xs = [td.tensor(a, requires_grad=grad) for a in inputs_np]
    ys = [ref.tensor(a, requires_grad=grad) for a in inputs_np]
    args_m = make_args(td, xs) if make_args else xs
    args_t = make_args(ref, ys) if make_args else ys
    got, want = flat(ours(*args_m)), flat(theirs(*args_t))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        close(g, w)
    if not grad:
        return
    loss_m = loss_t = 0
    for g, w in zip(got, want):
        proj = RNG.standard_normal(tuple(w.shape))
        loss_m = loss_m + (g * td.tensor(proj)).sum()
        loss_t = loss_t + (w * ref.tensor(proj)).sum()
    loss_m.backward()
    loss_t.backward()
    for x, y in zip(xs, ys):
        close(x.grad, y.grad)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        close(mine[name].grad, p.grad)


def pair_modules(ref, cls, *args, **kwargs):
    theirs = getattr(ref.nn, cls)(*args, **kwargs).double()
    ours = getattr(nn, cls)(*args, **kwargs).double()
    return ours, theirs


LAYER_CASES = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("RNN", dict(bidirectional=True, bias=False)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(bias=False, batch_first=True)),
    ("LSTM", dict(proj_size=2, num_layers=2, bidirectional=True)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(bias=False)),
]


@pytest.mark.parametrize("cls,kw", LAYER_CASES, ids=[f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                                                     for c, kw in LAYER_CASES])
@pytest.mark.parametrize("with_h0", [False, True])
def test_layer_matches_torch(ref, cls, kw, with_h0):
    ours, theirs = pair_modules(ref, cls, 3, 4, **kw)
    L, N = 4, 2
    shape = (N, L, 3) if kw.get("batch_first") else (L, N, 3)
    inputs = [randn(*shape)]
    if with_h0:
        dirs = 2 if kw.get("bidirectional") else 1
        layers = kw.get("num_layers", 1)
        hsize = kw.get("proj_size", 0) or 4
        inputs.append(randn(layers * dirs, N, hsize))
        if cls == "LSTM":
            inputs.append(randn(layers * dirs, N, 4))

    def make_args(lib, xs):
        if len(xs) == 1:
            return xs
        return [xs[0], (xs[1], xs[2])] if cls == "LSTM" else xs
    compare(ref, ours, theirs, inputs, make_args)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(ref, cls, batch_first):
    ours, theirs = pair_modules(ref, cls, 3, 4, bidirectional=True, batch_first=batch_first)
    inputs = [randn(5, 3), randn(2, 4)] + ([randn(2, 4)] if cls == "LSTM" else [])

    def make_args(lib, xs):
        return [xs[0], (xs[1], xs[2])] if cls == "LSTM" else xs
    compare(ref, ours, theirs, inputs, make_args)


def test_noncontiguous_input(ref):
    ours, theirs = pair_modules(ref, "LSTM", 3, 4)
    compare(ref, ours, theirs, [randn(2, 5, 3)], lambda lib, xs: [xs[0].transpose(0, 1)])


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence(ref, cls, enforce_sorted, bidirectional):
    ours, theirs = pair_modules(ref, cls, 3, 4, num_layers=2, bidirectional=bidirectional)
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    dirs = 2 if bidirectional else 1
    inputs = [randn(5, 4, 3), randn(2 * dirs, 4, 4)] + ([randn(2 * dirs, 4, 4)] if cls == "LSTM" else [])

    def make_args(lib, xs):
        packed = lib.nn.utils.rnn.pack_padded_sequence(xs[0], lengths, enforce_sorted=enforce_sorted)
        return [packed, (xs[1], xs[2]) if cls == "LSTM" else xs[1]]
    compare(ref, ours, theirs, inputs, make_args)


def test_packed_output_pads_back(ref):
    ours, theirs = pair_modules(ref, "GRU", 3, 4, batch_first=True)
    copy_params(ours, theirs)
    x = randn(3, 4, 3)
    lengths = [2, 4, 1]
    pm = nn.utils.rnn.pack_padded_sequence(td.tensor(x), lengths, batch_first=True, enforce_sorted=False)
    pt = ref.nn.utils.rnn.pack_padded_sequence(ref.tensor(x), lengths, batch_first=True, enforce_sorted=False)
    om, hm = ours(pm)
    ot, ht = theirs(pt)
    pad_m, len_m = nn.utils.rnn.pad_packed_sequence(om, batch_first=True, padding_value=-1.0, total_length=5)
    pad_t, len_t = ref.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True, padding_value=-1.0, total_length=5)
    close(pad_m, pad_t)
    close(hm, ht)
    assert len_m.tolist() == len_t.tolist()


def test_pack_pad_roundtrip_and_fields(ref):
    x = randn(4, 3, 2)
    lengths = [4, 2, 3]
    pm = nn.utils.rnn.pack_padded_sequence(td.tensor(x), lengths, enforce_sorted=False)
    pt = ref.nn.utils.rnn.pack_padded_sequence(ref.tensor(x), lengths, enforce_sorted=False)
    close(pm.data, pt.data)
    assert pm.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pm.sorted_indices.tolist() == pt.sorted_indices.tolist()
    assert pm.unsorted_indices.tolist() == pt.unsorted_indices.tolist()
    data, batch_sizes, sorted_indices, unsorted_indices = pm  # a 4-tuple, as torch's
    padded, lens = nn.utils.rnn.pad_packed_sequence(pm)
    want, want_lens = ref.nn.utils.rnn.pad_packed_sequence(pt)
    close(padded, want)
    assert lens.tolist() == want_lens.tolist()


def test_pack_sequence_and_pad_sequence(ref):
    seqs = [randn(3, 2), randn(1, 2), randn(2, 2)]
    got = nn.utils.rnn.pack_sequence([td.tensor(s) for s in seqs], enforce_sorted=False)
    want = ref.nn.utils.rnn.pack_sequence([ref.tensor(s) for s in seqs], enforce_sorted=False)
    close(got.data, want.data)
    close(nn.utils.rnn.pad_sequence([td.tensor(s) for s in seqs], batch_first=True, padding_value=2.0),
          ref.nn.utils.rnn.pad_sequence([ref.tensor(s) for s in seqs], batch_first=True, padding_value=2.0))


def test_pack_padded_sequence_errors():
    x = td.zeros(3, 2, 1)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        nn.utils.rnn.pack_padded_sequence(x, [1, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        nn.utils.rnn.pack_padded_sequence(x, [3, 0])


CELL_CASES = [("RNNCell", dict()), ("RNNCell", dict(nonlinearity="relu", bias=False)),
              ("LSTMCell", dict()), ("LSTMCell", dict(bias=False)), ("GRUCell", dict()),
              ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("cls,kw", CELL_CASES, ids=[f"{c}-{kw}" for c, kw in CELL_CASES])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_h", [True, False])
def test_cell_matches_torch(ref, cls, kw, batched, with_h):
    ours, theirs = pair_modules(ref, cls, 3, 4, **kw)
    lead = (2,) if batched else ()
    inputs = [randn(*lead, 3)]
    if with_h:
        inputs += [randn(*lead, 4)] * (2 if cls == "LSTMCell" else 1)

    def make_args(lib, xs):
        if len(xs) == 3:
            return [xs[0], (xs[1], xs[2])]
        return xs
    compare(ref, ours, theirs, inputs, make_args)


def test_cell_rejects_3d_input(ref):
    with pytest.raises(AssertionError, match="LSTMCell: Expected input to be 1-D or 2-D"):
        nn.LSTMCell(3, 4)(td.zeros(1, 2, 3))
    with pytest.raises(AssertionError):
        ref.nn.LSTMCell(3, 4)(ref.zeros(1, 2, 3))


@pytest.mark.parametrize("cls,kw", LAYER_CASES + CELL_CASES,
                         ids=[f"{c}-{kw}" for c, kw in LAYER_CASES + CELL_CASES])
def test_parameters_and_repr(ref, cls, kw):
    ours, theirs = pair_modules(ref, cls, 3, 4, **kw)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    if hasattr(theirs, "_flat_weights_names"):
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == \
            [[tuple(p.shape) for p in ws] for ws in theirs.all_weights]
        ours.flatten_parameters()


@pytest.mark.parametrize("cls", ["LSTM", "GRUCell"])
def test_default_init_bounds(cls):
    m = getattr(nn, cls)(8, 25)
    bound = 1 / math.sqrt(25)
    for _, p in m.named_parameters():
        v = to_numpy(p.detach())
        assert v.min() >= -bound and v.max() <= bound
        assert v.max() > 0.8 * bound and v.min() < -0.8 * bound  # uniform fills the range


def test_constructor_errors():
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sin'"):
        nn.RNN(3, 4, nonlinearity="sin")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)


def test_forward_errors_match_torch(ref):
    for lib in (ref, td):
        with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"):
            lib.nn.LSTM(3, 4)(lib.zeros(2, 1, 2, dtype=lib.float32))
        with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 1, 4\), got \[1, 2, 4\]"):
            lib.nn.GRU(3, 4)(lib.zeros(2, 1, 3), lib.zeros(1, 2, 4))
        with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D"):
            lib.nn.RNN(3, 4)(lib.zeros(2, 1, 3), lib.zeros(1, 4))
        with pytest.raises(RuntimeError, match="input must have 3 dimensions, got 5"):
            lib.nn.RNN(3, 4)(lib.zeros(2, 1, 1, 3))


def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = td.tensor(randn(4, 2, 3))
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    m.train()
    outs = [to_numpy(m(x)[0]) for _ in range(3)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])


def test_float32_lstm(ref):
    theirs = ref.nn.LSTM(3, 4)
    ours = nn.LSTM(3, 4)
    copy_params(ours, theirs)
    x = randn(3, 2, 3).astype(np.float32)
    got, (h, c) = ours(td.tensor(x))
    want, (h2, c2) = theirs(ref.tensor(x))
    assert got.dtype == td.float32
    close(got, want, 1e-5)
    close(c, c2, 1e-5)
