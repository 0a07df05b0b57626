"""tensord.nn against torch 1.13: layers and functional (outputs and
gradients on the same inputs and parameters), initialisation statistics, and
the Module API (state_dict, load_state_dict errors, repr, hooks, containers)."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
import tensord.nn.functional as F
from helpers import assert_close, copy_params, to_numpy

RNG = np.random.default_rng(11)




def close(got, want, tol=1e-5):
    assert_close(got, want, tol)


def check_module(ref, ours, theirs, *arrays, tol=1e-5, grad_input=True):
    """Same forward output and gradients (inputs and parameters) for both."""
    copy_params(ours, theirs)
    xs = [td.tensor(a, requires_grad=grad_input and a.dtype.kind == "f") for a in arrays]
    ys = [ref.tensor(a, requires_grad=grad_input and a.dtype.kind == "f") for a in arrays]
    out_m, out_t = ours(*xs), theirs(*ys)
    close(out_m, out_t, tol)
    g = RNG.standard_normal(tuple(out_t.shape))
    if out_t.requires_grad:
        out_m.backward(td.tensor(g, dtype=out_m.dtype))
        out_t.backward(ref.tensor(g, dtype=out_t.dtype))
        for x, y in zip(xs, ys):
            if y.requires_grad:
                close(x.grad, y.grad, tol)
        mine = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            if p.grad is not None:
                close(mine[name].grad, p.grad, tol)
    return out_m, out_t


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


LAYERS = {
    "Linear": (lambda m: m.Linear(5, 3), [(4, 5)]),
    "Linear_nobias_3d": (lambda m: m.Linear(5, 3, bias=False), [(2, 4, 5)]),
    "Linear_1d": (lambda m: m.Linear(5, 3), [(5,)]),
    "Bilinear": (lambda m: m.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    "Identity": (lambda m: m.Identity(), [(3, 2)]),
    "Flatten": (lambda m: m.Flatten(), [(2, 3, 4)]),
    "Unflatten": (lambda m: m.Unflatten(1, (2, 3)), [(4, 6)]),
    "ReLU": (lambda m: m.ReLU(), [(4, 5)]),
    "ReLU6": (lambda m: m.ReLU6(), [(4, 5)]),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.2), [(4, 5)]),
    "PReLU": (lambda m: m.PReLU(3), [(2, 3, 4)]),
    "PReLU_single": (lambda m: m.PReLU(), [(6,)]),
    "ELU": (lambda m: m.ELU(0.7), [(4, 5)]),
    "SELU": (lambda m: m.SELU(), [(4, 5)]),
    "CELU": (lambda m: m.CELU(0.5), [(4, 5)]),
    "GELU": (lambda m: m.GELU(), [(4, 5)]),
    "GELU_tanh": (lambda m: m.GELU(approximate="tanh"), [(4, 5)]),
    "SiLU": (lambda m: m.SiLU(), [(4, 5)]),
    "Mish": (lambda m: m.Mish(), [(4, 5)]),
    "Tanh": (lambda m: m.Tanh(), [(4, 5)]),
    "Sigmoid": (lambda m: m.Sigmoid(), [(4, 5)]),
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 0.7), [(4, 5)]),
    "Hardswish": (lambda m: m.Hardswish(), [(4, 5)]),
    "Hardsigmoid": (lambda m: m.Hardsigmoid(), [(4, 5)]),
    "Softplus": (lambda m: m.Softplus(beta=2, threshold=1.5), [(4, 5)]),
    "LogSigmoid": (lambda m: m.LogSigmoid(), [(4, 5)]),
    "Softsign": (lambda m: m.Softsign(), [(4, 5)]),
    "Softmax": (lambda m: m.Softmax(dim=1), [(3, 4)]),
    "Softmin": (lambda m: m.Softmin(dim=0), [(3, 4)]),
    "LogSoftmax": (lambda m: m.LogSoftmax(dim=-1), [(2, 3, 4)]),
    "LayerNorm": (lambda m: m.LayerNorm(4), [(3, 4)]),
    "LayerNorm_2d": (lambda m: m.LayerNorm([3, 4], eps=1e-3), [(2, 3, 4)]),
    "LayerNorm_noaffine": (lambda m: m.LayerNorm(4, elementwise_affine=False), [(3, 4)]),
    "GroupNorm": (lambda m: m.GroupNorm(2, 4), [(3, 4, 5)]),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(4), [(6, 4)]),
    "BatchNorm1d_3d": (lambda m: m.BatchNorm1d(3, momentum=0.3), [(4, 3, 5)]),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), [(2, 3, 4, 4)]),
    "BatchNorm2d_noaffine": (lambda m: m.BatchNorm2d(3, affine=False), [(2, 3, 2, 2)]),
    "BatchNorm1d_nostats": (lambda m: m.BatchNorm1d(4, track_running_stats=False), [(5, 4)]),
    "Sequential_mlp": (lambda m: m.Sequential(m.Linear(4, 8), m.Tanh(), m.Linear(8, 2)), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(ref, name):
    build, shapes = LAYERS[name]
    arrays = [randn(*s) for s in shapes]
    ref.manual_seed(0)
    theirs = build(ref.nn)
    ours = build(nn)
    check_module(ref, ours, theirs, *arrays)
    assert repr(ours) == repr(theirs)
    # buffers (running stats) after a training step match too
    for (n1, b1), (n2, b2) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert n1 == n2
        close(b1, b2)


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d", "Dropout"])
def test_eval_mode_matches_torch(ref, name):
    build = {"BatchNorm1d": lambda m: m.BatchNorm1d(4), "BatchNorm2d": lambda m: m.BatchNorm2d(4),
             "Dropout": lambda m: m.Dropout(0.5)}[name]
    shape = (5, 4) if name != "BatchNorm2d" else (2, 4, 3, 3)
    theirs, ours = build(ref.nn), build(nn)
    x = randn(*shape)
    copy_params(ours, theirs)
    ours(td.tensor(x)), theirs(ref.tensor(x))  # one training step moves the running stats
    ours.eval(), theirs.eval()
    assert not ours.training
    check_module(ref, ours, theirs, randn(*shape))


def test_embedding_matches_torch(ref):
    for kwargs in ({}, {"padding_idx": 1}, {"padding_idx": -1}, {"max_norm": 1.0}):
        theirs, ours = ref.nn.Embedding(6, 3, **kwargs), nn.Embedding(6, 3, **kwargs)
        copy_params(ours, theirs)
        idx = np.array([[0, 1, 5], [1, 2, 1]])
        out_m = ours(td.tensor(idx))
        out_t = theirs(ref.tensor(idx))
        close(out_m, out_t)
        g = RNG.standard_normal(tuple(out_t.shape))
        out_m.backward(td.tensor(g, dtype=td.float32))
        out_t.backward(ref.tensor(g, dtype=ref.float32))
        close(ours.weight.grad, theirs.weight.grad)
        close(ours.weight, theirs.weight)  # max_norm renormalises rows in place
        assert repr(ours) == repr(theirs)


def test_embedding_rejects_float_indices():
    with pytest.raises(RuntimeError, match="indices"):
        nn.Embedding(3, 2)(td.tensor([0.0, 1.0]))


REDUCTIONS = ["none", "mean", "sum"]


def _loss_inputs(name):
    x, y = randn(4, 5), randn(4, 5)
    prob = 1 / (1 + np.exp(-x))
    return {
        "mse_loss": ((x, y), {}), "l1_loss": ((x, y), {}),
        "smooth_l1_loss": ((x, y), {"beta": 0.5}), "smooth_l1_loss_b0": ((x, y), {"beta": 0.0}),
        "huber_loss": ((x, y), {"delta": 0.7}),
        "binary_cross_entropy": ((prob, (y > 0).astype(np.float32)), {}),
        "binary_cross_entropy_w": ((prob, (y > 0).astype(np.float32)), {"weight": randn(5) ** 2}),
        "binary_cross_entropy_with_logits": ((x, (y > 0).astype(np.float32)), {}),
        "bce_logits_pos_weight": ((x * 10, 1 / (1 + np.exp(-y))), {"pos_weight": randn(5) ** 2,
                                                                    "weight": randn(5) ** 2}),
        "kl_div": ((np.log(prob), 1 / (1 + np.exp(-y))), {}),
        "kl_div_log_target": ((np.log(prob), np.log(1 / (1 + np.exp(-y)))), {"log_target": True}),
        "soft_margin_loss": ((x, np.sign(y)), {}),
    }[name]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "smooth_l1_loss_b0",
                                  "huber_loss", "binary_cross_entropy", "binary_cross_entropy_w",
                                  "binary_cross_entropy_with_logits", "bce_logits_pos_weight",
                                  "kl_div", "kl_div_log_target", "soft_margin_loss"])
def test_elementwise_losses_match_torch(ref, name, reduction):
    (a, b), kwargs = _loss_inputs(name)
    fname = {"smooth_l1_loss_b0": "smooth_l1_loss", "binary_cross_entropy_w": "binary_cross_entropy",
             "bce_logits_pos_weight": "binary_cross_entropy_with_logits",
             "kl_div_log_target": "kl_div"}.get(name, name)
    if fname == "kl_div" and reduction == "mean":
        reduction = "batchmean"
    xm, xt = td.tensor(a, requires_grad=True), ref.tensor(a, requires_grad=True)
    km = {k: td.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    kt = {k: ref.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out_m = getattr(F, fname)(xm, td.tensor(b), reduction=reduction, **km)
    out_t = getattr(ref.nn.functional, fname)(xt, ref.tensor(b), reduction=reduction, **kt)
    close(out_m, out_t)
    (out_m * out_m).sum().backward()
    (out_t * out_t).sum().backward()
    close(xm.grad, xt.grad, 1e-4)


CE_CASES = {
    "plain": ({}, (4, 5), "index"),
    "weight": ({"weight": "w"}, (4, 5), "index"),
    "ignore": ({"ignore_index": 2}, (4, 5), "index"),
    "weight_ignore_smooth": ({"weight": "w", "ignore_index": 1, "label_smoothing": 0.2}, (4, 5), "index"),
    "smooth": ({"label_smoothing": 0.1}, (4, 5), "index"),
    "spatial": ({"weight": "w"}, (2, 5, 3), "index"),
    "unbatched": ({}, (5,), "index"),
    "probs": ({}, (4, 5), "probs"),
    "probs_weight_smooth": ({"weight": "w", "label_smoothing": 0.3}, (4, 5), "probs"),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CE_CASES))
def test_cross_entropy_and_nll_match_torch(ref, case, reduction):
    kwargs, shape, kind = CE_CASES[case]
    x = randn(*shape)
    w = (randn(5) ** 2 + 0.1).astype(np.float32)
    if kind == "index":
        tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
        t = RNG.integers(0, 5, size=tshape)
        t.reshape(-1)[:1] = kwargs.get("ignore_index", 0)
    else:
        t = np.exp(randn(*shape))
        t = (t / t.sum(1 if len(shape) > 1 else 0, keepdims=True)).astype(np.float32)
    km = {k: (td.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
    kt = {k: (ref.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
    xm, xt = td.tensor(x, requires_grad=True), ref.tensor(x, requires_grad=True)
    out_m = nn.CrossEntropyLoss(reduction=reduction, **km)(xm, td.tensor(t))
    out_t = ref.nn.CrossEntropyLoss(reduction=reduction, **kt)(xt, ref.tensor(t))
    close(out_m, out_t)
    (out_m * out_m).sum().backward()
    (out_t * out_t).sum().backward()
    close(xm.grad, xt.grad, 1e-4)
    if kind == "index" and "label_smoothing" not in kwargs:
        lm, lt = F.log_softmax(td.tensor(x), 1 if len(shape) > 1 else 0), ref.log_softmax(ref.tensor(x), 1 if len(shape) > 1 else 0)
        kw2m = {k: v for k, v in km.items()}
        kw2t = {k: v for k, v in kt.items()}
        close(F.nll_loss(lm, td.tensor(t), reduction=reduction, **kw2m),
              ref.nn.functional.nll_loss(lt, ref.tensor(t), reduction=reduction, **kw2t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pair_and_triplet_losses_match_torch(ref, reduction):
    a, b, c = randn(4, 5), randn(4, 5), randn(4, 5)
    sign = np.array([1, -1, 1, -1], dtype=np.float32)
    cases = [
        ("margin_ranking_loss", (a[:, 0], b[:, 0], sign), {"margin": 0.3}),
        ("cosine_embedding_loss", (a, b, sign), {"margin": 0.2}),
        ("triplet_margin_loss", (a, b, c), {"margin": 0.5}),
        ("triplet_margin_loss", (a, b, c), {"swap": True, "p": 1}),
        ("hinge_embedding_loss", (a, np.sign(b)), {"margin": 0.5}),
    ]
    for name, arrays, kw in cases:
        xm = [td.tensor(v, requires_grad=True) for v in arrays]
        xt = [ref.tensor(v, requires_grad=True) for v in arrays]
        out_m = getattr(F, name)(*xm, reduction=reduction, **kw)
        out_t = getattr(ref.nn.functional, name)(*xt, reduction=reduction, **kw)
        close(out_m, out_t)
        out_m.sum().backward()
        out_t.sum().backward()
        for m, t in zip(xm[:2], xt[:2]):
            if t.grad is None:  # a target: no gradient on either side
                assert m.grad is None
            else:
                close(m.grad, t.grad, 1e-4)


def test_functional_helpers_match_torch(ref):
    x, y = randn(3, 4), randn(3, 4)
    tf = ref.nn.functional
    close(F.normalize(td.tensor(x)), tf.normalize(ref.tensor(x)))
    close(F.normalize(td.tensor(x), p=1, dim=0), tf.normalize(ref.tensor(x), p=1, dim=0))
    close(F.cosine_similarity(td.tensor(x), td.tensor(y)), tf.cosine_similarity(ref.tensor(x), ref.tensor(y)))
    close(F.pairwise_distance(td.tensor(x), td.tensor(y)), tf.pairwise_distance(ref.tensor(x), ref.tensor(y)))
    close(F.pairwise_distance(td.tensor(x), td.tensor(y), p=3, keepdim=True),
          tf.pairwise_distance(ref.tensor(x), ref.tensor(y), p=3, keepdim=True))
    for pads in ([1, 2], [0, 1, 2, 0], [-1, 1], [1, 1, 1, 1]):
        close(F.pad(td.tensor(x), pads, value=2.5), tf.pad(ref.tensor(x), pads, value=2.5))
    idx = np.array([[0, 3], [2, 1]])
    got = F.one_hot(td.tensor(idx))
    assert got.dtype is td.int64
    np.testing.assert_array_equal(to_numpy(got), tf.one_hot(ref.tensor(idx)).numpy())
    np.testing.assert_array_equal(to_numpy(F.one_hot(td.tensor(idx), 6)), tf.one_hot(ref.tensor(idx), 6).numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(td.tensor(idx), 3)
    seqs = [randn(3, 2), randn(1, 2), randn(2, 2)]
    for bf in (False, True):
        close(nn.utils.rnn.pad_sequence([td.tensor(s) for s in seqs], batch_first=bf, padding_value=-1),
              ref.nn.utils.rnn.pad_sequence([ref.tensor(s) for s in seqs], batch_first=bf, padding_value=-1))


def test_dropout_statistics_and_scaling():
    x = td.ones(200, 100)
    y = F.dropout(x, 0.3, training=True).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x
    y2 = nn.Dropout2d(0.5)(td.ones(8, 50, 3, 3)).numpy()
    per_channel = y2.reshape(8, 50, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0.35 < (per_channel[..., 0] == 0).mean() < 0.65
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.5)
    xg = td.ones(50, 50, requires_grad=True)
    out = F.dropout(xg, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), out.detach().numpy())  # grad = mask / (1 - p)


# ---- initialisation ----

def test_default_init_distributions():
    lin = nn.Linear(400, 300)
    w = lin.weight.detach().numpy()
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in)
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    b = lin.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound
    emb = nn.Embedding(500, 200).weight.detach().numpy()
    assert abs(emb.mean()) < 0.01 and abs(emb.std() - 1) < 0.01
    bil = nn.Bilinear(50, 60, 70).weight.detach().numpy()
    assert bil.max() <= 1 / math.sqrt(50) and bil.min() >= -1 / math.sqrt(50)
    ln = nn.LayerNorm(7)
    assert ln.weight.detach().numpy().tolist() == [1.0] * 7 and ln.bias.detach().numpy().tolist() == [0.0] * 7
    assert nn.PReLU(3).weight.detach().numpy().tolist() == [0.25] * 3


def test_init_functions(ref):
    t = td.empty(300, 200)
    for fn, kwargs, std in [
        (nn.init.xavier_uniform_, {}, math.sqrt(2 / 500)),
        (nn.init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / 500)),
        (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
        (nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 300)),
        (nn.init.normal_, {"std": 0.3}, 0.3),
        (nn.init.uniform_, {"a": -1, "b": 1}, 1 / math.sqrt(3)),
    ]:
        assert fn(t, **kwargs) is t
        assert abs(t.numpy().std() / std - 1) < 0.03, fn.__name__
    nn.init.trunc_normal_(t, std=1.0, a=-0.5, b=1.0)
    v = t.numpy()
    assert v.min() >= -0.5 and v.max() <= 1.0 and v.max() > 0.99
    nn.init.constant_(t, 0.5)
    assert (t.numpy() == 0.5).all()
    nn.init.zeros_(t)
    assert (t.numpy() == 0).all()
    nn.init.ones_(t)
    assert (t.numpy() == 1).all()
    e = td.empty(3, 5)
    np.testing.assert_array_equal(nn.init.eye_(e).numpy(), np.eye(3, 5))
    for shape in ((6, 4), (4, 6), (3, 2, 2)):
        q = nn.init.orthogonal_(td.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
        gram = q @ q.T if shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)
    for nl, p in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert nn.init.calculate_gain(nl, p) == ref.nn.init.calculate_gain(nl, p)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("foo")
    p = nn.Parameter(td.zeros(4, 4))
    nn.init.kaiming_uniform_(p)  # in place on a parameter, under no_grad
    assert p.requires_grad and p.is_leaf and p.numpy(force=True).std() > 0


# ---- Module API ----

def make_net(lib):
    """The same nested model class built on tensord (lib=td) or torch."""
    m = lib.nn

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.features = m.Sequential(m.Linear(3, 4), m.ReLU(), m.BatchNorm1d(4))
            self.heads = m.ModuleDict({"a": m.Linear(4, 2), "b": m.Linear(4, 1, bias=False)})
            self.blocks = m.ModuleList([m.Dropout(0.1), m.LayerNorm(4)])
            self.scale = m.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("tmp", lib.zeros(1), persistent=False)

        def forward(self, x):
            return self.heads["a"](self.features(x)) * self.scale

    return Net()


def test_module_structure_matches_torch(ref):
    ours, theirs = make_net(td), make_net(ref)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_modules(prefix="root")] == [n for n, _ in theirs.named_modules(prefix="root")]
    assert ours.state_dict()._metadata == theirs.state_dict()._metadata
    assert isinstance(ours.get_submodule("features.0"), nn.Linear)
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        ours.get_submodule("features.nope")
    copy_params(ours, theirs)
    x = randn(5, 3)
    close(ours(td.tensor(x)), theirs(ref.tensor(x)))
    ours.eval()
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())


def test_load_state_dict_errors_match_torch(ref):
    ours, theirs = nn.Linear(3, 2), ref.nn.Linear(3, 2)
    bad_t = {"weight": ref.zeros(2, 4), "extra": ref.zeros(1)}
    bad_m = {"weight": td.zeros(2, 4), "extra": td.zeros(1)}
    with pytest.raises(RuntimeError) as e_t:
        theirs.load_state_dict(bad_t)
    with pytest.raises(RuntimeError) as e_m:
        ours.load_state_dict(bad_m)
    assert str(e_m.value) == str(e_t.value)
    res_m = ours.load_state_dict({"weight": td.ones(2, 3), "extra": td.zeros(1)}, strict=False)
    res_t = theirs.load_state_dict({"weight": ref.ones(2, 3), "extra": ref.zeros(1)}, strict=False)
    assert repr(res_m) == repr(res_t) and res_m.missing_keys == res_t.missing_keys
    assert (ours.weight.detach().numpy() == 1).all()
    assert repr(ours.load_state_dict(ours.state_dict())) == "<All keys matched successfully>"
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        ours.load_state_dict([1])


def test_setattr_and_registration_rules(ref):
    m = nn.Module()
    m.w = nn.Parameter(td.ones(2))
    assert list(m._parameters) == ["w"]
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w'"):
        m.w = td.ones(2)
    m.w = None
    assert m.w is None and "w" in m._parameters
    m.sub = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    m.register_buffer("b", td.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'b'"):
        m.b = "x"
    with pytest.raises(KeyError, match="attribute 'sub' already exists"):
        m.register_buffer("sub", td.zeros(1))
    with pytest.raises(KeyError, match="parameter name can.*t contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' object to parameter 'p'"):
        m.register_parameter("p", td.ones(1))
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor"):
        nonleaf = nn.Parameter(td.ones(1)) * 2  # marked as a Parameter below, as a subclass could be
        from tensord.nn.parameter import _PARAMS
        _PARAMS[id(nonleaf)] = nonleaf
        m.register_parameter("p", nonleaf)
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        m.nothing
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        m(1)
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        class Early(nn.Module):
            def __init__(self):
                self.p = nn.Parameter(td.ones(1))
        Early()


def test_parameter_identity_and_repr(ref):
    p = nn.Parameter(td.tensor([1.0, 2.0]))
    assert isinstance(p, nn.Parameter) and isinstance(p, td.Tensor)
    assert p.requires_grad and p.is_leaf
    assert not isinstance(p * 2, nn.Parameter)
    assert repr(p) == repr(ref.nn.Parameter(ref.tensor([1.0, 2.0])))
    q = nn.Parameter(td.ones(2), requires_grad=False)
    assert isinstance(q, nn.Parameter) and not q.requires_grad


def test_hooks_and_zero_grad():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, inp, out: calls.append(out) or out + 1)
    out = lin(td.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1, rtol=1e-6)
    assert len(calls) == 1
    h1.remove()
    with h2:
        pass
    out = lin(td.ones(1, 2))
    assert len(calls) == 1
    out.sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad()
    assert (lin.weight.grad.numpy() == 0).all()
    lin.zero_grad(set_to_none=True)
    assert lin.weight.grad is None and lin.bias.grad is None
    with pytest.raises(NotImplementedError):  # the legacy (non-full) backward hook
        lin.register_backward_hook(lambda *a: None)


def test_to_and_dtype_conversions():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m.double()
    assert all(p.dtype is td.float64 for p in m.parameters())
    assert m[1].num_batches_tracked.dtype is td.int64
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    m.to(td.float32)
    assert all(p.dtype is td.float32 for p in m.parameters())
    with pytest.raises(TypeError, match="floating point"):
        m.to(td.int64)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert m.apply(lambda mod: None) is m


def test_containers_match_torch(ref):
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and list(sub._modules) == ["1", "2"]  # torch keeps the keys
    seq.append(nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh"]
    with pytest.raises(IndexError, match="index 9 is out of range"):
        seq[9]
    del seq[0]
    assert len(seq) == 3
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert repr(named) == repr(ref.nn.Sequential(OrderedDict([("fc", ref.nn.Linear(1, 1)), ("act", ref.nn.ReLU())])))
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.insert(1, nn.Sigmoid())
    ml.extend([nn.ReLU()])
    assert [type(m).__name__ for m in ml] == ["ReLU", "Sigmoid", "Tanh", "ReLU"]
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2"]
    assert repr(ml) == repr(ref.nn.ModuleList([ref.nn.Sigmoid(), ref.nn.Tanh(), ref.nn.ReLU()]))
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    assert md.pop("a").__class__ is nn.Tanh
    pl = nn.ParameterList([nn.Parameter(td.zeros(2, 3)), td.ones(1)])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    assert repr(pl) == repr(ref.nn.ParameterList([ref.nn.Parameter(ref.zeros(2, 3)), ref.ones(1)]))
    pd = nn.ParameterDict({"x": nn.Parameter(td.zeros(2, 3))})
    assert repr(pd) == repr(ref.nn.ParameterDict({"x": ref.nn.Parameter(ref.zeros(2, 3))}))
    holder = nn.Module()
    holder.pl, holder.pd = pl, pd
    assert [n for n, _ in holder.named_parameters()] == ["pl.0", "pl.1", "pd.x"]


# ---- nn.utils ----

def _grads_model(ref):
    ours, theirs = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), ref.nn.Sequential(ref.nn.Linear(4, 3), ref.nn.Linear(3, 2))
    copy_params(ours, theirs)
    x = randn(5, 4)
    (ours(td.tensor(x)) ** 2).sum().backward()
    (theirs(ref.tensor(x)) ** 2).sum().backward()
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(ref, norm_type):
    ours, theirs = _grads_model(ref)
    n_m = nn.utils.clip_grad_norm_(ours.parameters(), 0.5, norm_type)
    n_t = ref.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5, norm_type)
    close(n_m, n_t)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, q.grad)
    assert nn.utils.clip_grad_norm_([nn.Parameter(td.ones(1))], 1.0).item() == 0.0


def test_clip_grad_value_and_vector_conversion(ref):
    ours, theirs = _grads_model(ref)
    nn.utils.clip_grad_value_(ours.parameters(), 0.3)
    ref.nn.utils.clip_grad_value_(theirs.parameters(), 0.3)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, q.grad)
    v_m = nn.utils.parameters_to_vector(ours.parameters())
    close(v_m, ref.nn.utils.parameters_to_vector(theirs.parameters()))
    nn.utils.vector_to_parameters(v_m.detach() * 2, ours.parameters())
    ref.nn.utils.vector_to_parameters(ref.nn.utils.parameters_to_vector(theirs.parameters()).detach() * 2,
                                      theirs.parameters())
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p, q)
