"""Second-order autograd through torch.nn's functionals: gradgradcheck (float64)
of each, so the derivative formulas of the nn backward ops (convolution_backward,
the norms', pools', losses' and activations' backward ops) are checked against
finite differences of the first backward; second derivatives' values against
torch 1.13; and torch's error where torch has no double backward either."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import tensord as td
import tensord.nn.functional as F
from helpers import Float64Draw, assert_close, copy_params
from tensord.autograd import gradcheck, gradgradcheck


class Draw(Float64Draw):
    """float64 leaves for one case (helpers.Float64Draw) and the nn cases' own draws."""

    away_from_zero = Float64Draw.nonzero

    def distinct(self, *shape):
        """A permutation of spread-out values: max pooling has no near-ties."""
        n = int(np.prod(shape))
        return self.leaf((self.rng.permutation(n) * 0.37 - n * 0.18).reshape(shape))

    def const(self, *shape, lo=-1.0, hi=1.0):
        """A fixed operand: drawn once, so every evaluation sees the same one."""
        return td.tensor(self.rng.uniform(lo, hi, shape), dtype=td.float64)


def conv_cases(d: Draw):
    return {
        "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
                   [d.any(2, 2, 5), d.any(3, 2, 3), d.any(3)]),
        "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1),
                   [d.any(1, 2, 3, 3), d.any(2, 2, 2, 2), d.any(2)]),
        "conv2d_stride_dilation": (lambda x, w: F.conv2d(x, w, stride=(2, 1), dilation=(1, 2)),
                                   [d.any(1, 1, 5, 5), d.any(2, 1, 2, 2)]),
        "conv2d_groups": (lambda x, w, b: F.conv2d(x, w, b, groups=2),
                          [d.any(1, 4, 3, 3), d.any(2, 2, 2, 2), d.any(2)]),
        "conv3d": (lambda x, w: F.conv3d(x, w, padding=(0, 1, 0)),
                   [d.any(1, 1, 2, 3, 2), d.any(2, 1, 2, 2, 2)]),
        "conv_transpose1d": (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, output_padding=1),
                             [d.any(1, 2, 3), d.any(2, 2, 2), d.any(2)]),
        "conv_transpose2d_groups": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, groups=2),
                                    [d.any(1, 2, 2, 2), d.any(2, 1, 3, 3)]),
        "conv_transpose2d_dilation": (lambda x, w: F.conv_transpose2d(x, w, dilation=2),
                                      [d.any(1, 1, 2, 2), d.any(1, 2, 2, 2)]),
    }


def pool_cases(d: Draw):
    return {
        "max_pool2d": (lambda x: F.max_pool2d(x, 2), [d.distinct(1, 2, 4, 4)]),
        "max_pool2d_3d_input_padding": (lambda x: F.max_pool2d(x, 3, 2, padding=1),
                                        [d.distinct(2, 5, 5)]),
        "max_pool1d": (lambda x: F.max_pool1d(x, 2), [d.distinct(1, 2, 6)]),
        "avg_pool2d": (lambda x: F.avg_pool2d(x, 2, 1, padding=1, count_include_pad=False),
                       [d.any(1, 2, 3, 3)]),
        "avg_pool2d_ceil_divisor": (lambda x: F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=3),
                                    [d.any(1, 1, 5, 5)]),
        "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 2), [d.any(1, 2, 7)]),
        "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [d.any(1, 2, 5, 4)]),
        "adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 3), [d.any(2, 5)]),
        "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 2), [d.distinct(1, 2, 5, 5)]),
    }


def norm_cases(d: Draw):
    rm, rv = d.const(3), d.const(3, lo=0.5, hi=2.0)
    return {
        "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                             [d.any(4, 3, 2), d.any(3), d.any(3)]),
        "batch_norm_train_2d_no_affine": (lambda x: F.batch_norm(x, None, None, training=True),
                                          [d.any(5, 3)]),
        "batch_norm_eval": (lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False),
                            [d.any(2, 3, 2, 2), d.any(3), d.any(3)]),
        "layer_norm": (lambda x, w, b: F.layer_norm(x, [2, 3], w, b),
                       [d.any(2, 2, 3), d.any(2, 3), d.any(2, 3)]),
        "layer_norm_no_affine": (lambda x: F.layer_norm(x, [4]), [d.any(3, 4)]),
        "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                       [d.any(2, 4, 3), d.any(4), d.any(4)]),
        "group_norm_spatial_no_affine": (lambda x: F.group_norm(x, 3, eps=1e-3),
                                         [d.any(2, 3, 2, 2)]),
    }


