"""torch.utils.checkpoint: recomputed segments give the gradients of the
uncheckpointed model, dropout included (the generator is replayed), with
torch 1.13's warnings and errors."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
from tensord.utils.checkpoint import checkpoint, checkpoint_sequential

RNG = np.random.default_rng(7)
X = RNG.standard_normal((5, 6)).astype(np.float32)


def make_model(dropout=0.0):
    td.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 8),
                         nn.ReLU(), nn.Linear(8, 3))


def grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


def reference(model, x):
    model.zero_grad()
    out = model(x)
    (out * out).sum().backward()
    return out.detach().numpy(), grads(model), x.grad.numpy().copy()


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_checkpoint_gives_the_uncheckpointed_gradients(use_reentrant, dropout):
    model = make_model(dropout)
    x = td.tensor(X, requires_grad=True)
    td.manual_seed(21)
    want_out, want_grads, want_xgrad = reference(model, x)
    x.grad = None
    model.zero_grad()
    td.manual_seed(21)
    h = checkpoint(lambda t: model[2](model[1](model[0](t))), x, use_reentrant=use_reentrant)
    out = model[5](model[4](model[3](h)))
    (out * out).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-6)
    for got, want in zip(grads(model), want_grads):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), want_xgrad, rtol=1e-5, atol=1e-6)


def test_checkpoint_sequential_matches_the_plain_model(ref):
    model = make_model()
    x = td.tensor(X, requires_grad=True)
    want_out, want_grads, want_xgrad = reference(model, x)
    for segments in (1, 2, 3):
        x.grad = None
        model.zero_grad()
        out = checkpoint_sequential(model, segments, x)
        (out * out).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-6)
        for got, want in zip(grads(model), want_grads):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), want_xgrad, rtol=1e-5, atol=1e-6)
    from torch.utils.checkpoint import checkpoint_sequential as torch_checkpoint_sequential
    with pytest.raises(ValueError, match="Unexpected keyword arguments: use_reentrant"):
        torch_checkpoint_sequential(ref.nn.Sequential(ref.nn.ReLU()), 1, ref.ones(2),
                                    use_reentrant=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: use_reentrant"):
        checkpoint_sequential(model, 1, x, use_reentrant=True)


def test_checkpoint_with_several_inputs_and_outputs_and_non_tensor_args():
    a = td.tensor(X, requires_grad=True)
    b = td.tensor(X[::-1].copy(), requires_grad=True)

    def fn(p, q, scale):
        return p * q * scale, (p - q).exp()

    u, v = fn(a, b, 3.0)
    (u.sum() + v.sum()).backward()
    want_a, want_b = a.grad.numpy().copy(), b.grad.numpy().copy()
    a.grad = b.grad = None
    u, v = checkpoint(fn, a, b, 3.0)
    assert u.requires_grad and v.requires_grad
    (u.sum() + v.sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), want_a, rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), want_b, rtol=1e-5)


def test_checkpoint_warnings_and_errors(ref):
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(lambda t: t * 2, td.ones(2))
    assert not out.requires_grad
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint(lambda t: t, td.ones(2), foo=1)
    # Keyword arguments reach the function with use_reentrant=False, as in torch.
    x = td.ones(2, requires_grad=True)
    y = checkpoint(lambda t, k: t * k, x, use_reentrant=False, k=3.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert td.utils.checkpoint.checkpoint is checkpoint
