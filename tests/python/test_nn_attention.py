"""tensord.nn attention against torch 1.13: MultiheadAttention (masks, kdim/vdim,
batch_first, unbatched, head weights, add_bias_kv / add_zero_attn), scaled_dot_product_attention (against
softmax(QK^T/sqrt(d) + mask) V computed with torch) and the Transformer family.
Outputs and every parameter/input gradient in float64, dropout off."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
import tensord.nn.functional as F
from helpers import assert_close, copy_params, to_numpy

RNG = np.random.default_rng(7)
TOL = 1e-9


def randn(*shape):
    return RNG.standard_normal(shape)




def close(got, want, tol=TOL):
    assert_close(got, want, tol)


def run_both(ref, ours, theirs, arrays, call, masks=()):
    """call(lib, module, tensors, masks) on both sides; compares the results
    (a tensor or a tuple with None entries) and all gradients."""
    if theirs is not None:
        copy_params(ours, theirs)
    xs = [td.tensor(a, requires_grad=True) for a in arrays]
    ys = [ref.tensor(a, requires_grad=True) for a in arrays]
    mm = [None if m is None else td.tensor(m) for m in masks]
    mt = [None if m is None else ref.tensor(m) for m in masks]
    got, want = call(td, ours, xs, mm), call(ref, theirs, ys, mt)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    loss_m = loss_t = 0
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if w is None:
            continue
        close(g, w)
        proj = RNG.standard_normal(tuple(w.shape))
        loss_m = loss_m + (g * td.tensor(proj)).sum()
        loss_t = loss_t + (w * ref.tensor(proj)).sum()
    loss_m.backward()
    loss_t.backward()
    for x, y in zip(xs, ys):
        if y.grad is not None:
            close(x.grad, y.grad)
    if theirs is not None:
        mine = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            if p.grad is not None:
                close(mine[name].grad, p.grad)
    return got, want


def mha_pair(ref, *args, **kwargs):
    theirs = ref.nn.MultiheadAttention(*args, **kwargs).double().eval()
    ours = nn.MultiheadAttention(*args, **kwargs).double().eval()
    return ours, theirs


MHA_CASES = {
    "self": (dict(), "self"),
    "cross": (dict(), "cross"),
    "kdim_vdim": (dict(kdim=3, vdim=5), "cross"),
    "no_bias": (dict(bias=False), "cross"),
    "batch_first_self": (dict(batch_first=True), "self"),
    "batch_first_cross": (dict(batch_first=True, kdim=3, vdim=5), "cross"),
    "bias_kv_self": (dict(add_bias_kv=True), "self"),
    "bias_kv_cross": (dict(add_bias_kv=True, kdim=3, vdim=5), "cross"),
    "zero_attn_self": (dict(add_zero_attn=True), "self"),
    "zero_attn_no_bias": (dict(add_zero_attn=True, bias=False), "cross"),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), "cross"),
    "bias_kv_zero_attn_batch_first": (dict(add_bias_kv=True, add_zero_attn=True, batch_first=True, kdim=3,
                                           vdim=5), "cross"),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
@pytest.mark.parametrize("average", [True, False])
def test_mha_matches_torch(ref, case, average):
    kw, kind = MHA_CASES[case]
    ours, theirs = mha_pair(ref, 6, 2, **kw)
    L, S, N = 3, 4, 2
    bf = kw.get("batch_first", False)
    shape = (lambda n, e: (N, n, e)) if bf else (lambda n, e: (n, N, e))
    if kind == "self":
        arrays = [randn(*shape(L, 6))]

        def call(lib, m, xs, masks):
            return m(xs[0], xs[0], xs[0], average_attn_weights=average)
    else:
        arrays = [randn(*shape(L, 6)), randn(*shape(S, kw.get("kdim", 6))), randn(*shape(S, kw.get("vdim", 6)))]

        def call(lib, m, xs, masks):
            return m(*xs, average_attn_weights=average)
    run_both(ref, ours, theirs, arrays, call)


MASKS = {
    "bool_attn": lambda L, S, N, H: (RNG.random((L, S)) < 0.3, None),
    "float_attn": lambda L, S, N, H: (randn(L, S), None),
    "3d_bool_attn": lambda L, S, N, H: (RNG.random((N * H, L, S)) < 0.3, None),
    "bool_kpm": lambda L, S, N, H: (None, np.array([[False] * (S - 1) + [True], [False, True] + [False] * (S - 2)])),
    "float_kpm": lambda L, S, N, H: (None, randn(N, S)),
    "bool_attn_bool_kpm": lambda L, S, N, H: (RNG.random((L, S)) < 0.2,
                                              np.array([[False] * (S - 1) + [True], [False] * S])),
    "float_attn_bool_kpm": lambda L, S, N, H: (randn(L, S), np.array([[False] * (S - 1) + [True], [False] * S])),
}


# extra source positions: torch pads attn_mask and key_padding_mask with
# "not masked" for each
EXTRA_KEYS = {"plain": dict(), "bias_kv": dict(add_bias_kv=True), "zero_attn": dict(add_zero_attn=True),
              "both": dict(add_bias_kv=True, add_zero_attn=True)}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("extra", list(EXTRA_KEYS))
def test_mha_masks(ref, mask, need_weights, extra):
    ours, theirs = mha_pair(ref, 4, 2, **EXTRA_KEYS[extra])
    L, S, N = 3, 4, 2
    attn, kpm = MASKS[mask](L, S, N, 2)
    if attn is not None and attn.dtype == bool:
        attn[:, 0] = False  # no fully masked row: both sides would give NaN
        if attn.ndim == 3:
            attn[:, :, 0] = False

    def call(lib, m, xs, masks):
        return m(xs[0], xs[1], xs[1], attn_mask=masks[0], key_padding_mask=masks[1], need_weights=need_weights)
    run_both(ref, ours, theirs, [randn(L, N, 4), randn(S, N, 4)], call, masks=(attn, kpm))


@pytest.mark.parametrize("extra", list(EXTRA_KEYS))
def test_mha_unbatched(ref, extra):
    ours, theirs = mha_pair(ref, 4, 2, batch_first=True, **EXTRA_KEYS[extra])
    kpm = np.array([False, False, True])
    attn = np.array([[False, True, False], [True, False, False]])

    def call(lib, m, xs, masks):
        return m(xs[0], xs[1], xs[1], key_padding_mask=masks[0], attn_mask=masks[1])
    run_both(ref, ours, theirs, [randn(2, 4), randn(3, 4)], call, masks=(kpm, attn))


def test_mha_fully_masked_row_attends_to_the_extra_keys(ref):
    """A query whose every real key is masked still sees bias_k and the zero
    key (torch pads the masks with "not masked"), so no NaN appears."""
    ours, theirs = mha_pair(ref, 4, 2, add_bias_kv=True, add_zero_attn=True)
    kpm = np.array([[True, True, True], [False, True, False]])

    def call(lib, m, xs, masks):
        return m(xs[0], xs[1], xs[1], key_padding_mask=masks[0])
    got, _ = run_both(ref, ours, theirs, [randn(2, 2, 4), randn(3, 2, 4)], call, masks=(kpm,))
    assert np.isfinite(to_numpy(got[0])).all() and np.isfinite(to_numpy(got[1])).all()
    assert tuple(got[1].shape) == (2, 2, 5)  # 3 keys + bias_k + the zero key


def test_mha_noncontiguous_inputs(ref):
    ours, theirs = mha_pair(ref, 4, 2)

    def call(lib, m, xs, masks):
        q = xs[0].transpose(0, 1)
        return m(q, q, q)
    run_both(ref, ours, theirs, [randn(2, 3, 4)], call)


def test_mha_parameters_repr_init(ref):
    for kw in (dict(), dict(kdim=3, vdim=5), dict(bias=False), dict(add_bias_kv=True, add_zero_attn=True)):
        ours, theirs = mha_pair(ref, 4, 2, **kw)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert repr(ours) == repr(theirs)
    m = nn.MultiheadAttention(64, 4)
    w = to_numpy(m.in_proj_weight.detach())
    bound = math.sqrt(6.0 / (64 + 3 * 64))  # xavier_uniform_ over the (3E, E) matrix
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.9 * bound
    assert not to_numpy(m.in_proj_bias.detach()).any() and not to_numpy(m.out_proj.bias.detach()).any()
    assert m.bias_k is None and m.bias_v is None
    m = nn.MultiheadAttention(1024, 4, add_bias_kv=True)
    for b in (m.bias_k, m.bias_v):  # xavier_normal_ over (1, 1, E): std sqrt(2 / (E + E))
        v = to_numpy(b.detach())
        assert v.shape == (1, 1, 1024) and abs(v.std() - math.sqrt(1 / 1024)) < 0.1 * math.sqrt(1 / 1024)
    assert not np.array_equal(to_numpy(m.bias_k.detach()), to_numpy(m.bias_v.detach()))


def test_mha_errors(ref):
    for lib in (ref, td):
        with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
            lib.nn.MultiheadAttention(5, 2)
        m = lib.nn.MultiheadAttention(4, 2)
        with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is"):
            m(lib.zeros(3, 1, 4), lib.zeros(2, 1, 4), lib.zeros(2, 1, 4), attn_mask=lib.zeros(3, 3))
        with pytest.raises(AssertionError, match="expecting key_padding_mask shape of"):
            m(lib.zeros(3, 1, 4), lib.zeros(2, 1, 4), lib.zeros(2, 1, 4),
              key_padding_mask=lib.zeros(1, 3, dtype=lib.bool))
        m = lib.nn.MultiheadAttention(4, 2, add_bias_kv=True)
        x = lib.zeros(3, 1, 4)
        with pytest.raises(AssertionError):  # bias_k without bias_v
            lib.nn.functional.multi_head_attention_forward(
                x, x, x, 4, 2, m.in_proj_weight, m.in_proj_bias, m.bias_k, None, False, 0.0,
                m.out_proj.weight, m.out_proj.bias)


def sdpa_reference(ref, q, k, v, mask=None, is_causal=False, scale=None):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    bias = ref.zeros(L, S, dtype=q.dtype)
    if is_causal:
        bias = bias.masked_fill(~ref.ones(L, S, dtype=ref.bool).tril(), float("-inf"))
    if mask is not None:
        bias = bias.masked_fill(~mask, float("-inf")) if mask.dtype == ref.bool else bias + mask
    return ref.softmax(q @ k.transpose(-2, -1) * scale + bias, -1) @ v


SDPA_CASES = {
    "plain": (lambda: None, False, None),
    "causal": (lambda: None, True, None),
    "bool_mask": (lambda: np.concatenate([np.ones((3, 1), bool), RNG.random((3, 4)) < 0.6], 1), False, None),
    "float_mask": (lambda: randn(3, 5), False, None),
    "broadcast_mask": (lambda: randn(2, 1, 3, 5), False, 0.3),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_scaled_dot_product_attention(ref, case):
    make_mask, causal, scale = SDPA_CASES[case]
    mask = make_mask()

    def call(lib, m, xs, masks):
        if lib is td:
            return F.scaled_dot_product_attention(*xs, attn_mask=masks[0], is_causal=causal, scale=scale)
        return sdpa_reference(ref, *xs, mask=masks[0], is_causal=causal, scale=scale)
    run_both(ref, None, None, [randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 6)], call, masks=(mask,))


def test_sdpa_3d_and_noncontiguous(ref):
    def call(lib, m, xs, masks):
        q = xs[0].transpose(-2, -1)
        if lib is td:
            return F.scaled_dot_product_attention(q, xs[1], xs[2])
        return sdpa_reference(ref, q, xs[1], xs[2])
    run_both(ref, None, None, [randn(2, 3, 4), randn(2, 5, 3), randn(2, 5, 2)], call)


def test_sdpa_dropout_and_causal_mask_error():
    q = td.ones(1, 4, 2)
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    vals = to_numpy(out)
    assert set(np.unique(np.round(vals, 6))) <= {0.0, 0.5, 1.0, 1.5, 2.0}
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=td.zeros(4, 4), is_causal=True)


LAYER_CASES = {
    "post_norm_relu": dict(),
    "pre_norm_gelu": dict(norm_first=True, activation="gelu"),
    "batch_first_callable": dict(batch_first=True, activation="callable"),
}


def _layer_kwargs(ref, lib, kw):
    kw = dict(kw)
    if kw.get("activation") == "callable":
        kw["activation"] = lib.nn.GELU() if lib is not td else nn.GELU()
    return kw


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_encoder_layer(ref, case):
    kw = LAYER_CASES[case]
    theirs = ref.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, **_layer_kwargs(ref, ref, kw)).double()
    ours = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, **_layer_kwargs(ref, td, kw)).double()
    assert repr(ours) == repr(theirs)
    L, N = 3, 2
    src = randn(N, L, 4) if kw.get("batch_first") else randn(L, N, 4)
    causal = np.triu(np.full((L, L), -np.inf), 1)
    kpm = np.array([[False, False, True], [False, False, False]])

    def call(lib, m, xs, masks):
        return m(xs[0], src_mask=masks[0], src_key_padding_mask=masks[1])
    run_both(ref, ours, theirs, [src], call, masks=(causal, kpm))


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_decoder_layer(ref, case):
    kw = LAYER_CASES[case]
    theirs = ref.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, **_layer_kwargs(ref, ref, kw)).double()
    ours = nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, **_layer_kwargs(ref, td, kw)).double()
    assert repr(ours) == repr(theirs)
    T, S, N = 3, 4, 2
    bf = kw.get("batch_first")
    tgt, mem = (randn(N, T, 4), randn(N, S, 4)) if bf else (randn(T, N, 4), randn(S, N, 4))
    causal = np.triu(np.full((T, T), -np.inf), 1)
    mkpm = np.array([[False, False, False, True], [False] * 4])

    def call(lib, m, xs, masks):
        return m(xs[0], xs[1], tgt_mask=masks[0], memory_key_padding_mask=masks[1])
    run_both(ref, ours, theirs, [tgt, mem], call, masks=(causal, mkpm))


def test_encoder_and_decoder_stacks(ref):
    enc_t = ref.nn.TransformerEncoder(ref.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 2,
                                      norm=ref.nn.LayerNorm(4)).double()
    enc_m = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 2, norm=nn.LayerNorm(4)).double()
    assert repr(enc_m) == repr(enc_t)
    assert [n for n, _ in enc_m.named_parameters()] == [n for n, _ in enc_t.named_parameters()]
    run_both(ref, enc_m, enc_t, [randn(3, 2, 4)], lambda lib, m, xs, masks: m(xs[0]))
    dec_t = ref.nn.TransformerDecoder(ref.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0), 2).double()
    dec_m = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0), 2).double()
    run_both(ref, dec_m, dec_t, [randn(3, 2, 4), randn(4, 2, 4)], lambda lib, m, xs, masks: m(xs[0], xs[1]))


def test_clones_are_independent():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    np.testing.assert_array_equal(to_numpy(a.detach()), to_numpy(b.detach()))
    with td.no_grad():
        a.add_(1.0)
    assert not np.array_equal(to_numpy(a.detach()), to_numpy(b.detach()))


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer(ref, batch_first):
    theirs = ref.nn.Transformer(4, 2, 1, 2, 8, dropout=0.0, batch_first=batch_first).double()
    ours = nn.Transformer(4, 2, 1, 2, 8, dropout=0.0, batch_first=batch_first).double()
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    S, T, N = 4, 3, 2
    src, tgt = (randn(N, S, 4), randn(N, T, 4)) if batch_first else (randn(S, N, 4), randn(T, N, 4))
    tgt_mask = np.triu(np.full((T, T), -np.inf), 1)

    def call(lib, m, xs, masks):
        return m(xs[0], xs[1], tgt_mask=masks[0])
    run_both(ref, ours, theirs, [src, tgt], call, masks=(tgt_mask,))


def test_generate_square_subsequent_mask(ref):
    got = nn.Transformer.generate_square_subsequent_mask(4)
    want = ref.nn.Transformer.generate_square_subsequent_mask(4)
    assert got.dtype == td.float32
    np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_transformer_default_init_is_xavier():
    t = nn.Transformer(8, 2, 1, 1, 16)
    w = to_numpy(t.encoder.layers[0].linear1.weight.detach())
    bound = math.sqrt(6.0 / (8 + 16))
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.8 * bound
