"""torch.nn's convolution and pooling layers: outputs and gradients against
torch 1.13 with the same parameters; repr and default initialisation."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
from helpers import to_numpy

RNG = np.random.default_rng(3)

LAYERS = [
    ("Conv1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 9)),
    ("Conv2d", (3, 5, 3), dict(padding=1, bias=False), (2, 3, 6, 7)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), dilation=(1, 2), groups=2), (1, 4, 8, 8)),
    ("Conv2d", (3, 4, 3), dict(padding="same"), (2, 3, 5, 5)),
    ("ConvTranspose2d", (3, 2, 3), dict(stride=2, output_padding=1), (1, 3, 4, 4)),
    ("MaxPool2d", (2,), dict(), (2, 3, 6, 6)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 7, 7)),
    ("AvgPool2d", (2,), dict(stride=1), (2, 2, 5, 5)),
    ("AdaptiveAvgPool2d", ((2, 3),), dict(), (2, 3, 7, 9)),
    ("AdaptiveMaxPool2d", (3,), dict(), (1, 2, 7, 7)),
    ("MaxPool1d", (2,), dict(), (2, 3, 8)),
    ("AvgPool1d", (3,), dict(stride=2), (2, 3, 9)),
    ("AdaptiveAvgPool1d", (4,), dict(), (2, 3, 9)),
]


@pytest.mark.parametrize("i", range(len(LAYERS)))
def test_layer_matches_torch(ref, i):
    name, args, kwargs, shape = LAYERS[i]
    theirs = getattr(ref.nn, name)(*args, **kwargs).double()
    mine = getattr(td.nn, name)(*args, **kwargs).double()
    assert repr(mine) == repr(theirs)
    mine.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal(shape)
    xt = ref.tensor(x, requires_grad=True)
    xm = td.tensor(x, requires_grad=True)
    yt, ym = theirs(xt), mine(xm)
    np.testing.assert_allclose(to_numpy(ym.detach()), yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    g = RNG.standard_normal(tuple(yt.shape))
    yt.backward(ref.tensor(g))
    ym.backward(td.tensor(g))
    np.testing.assert_allclose(to_numpy(xm.grad), xt.grad.numpy(), rtol=1e-7, atol=1e-9)
    for (k, pm), (_, pt) in zip(mine.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(to_numpy(pm.grad), pt.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=k)


def test_conv_default_init_bounds():
    layer = td.nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    w = to_numpy(layer.weight.detach())
    b = to_numpy(layer.bias.detach())
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_conv_argument_errors(ref):
    for m in (td, ref):
        with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
            m.nn.Conv2d(3, 4, 3, groups=2)
        with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
            m.nn.Conv2d(3, 4, 3, stride=2, padding="same")
