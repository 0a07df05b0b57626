"""F.gumbel_softmax: the soft samples' distribution and temperature, the hard
samples' one-hot values and straight-through gradient (torch 1.13's
construction; the draws themselves differ from torch's stream)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensord as td
import tensord.nn.functional as F

LOGITS = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def test_soft_samples_sum_to_one_and_follow_the_logits():
    td.manual_seed(0)
    n = 4000
    y = F.gumbel_softmax(td.tensor(np.tile(LOGITS, (n, 1)), dtype=td.float32), tau=1.0)
    v = y.numpy()
    assert v.shape == (n, 4) and y.dtype is td.float32
    np.testing.assert_allclose(v.sum(1), 1.0, rtol=1e-5)
    assert (v > 0).all()
    # The argmax of a Gumbel-perturbed logit is a draw from softmax(logits).
    freq = np.bincount(v.argmax(1), minlength=4) / n
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.03)


def test_temperature_sharpens_or_flattens_the_samples():
    td.manual_seed(1)
    logits = td.tensor(np.tile(LOGITS, (2000, 1)), dtype=td.float32)
    cold = F.gumbel_softmax(logits, tau=0.05).numpy().max(1).mean()
    hot = F.gumbel_softmax(logits, tau=20.0).numpy().max(1).mean()
    assert cold > 0.95 and hot < 0.3


def test_hard_samples_are_one_hot_with_the_soft_gradient(ref):
    td.manual_seed(2)
    logits = td.tensor(np.tile(LOGITS, (6, 1)), dtype=td.float32, requires_grad=True)
    weights = td.tensor(np.arange(24, dtype=np.float32).reshape(6, 4))
    td.manual_seed(3)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.detach().numpy()
    assert hard.requires_grad and hard.grad_fn is not None
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(1) == 1).all()
    (hard * weights).sum().backward()
    # Straight through: the gradient is that of the soft sample drawn with the same noise.
    logits2 = td.tensor(np.tile(LOGITS, (6, 1)), dtype=td.float32, requires_grad=True)
    td.manual_seed(3)
    soft = F.gumbel_softmax(logits2, tau=0.5)
    np.testing.assert_array_equal(h.argmax(1), soft.detach().numpy().argmax(1))
    (soft * weights).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), logits2.grad.numpy(), rtol=1e-5, atol=1e-6)
    # The same structure in torch: one-hot forward, soft backward.
    tl = ref.tensor(np.tile(LOGITS, (6, 1)), dtype=ref.float32, requires_grad=True)
    th = ref.nn.functional.gumbel_softmax(tl, tau=0.5, hard=True)
    assert set(np.unique(th.detach().numpy())) == {0.0, 1.0}
    assert th.grad_fn.name() == hard.grad_fn.name() == "AddBackward0"


def test_dim_and_deprecated_eps(ref):
    td.manual_seed(4)
    y = F.gumbel_softmax(td.zeros(3, 5), dim=0, hard=True).numpy()
    assert (y.sum(0) == 1).all()
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        F.gumbel_softmax(td.zeros(2, 2), eps=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.gumbel_softmax(td.zeros(2, 2))