def activation_cases(d: Draw):
    x = d.away_from_zero
    return {
        "relu": (F.relu, [x(2, 3)]),
        "threshold": (lambda a: F.threshold(a, 0.1, -2.0), [x(2, 3)]),
        "elu": (lambda a: F.elu(a, 1.3), [x(2, 3)]),
        "selu": (F.selu, [x(2, 3)]),
        "celu": (lambda a: F.celu(a, 0.7), [x(2, 3)]),
        "leaky_relu": (lambda a: F.leaky_relu(a, 0.2), [x(2, 3)]),
        "hardtanh": (lambda a: F.hardtanh(a, -0.5, 0.5), [d.leaf([-1.2, -0.3, 0.2, 0.9])]),
        "relu6": (F.relu6, [d.leaf([-1.0, 2.0, 5.0, 7.0])]),
        "hardswish": (F.hardswish, [d.leaf([-4.0, -2.5, -0.5, 1.0, 2.5, 3.5])]),
        "hardsigmoid": (F.hardsigmoid, [d.leaf([-4.0, -1.0, 0.5, 2.0, 3.5])]),
        "gelu": (F.gelu, [d.any(2, 3)]),
        "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [d.any(2, 3)]),
        "silu": (F.silu, [d.any(2, 3)]),
        "softplus": (lambda a: F.softplus(a, 2.0, 2.0), [d.leaf([-1.0, 0.3, 0.8, 1.4])]),
        "mish": (F.mish, [d.any(2, 3)]),
        "logsigmoid": (F.logsigmoid, [d.any(2, 3)]),
        "glu": (lambda a: F.glu(a, 1), [d.any(2, 4)]),
        "prelu": (F.prelu, [x(2, 3, 2), d.any(3)]),
        "prelu_one_weight": (F.prelu, [x(2, 3), d.any(1)]),
        "softmax": (lambda a: F.softmax(a, 1), [d.any(2, 3)]),
        "log_softmax": (lambda a: F.log_softmax(a, 0), [d.any(2, 3)]),
        "tanh_sigmoid": (lambda a: F.tanh(a) * F.sigmoid(a), [d.any(3)]),
    }


def loss_cases(d: Draw):
    prob = d.const(2, 3, lo=0.0, hi=1.0)
    cls = td.tensor([0, 2])
    return {
        "mse_loss": (lambda a, t: F.mse_loss(a, t), [d.any(2, 3), d.any(2, 3)]),
        "mse_loss_sum": (lambda a, t: F.mse_loss(a, t, reduction="sum"), [d.any(3), d.any(3)]),
        "l1_loss": (lambda a, t: F.l1_loss(a, t), [d.any(2, 3), d.const(2, 3)]),
        "smooth_l1_loss": (lambda a, t: F.smooth_l1_loss(a, t, beta=0.5), [d.any(2, 3), d.any(2, 3)]),
        "smooth_l1_loss_beta0": (lambda a: F.smooth_l1_loss(a, prob, beta=0.0), [d.any(2, 3)]),
        "huber_loss": (lambda a, t: F.huber_loss(a, t, reduction="none", delta=0.5),
                       [d.any(2, 3), d.any(2, 3)]),
        "binary_cross_entropy": (lambda a: F.binary_cross_entropy(a, prob),
                                 [d.any(2, 3, lo=0.1, hi=0.9)]),
        "binary_cross_entropy_weight_sum": (
            lambda a, w=d.const(3, lo=0.5, hi=2.0): F.binary_cross_entropy(a, prob, w, reduction="sum"),
            [d.any(2, 3, lo=0.1, hi=0.9)]),
        "bce_with_logits": (lambda a: F.binary_cross_entropy_with_logits(
            a, prob, pos_weight=td.tensor([2.0, 0.5, 1.0], dtype=td.float64)), [d.any(2, 3)]),
        "kl_div": (lambda a: F.kl_div(a, prob, reduction="batchmean"), [d.any(2, 3)]),
        "kl_div_log_target": (lambda a: F.kl_div(a, prob, reduction="sum", log_target=True),
                              [d.any(2, 3)]),
        "nll_loss": (lambda a: F.nll_loss(a, cls), [d.any(2, 3)]),
        "nll_loss_weight_none": (lambda a: F.nll_loss(a, cls, weight=td.tensor([1.0, 2.0, 0.5], dtype=td.float64),
                                                      reduction="none"), [d.any(2, 3)]),
        "nll_loss2d": (lambda a: F.nll_loss(a, td.tensor([[[0, 2], [1, 1]]]), ignore_index=1),
                       [d.any(1, 3, 2, 2)]),
        "cross_entropy": (lambda a: F.cross_entropy(a, cls), [d.any(2, 3)]),
        "cross_entropy_smoothing": (lambda a: F.cross_entropy(a, cls, label_smoothing=0.2), [d.any(2, 3)]),
        "embedding": (lambda w: F.embedding(td.tensor([[0, 2], [2, 1]]), w), [d.any(3, 2)]),
        "embedding_padding": (lambda w: F.embedding(td.tensor([0, 1, 1, 2]), w, padding_idx=1) ** 2,
                              [d.any(3, 2)]),
    }


