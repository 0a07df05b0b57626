"""tensord.distributions against torch 1.13: log_prob, entropy, moments,
shapes, validation errors and KL on the same parameters; samples by their
statistics (tensord's random stream is not torch's)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tensord as td
import tensord.distributions as D
from helpers import to_numpy

RNG = np.random.default_rng(11)


def close(got, want, tol=1e-5):
    assert tuple(got.shape) == tuple(want.shape), f"{tuple(got.shape)} != {tuple(want.shape)}"
    np.testing.assert_allclose(to_numpy(got.detach()), want.detach().numpy(), rtol=tol, atol=tol)


def make(ref, name, **params):
    """The same distribution in tensord and in torch; array params become tensors."""
    ours = {k: td.tensor(v) if isinstance(v, np.ndarray) else v for k, v in params.items()}
    theirs = {k: ref.tensor(v) if isinstance(v, np.ndarray) else v for k, v in params.items()}
    return getattr(D, name)(**ours), getattr(ref.distributions, name)(**theirs)


LOC = RNG.standard_normal((3, 4)).astype(np.float32)
SCALE = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
PROBS = RNG.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
LOGITS = RNG.standard_normal((3, 5)).astype(np.float32)
WEIGHTS = RNG.uniform(0.1, 2.0, (3, 5)).astype(np.float32)

CASES = [
    ("Normal", dict(loc=LOC, scale=SCALE), RNG.standard_normal((2, 3, 4)).astype(np.float32)),
    ("Normal", dict(loc=0.5, scale=2.0), RNG.standard_normal((5,)).astype(np.float32)),
    ("Normal", dict(loc=LOC, scale=1.5), LOC + 0.25),
    ("Uniform", dict(low=-SCALE, high=SCALE), SCALE * 0.5),
    ("Uniform", dict(low=0.0, high=3.0), np.array([0.5, 2.9, 1.0], np.float32)),
    ("Bernoulli", dict(probs=PROBS), (PROBS > 0.5).astype(np.float32)),
    ("Bernoulli", dict(logits=LOC), (LOC > 0).astype(np.float32)),
    ("Bernoulli", dict(probs=0.3), np.array([0.0, 1.0, 1.0], np.float32)),
    ("Categorical", dict(probs=WEIGHTS), np.array([0, 4, 2], np.int64)),
    ("Categorical", dict(logits=LOGITS), np.array([[1, 3, 0], [4, 4, 4]], np.int64)),
    ("Categorical", dict(probs=WEIGHTS[0]), np.array([1, 2, 3, 0], np.int64)),
]


def _id(case):
    name, params, _ = case
    return name + "-" + "-".join(f"{k}{'' if isinstance(v, np.ndarray) else v}"
                                 for k, v in params.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_log_prob_entropy_moments_and_shapes_match_torch(ref, case):
    name, params, value = case
    ours, theirs = make(ref, name, **params)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    close(ours.log_prob(td.tensor(value)), theirs.log_prob(ref.tensor(value)))
    close(ours.entropy(), theirs.entropy())
    if name != "Categorical":  # torch's are NaN-filled
        close(ours.mean, theirs.mean)
        close(ours.variance, theirs.variance)
        close(ours.stddev, theirs.stddev)
    else:
        assert np.isnan(to_numpy(ours.mean)).all()
        assert tuple(ours.mean.shape) == tuple(theirs.mean.shape)
        close(ours.probs, theirs.probs)
        close(ours.logits, theirs.logits)
    assert repr(ours).replace("tensord", "torch") == repr(theirs)
    for shape in ((), (2,), (4, 3)):
        assert tuple(ours.sample(shape).shape) == tuple(theirs.sample(shape).shape)


@pytest.mark.parametrize("name,params,moments", [
    ("Normal", dict(loc=1.5, scale=0.5), (1.5, 0.25)),
    ("Uniform", dict(low=-1.0, high=3.0), (1.0, 16 / 12)),
    ("Bernoulli", dict(probs=0.3), (0.3, 0.21)),
    ("Bernoulli", dict(logits=0.0), (0.5, 0.25)),
])
def test_sample_statistics_match_the_distribution(name, params, moments):
    td.manual_seed(0)
    s = to_numpy(getattr(D, name)(**params).sample((200_000,)))
    mean, var = moments
    assert s.shape == (200_000,)
    assert abs(s.mean() - mean) < 0.01 and abs(s.var() - var) < 0.01
    if name == "Uniform":
        assert s.min() >= -1.0 and s.max() < 3.0
    if name == "Bernoulli":
        assert set(np.unique(s).tolist()) <= {0.0, 1.0}


def test_categorical_sample_frequencies_and_seeded_repeats():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]], np.float32)
    d = D.Categorical(probs=td.tensor(probs))
    td.manual_seed(3)
    s = to_numpy(d.sample((100_000,)))
    assert s.shape == (100_000, 2) and s.dtype == np.int64
    for row in range(2):
        freq = np.bincount(s[:, row], minlength=3) / len(s)
        np.testing.assert_allclose(freq, probs[row], atol=0.01)
    td.manual_seed(3)
    np.testing.assert_array_equal(to_numpy(d.sample((100_000,))), s)


def test_rsample_carries_gradients_like_torch(ref):
    for name, p1, p2 in (("Normal", "loc", "scale"), ("Uniform", "low", "high")):
        a = td.tensor([0.5, -1.0], requires_grad=True)
        b = td.tensor([2.0, 1.0], requires_grad=True)
        d = getattr(D, name)(a, b)
        assert d.has_rsample
        x = d.rsample((1000,))
        assert x.requires_grad and tuple(x.shape) == (1000, 2)
        x.sum().backward()
        # d x / d loc = 1 per draw; d x / d low = 1 - u per draw, whose mean is 1/2.
        if name == "Normal":
            np.testing.assert_allclose(to_numpy(a.grad), [1000.0, 1000.0])
            eps = (to_numpy(x.detach()) - [0.5, -1.0]) / [2.0, 1.0]
            np.testing.assert_allclose(to_numpy(b.grad), eps.sum(0), rtol=1e-4, atol=1e-3)
        else:
            np.testing.assert_allclose(to_numpy(a.grad) + to_numpy(b.grad), [1000.0, 1000.0],
                                       rtol=1e-5)
            assert 400 < to_numpy(a.grad)[0] < 600
        # sample() is cut from the graph.
        assert not d.sample().requires_grad
    lp = D.Normal(td.tensor(0.0, requires_grad=True), td.tensor(1.0)).log_prob(td.tensor(0.5))
    lp.backward()


def test_log_prob_gradient_matches_torch(ref):
    loc = td.tensor(LOC, requires_grad=True)
    loc_t = ref.tensor(LOC, requires_grad=True)
    D.Normal(loc, td.tensor(SCALE)).log_prob(td.tensor(LOC * 2)).sum().backward()
    normal_t = ref.distributions.Normal(loc_t, ref.tensor(SCALE))
    normal_t.log_prob(ref.tensor(LOC * 2)).sum().backward()
    close(loc.grad, loc_t.grad)
    logits = td.tensor(LOGITS, requires_grad=True)
    logits_t = ref.tensor(LOGITS, requires_grad=True)
    D.Categorical(logits=logits).entropy().sum().backward()
    ref.distributions.Categorical(logits=logits_t).entropy().sum().backward()
    close(logits.grad, logits_t.grad)


def test_kl_divergence_matches_torch(ref):
    pairs = [("Normal", dict(loc=LOC, scale=SCALE), dict(loc=LOC * 0.5, scale=SCALE * 2)),
             ("Bernoulli", dict(probs=PROBS), dict(probs=PROBS[::-1].copy())),
             ("Categorical", dict(logits=LOGITS), dict(probs=WEIGHTS)),
             ("Uniform", dict(low=-SCALE, high=SCALE), dict(low=-SCALE * 2, high=SCALE * 2))]
    for name, a, b in pairs:
        p, pt = make(ref, name, **a)
        q, qt = make(ref, name, **b)
        close(D.kl_divergence(p, q), ref.distributions.kl_divergence(pt, qt))
    # Uniform supports that do not nest: infinite, as in torch.
    p, pt = make(ref, "Uniform", low=0.0, high=2.0)
    q, qt = make(ref, "Uniform", low=1.0, high=3.0)
    assert math.isinf(D.kl_divergence(p, q).item())
    assert math.isinf(ref.distributions.kl_divergence(pt, qt).item())
    with pytest.raises(NotImplementedError, match=r"No KL\(p \|\| q\) is implemented for p "
                                                  "type Normal and q type Bernoulli"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5))


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info


@pytest.mark.parametrize("build", [
    lambda m, t: m.Normal(t.tensor([0.0, 1.0]), t.tensor([1.0, -1.0])),
    lambda m, t: m.Normal(t.tensor([float("nan")]), t.tensor([1.0])),
    lambda m, t: m.Bernoulli(probs=t.tensor([0.5, 1.5])),
    lambda m, t: m.Bernoulli(probs=t.tensor([0.5]), logits=t.tensor([0.0])),
    lambda m, t: m.Bernoulli(),
    lambda m, t: m.Categorical(probs=t.tensor([[0.5, -0.5]])),
    lambda m, t: m.Categorical(probs=t.tensor(1.0)),
    lambda m, t: m.Categorical(logits=t.tensor(1.0)),
    lambda m, t: m.Uniform(t.tensor([1.0]), t.tensor([0.0])),
    lambda m, t: m.Normal(0.0, 1.0).log_prob(0.5),
    lambda m, t: m.Normal(t.zeros(3), 1.0).log_prob(t.zeros(2)),
    lambda m, t: m.Categorical(probs=t.ones(3) / 3).log_prob(t.tensor([3])),
    lambda m, t: m.Bernoulli(0.5).log_prob(t.tensor([0.5])),
    lambda m, t: m.Uniform(0.0, 1.0).log_prob(t.tensor([2.0])),
], ids=["normal-scale", "normal-nan-loc", "bernoulli-probs", "bernoulli-both", "bernoulli-none",
        "categorical-negative", "categorical-0d-probs", "categorical-0d-logits", "uniform-order",
        "log-prob-not-tensor", "log-prob-shape", "categorical-support", "bernoulli-support",
        "uniform-support"])
def test_validation_errors_match_torch(ref, build):
    got = _error(lambda: build(D, td))
    want = _error(lambda: build(ref.distributions, ref))
    assert got.type is want.type is ValueError
    # The messages are torch's; the values they print are tensord's repr.
    assert str(got.value).split(":\n")[0].replace("tensord", "torch") == \
        str(want.value).split(":\n")[0], (str(got.value), str(want.value))


def test_validate_args_false_skips_checks():
    d = D.Normal(td.tensor([0.0]), td.tensor([-1.0]), validate_args=False)
    assert tuple(d.batch_shape) == (1,)
    u = D.Uniform(td.tensor([1.0]), td.tensor([0.0]), validate_args=False)
    assert tuple(u.batch_shape) == (1,)


def test_expand_and_enumerate_support_match_torch(ref):
    for name, params in (("Normal", dict(loc=0.0, scale=1.0)), ("Bernoulli", dict(probs=0.25)),
                         ("Categorical", dict(probs=WEIGHTS[0])),
                         ("Uniform", dict(low=0.0, high=1.0))):
        ours, theirs = make(ref, name, **params)
        e, et = ours.expand((2, 3)), theirs.expand((2, 3))
        assert tuple(e.batch_shape) == tuple(et.batch_shape) == (2, 3)
        close(e.entropy(), et.entropy())
        assert tuple(e.sample((4,)).shape) == tuple(et.sample((4,)).shape)
    for name, params in (("Bernoulli", dict(probs=PROBS[0])), ("Categorical", dict(probs=WEIGHTS))):
        ours, theirs = make(ref, name, **params)
        close(ours.enumerate_support().double(), theirs.enumerate_support().double())