FAMILIES = {"conv": conv_cases, "pool": pool_cases, "norm": norm_cases,
            "activation": activation_cases, "loss": loss_cases}
CASES = sorted((family, name) for family, make in FAMILIES.items() for name in make(Draw("")))


@pytest.mark.parametrize("family,name", CASES)
def test_gradgradcheck_through_nn_functional(family, name):
    fn, inputs = FAMILIES[family](Draw(name))[name]
    assert gradgradcheck(fn, inputs)


# The backward ops themselves, called directly: their formulas' gradients
# against finite differences (gradcheck of the op) and, through the formulas'
# own derivatives, third order (gradgradcheck of the op).
def C(name, *args, **kwargs):
    return td._C.call(name, args, kwargs or None)


def direct_cases(d: Draw):
    x = d.away_from_zero
    return {
        "convolution_backward": (
            lambda g, a, w: C("convolution_backward", g, a, w, [2], [1, 1], [1, 1], [1, 1], False,
                              [0, 0], 1, [1, 1, 1]),
            [d.any(1, 2, 4, 4), d.any(1, 2, 3, 3), d.any(2, 2, 2, 2)]),
        "native_batch_norm_backward": (
            lambda g, a, w: C("native_batch_norm_backward", g, a, w, None, None,
                              *C("native_batch_norm", a, w, None, None, None, True, 0.1, 1e-5)[1:],
                              True, 1e-5, [1, 1, 1]),
            [d.any(3, 2), d.any(3, 2), d.any(2)]),
        "gelu_backward": (lambda g, a: C("gelu_backward", g, a, approximate="tanh"), [d.any(4), d.any(4)]),
        "silu_backward": (lambda g, a: C("silu_backward", g, a), [d.any(4), d.any(4)]),
        "mish_backward": (lambda g, a: C("mish_backward", g, a), [d.any(4), d.any(4)]),
        "softplus_backward": (lambda g, a: C("softplus_backward", g, a, 1.0, 20.0), [d.any(4), d.any(4)]),
        "elu_backward_result": (lambda g, a: C("elu_backward", g, 1.0, 1.0, 1.0, True, a),
                                [d.any(4), x(4)]),
        "glu_backward": (lambda g, a: C("glu_backward", g, a, 0), [d.any(2, 3), d.any(4, 3)]),
        "prelu_backward": (lambda g, a, w: C("prelu_backward", g, a, w), [d.any(2, 3), x(2, 3), d.any(3)]),
        "_softmax_backward_data": (lambda g, y: C("_softmax_backward_data", g, y, 1, td.float64),
                                   [d.any(2, 3), d.any(2, 3, lo=0.1, hi=0.9)]),
        "_log_softmax_backward_data": (lambda g, y: C("_log_softmax_backward_data", g, y, 0, td.float64),
                                       [d.any(2, 3), d.any(2, 3, lo=-2, hi=-0.1)]),
        "binary_cross_entropy_backward": (
            lambda g, a, t: C("binary_cross_entropy_backward", g, a, t, None, 1),
            [d.any(), d.any(3, lo=0.2, hi=0.8), d.any(3, lo=0, hi=1)]),
        "embedding_dense_backward_scaled": (
            lambda g: C("embedding_dense_backward", g, td.tensor([0, 2, 2, 3]), 4, 3, True),
            [d.any(4, 2)]),
    }


@pytest.mark.parametrize("name", sorted(direct_cases(Draw(""))))
def test_backward_op_gradients_and_third_order(name):
    fn, inputs = direct_cases(Draw(name))[name]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ---- second derivatives' values against torch 1.13 ----

def _conv_bn_relu(nn):
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Conv2d(3, 1, 2, stride=2), nn.Flatten(), nn.Linear(4, 1))


def test_gradient_penalty_of_conv_bn_relu_net_matches_torch(ref):
    """WGAN-GP's penalty: grad of ||d loss / d x||^2 with respect to every
    parameter, through conv, batch norm (training), relu and linear."""
    ref.manual_seed(0)
    theirs = _conv_bn_relu(ref.nn).double()
    ours = _conv_bn_relu(td.nn).double()
    copy_params(ours, theirs)
    x_np = np.random.default_rng(1).standard_normal((4, 2, 4, 4))

    def penalty(lib, net):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        out = net(x).sum()
        (gx,) = lib.autograd.grad(out, x, create_graph=True)
        p = (gx * gx).sum()
        p.backward()
        return p

    assert_close(penalty(td, ours), penalty(ref, theirs), 1e-10)
    for (name, mine), (_, want) in zip(ours.named_parameters(), theirs.named_parameters()):
        if want.grad is None:  # the penalty does not depend on the last layers' biases
            assert mine.grad is None, f"{name}: torch has no gradient"
        else:
            assert_close(mine.grad, want.grad, 1e-8)


@pytest.mark.parametrize("which", ["layer_norm_gelu", "group_norm_silu", "conv_transpose_softplus"])
def test_hessian_vector_products_match_torch(ref, which):
    """d/d(x, w) of <d loss / d x, v>: the values torch 1.13 computes."""
    rng = np.random.default_rng(zlib.crc32(which.encode()))
    x_np, v_np = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    if which == "conv_transpose_softplus":
        w_np = rng.standard_normal((4, 2, 2))
    elif which == "layer_norm_gelu":
        w_np = rng.standard_normal((4, 3))
    else:
        w_np = rng.standard_normal(4)

    def run(lib):
        f = lib.nn.functional
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(w_np, dtype=lib.float64, requires_grad=True)
        if which == "layer_norm_gelu":
            y = f.gelu(f.layer_norm(x, [4, 3], w))
        elif which == "group_norm_silu":
            y = f.silu(f.group_norm(x, 2, w))
        else:
            y = f.softplus(f.conv_transpose1d(x, w, stride=2))
        loss = (y * y).sum()
        (gx,) = lib.autograd.grad(loss, x, create_graph=True)
        return lib.autograd.grad((gx * lib.tensor(v_np, dtype=lib.float64)).sum(), [x, w])

    for mine, want in zip(run(td), run(ref)):
        assert_close(mine, want, 1e-9)


def test_max_pool_double_backward_gathers_at_the_maxima_like_torch(ref):
    x_np = np.random.default_rng(3).permutation(32).reshape(1, 2, 4, 4).astype(np.float64)
    gg_np = np.random.default_rng(4).standard_normal((1, 2, 4, 4))

    def run(lib):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.max_pool2d(x, 2)
        g = lib.ones(y.shape, dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(y, x, g, create_graph=True)
        return lib.autograd.grad((gx * lib.tensor(gg_np, dtype=lib.float64)).sum(), g)[0]

    assert_close(run(td), run(ref), 1e-12)


def test_double_backward_of_ctc_loss_raises_torch_error(ref):
    """torch 1.13 has no derivative of _ctc_loss_backward: neither has tensord."""
    def run(lib):
        lp = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 1, 3), dtype=lib.float64,
                        requires_grad=True)
        loss = lib.nn.functional.ctc_loss(lp.log_softmax(2), lib.tensor([[1, 2]]), [4], [2])
        (g,) = lib.autograd.grad(loss, lp, create_graph=True)
        g.sum().backward()
        return lp.grad.sum().item()

    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
        run(ref)
    with pytest.raises(RuntimeError, match="^derivative for aten::_ctc_loss_backward is not implemented"):
        run(td)
    # The daemon goes on serving the session.
    assert td.ones(2).sum().item() == 2.0
