"""Every derivative formula of the schema against finite differences
(tensord.autograd.gradcheck, and gradgradcheck for the families whose second
derivatives matter), plus tie-breaking and special points against torch 1.13."""
from __future__ import annotations


import numpy as np
import pytest

import tensord as td
from helpers import Float64Draw, assert_meta_matches, to_numpy
from tensord.autograd import GradcheckError, gradcheck, gradgradcheck


def C(name, *args, **kwargs):
    """The schema op `name` itself (not a Python wrapper that may pick another)."""
    return td._C.call(name, args, kwargs or None)


class Sample(Float64Draw):
    """fn(*inputs) with float64 leaf inputs drawn for one op."""

    def pos(self, *shape):
        return self.any(*shape, lo=0.5, hi=2.0)

    def frac(self, *shape):
        """Away from integers (floor/round/... are flat there)."""
        return self.leaf(self.rng.integers(-2, 3, shape) + self.rng.uniform(0.2, 0.4, shape))


def idx(*values):
    return td.tensor(list(values), dtype=td.int64)


# Unary elementwise ops and the domain their samples come from.
UNARY = {
    "neg": "any", "exp": "any", "reciprocal": "nonzero", "exp2": "any", "expm1": "any",
    "log": "pos", "log1p": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos", "rsqrt": "pos",
    "sin": "any", "cos": "any", "tan": "unit", "asin": "unit", "acos": "unit", "atan": "any",
    "sinh": "any", "cosh": "any", "tanh": "any", "asinh": "any", "acosh": "gt1",
    "atanh": "unit", "sigmoid": "any", "erf": "any", "erfinv": "unit", "abs": "nonzero",
    "sign": "nonzero", "square": "any", "relu": "nonzero", "floor": "frac", "ceil": "frac",
    "trunc": "frac", "frac": "frac", "round": "frac", "nan_to_num": "any", "logit": "prob",
    "silu": "any", "gelu": "any", "softplus": "any",
}


def unary_input(s: Sample, domain: str, *shape):
    if domain == "pos":
        return s.pos(*shape)
    if domain == "unit":
        return s.any(*shape, lo=-0.8, hi=0.8)
    if domain == "gt1":
        return s.any(*shape, lo=1.3, hi=3.0)
    if domain == "prob":
        return s.any(*shape, lo=0.1, hi=0.9)
    return getattr(s, domain)(*shape)


def samples(name: str):  # noqa: C901 (one table, one branch per op family)
    """[(fn, inputs)] for op `name`; None when the op has no sample."""
    s = Sample(name)
    base = name[:-1] if name.endswith("_") else name
    inplace = name != base and name not in ("zero_", "fill_", "copy_")

    def op(*args, **kw):
        # In-place variants run on a clone: a leaf cannot be written.
        if inplace:
            args = (args[0].clone(),) + args[1:]
        return C(name, *args, **kw)

    if base in UNARY:
        x = unary_input(s, UNARY[base], 2, 3)
        out = [(lambda a: op(a), [x])]
        if base == "logit":
            out.append((lambda a: op(a, 0.2), [s.any(2, 3, lo=0.25, hi=0.75)]))
        if base == "gelu":
            out.append((lambda a: C("gelu", a, approximate="tanh"), [s.any(2, 3)]))
        if base == "softplus":
            # beta * x above the threshold: the identity branch.
            out.append((lambda a: C("softplus", a, 2, 1.0), [s.leaf([-1.0, 0.2, 0.8])]))
        if base == "exp":  # non-contiguous input
            out.append((lambda a: op(a.t()), [s.any(3, 2)]))
        return out
    binary = {
        "add": [(lambda a, b: op(a, b, alpha=2), [s.any(2, 3), s.any(3)]),
                (lambda a: C("add", 2.0, a), [s.any(3)])],
        "sub": [(lambda a, b: op(a, b, alpha=-0.5), [s.any(2, 3), s.any(2, 1)]),
                (lambda a: C("sub", 2.0, a), [s.any(3)])],
        "mul": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(1, 3)]),
                (lambda a: op(a, 3.0), [s.any(3)])],
        "div": [(lambda a, b: op(a, b), [s.any(2, 3), s.nonzero(3)]),
                (lambda a, b: op(a, b, rounding_mode="floor"), [s.frac(3), s.any(3, lo=3.5, hi=4)]),
                (lambda a: C("div", 2.0, a), [s.nonzero(3)])],
        "remainder": [(lambda a, b: op(a, b), [s.any(2, 3, lo=0.1, hi=0.9),
                                              s.any(3, lo=1.2, hi=1.5)]),
                      (lambda a: C("remainder", 2.5, a), [s.any(3, lo=1.1, hi=1.2)])],
        "fmod": [(lambda a, b: op(a, b), [s.any(2, 3, lo=2.2, hi=2.8), s.any(3, lo=1.6, hi=2)])],
        "pow": [(lambda a, b: op(a, b), [s.pos(2, 3), s.any(3)]),
                (lambda a: op(a, 3), [s.any(3)]),
                (lambda a: C("pow", 2.0, a), [s.any(3)])],
        "atan2": [(lambda a, b: op(a, b), [s.any(2, 3), s.nonzero(3)])],
        "maximum": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(3)])],
        "minimum": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(3)])],
        "lerp": [(lambda a, b, w: op(a, b, w), [s.any(2, 3), s.any(3), s.any(2, 3)]),
                 (lambda a, b: op(a, b, 0.3), [s.any(3), s.any(3)])],
    }
    if base in binary:
        return binary[base]
    if base in ("clamp", "clip"):
        x = s.any(2, 3, lo=-2, hi=2)
        cases = [(lambda a: op(a, -0.5, 0.5), [s.leaf([[-1.0, -0.2, 0.1], [0.7, 0.3, -0.9]])]),
                 (lambda a: op(a, None, 0.1), [s.leaf([0.5, -0.3, -1.0])])]
        if not inplace:
            lo = s.leaf(s.rng.uniform(-1.0, -0.3, (3,)))
            hi = s.leaf(s.rng.uniform(0.3, 1.0, (2, 1)))
            cases.append((lambda a, mn, mx: op(a, mn, mx), [x, lo, hi]))
            cases.append((lambda a, mn: op(a, mn), [s.leaf([0.5, -2.0, 1.0]), s.leaf([0.0, 0.0, 2.0])]))
        return cases
    if name == "where":
        cond = td.tensor([[True, False, True], [False, False, True]])
        return [(lambda a, b: C("where", cond, a, b), [s.any(2, 3), s.any(3)]),
                (lambda a: C("where", cond, a, 0.5), [s.any(2, 3)]),
                (lambda a: C("where", cond, 1.0, a), [s.any(3)])]
    if name == "zero_":
        return [(lambda a: C("zero_", a * 1) + a, [s.any(3)])]
    if name == "fill_":
        return [(lambda a: C("fill_", a * 1, 2.0) * a, [s.any(3)])]
    if name == "copy_":
        return [(lambda a, b: C("copy_", a * 1, b) * a, [s.any(2, 3), s.any(3)])]

    reductions = {
        "sum": [(lambda a: op(a, [1]), [s.any(2, 3)]), (lambda a: op(a), [s.any(2, 3)]),
                (lambda a: op(a, [0], True), [s.any(2, 3)])],
        "mean": [(lambda a: op(a, [0, 1], True), [s.any(2, 3)]), (lambda a: op(a), [s.any(3, 2).t()])],
        "nansum": [(lambda a: op(a, [1]), [s.any(2, 3)])],
        "prod": [(lambda a: op(a, 1), [s.any(2, 3)]), (lambda a: op(a), [s.any(2, 2)]),
                 (lambda a: op(a, 0, True), [s.leaf([[0.0, 2.0], [1.5, 0.0], [0.0, -1.0]])]),
                 (lambda a: op(a), [s.leaf([1.5, 0.0, -2.0])])],
        "max": [(lambda a: op(a), [s.any(2, 3)])],
        "min": [(lambda a: op(a), [s.any(2, 3)])],
        "median": [(lambda a: op(a), [s.any(5)])],
        "amax": [(lambda a: op(a, [1]), [s.any(2, 3)]), (lambda a: op(a), [s.any(2, 3)])],
        "amin": [(lambda a: op(a, [0], True), [s.any(2, 3)])],
        "std": [(lambda a: op(a, [1]), [s.any(2, 3)]), (lambda a: op(a, correction=0), [s.any(2, 3)])],
        "var": [(lambda a: op(a, [0], False, True), [s.any(3, 2)]), (lambda a: op(a, correction=2), [s.any(4)])],
        "std_mean": [(lambda a: op(a, [1]), [s.any(2, 3)])],
        "var_mean": [(lambda a: op(a, [1], keepdim=True), [s.any(2, 3)])],
        "norm": [(lambda a: op(a), [s.any(2, 3)]), (lambda a: op(a, 1, [1]), [s.nonzero(2, 3)]),
                 (lambda a: op(a, float("inf"), [0]), [s.any(2, 3)]),
                 (lambda a: op(a, 3, [1], True), [s.nonzero(2, 3)]),
                 (lambda a: op(a, 1.5), [s.nonzero(2, 3)]),
                 (lambda a: op(a, 0.5), [s.nonzero(4)])],
        "logsumexp": [(lambda a: op(a, [1]), [s.any(2, 3)])],
        "softmax": [(lambda a: op(a, 1), [s.any(2, 3)])],
        "log_softmax": [(lambda a: op(a, 0), [s.any(2, 3)])],
        "cumsum": [(lambda a: op(a, 1), [s.any(2, 3)]), (lambda a: op(a, 0), [s.any(3, 2).t()])],
        "cumprod": [(lambda a: op(a, 1), [s.any(2, 3)]),
                    (lambda a: op(a, 1), [s.leaf([[1.5, 0.0, 2.0, -1.0], [0.0, 0.5, 0.0, 3.0]])])],
        "cummax": [(lambda a: op(a, 1)[0], [s.any(2, 4)])],
        "cummin": [(lambda a: op(a, 0)[0], [s.any(3, 2)])],
        "max_dim": [(lambda a: op(a, 1)[0], [s.any(2, 3)])],
        "min_dim": [(lambda a: op(a, 0, True)[0], [s.any(2, 3)])],
        "median_dim": [(lambda a: op(a, 1)[0], [s.any(2, 3)])],
        "mode": [(lambda a: op(a, 1)[0], [s.any(2, 3)])],
        "kthvalue": [(lambda a: op(a, 2, 1)[0], [s.any(2, 3)])],
        "sort": [(lambda a: op(a, 1, True)[0], [s.any(2, 3)])],
        "topk": [(lambda a: op(a, 2, 1)[0], [s.any(2, 3)])],
    }
    if base in reductions:
        return reductions[base]

    shape = {
        "view": [(lambda a: op(a, [3, 2]), [s.any(2, 3)])],
        "reshape": [(lambda a: op(a, [-1]), [s.any(3, 2).t()])],
        "contiguous": [(lambda a: op(a.t()), [s.any(2, 3)])],
        "clone": [(lambda a: op(a), [s.any(2, 3)])],
        "to_dtype": [(lambda a: op(a, td.float32).double() * 1, [s.any(3)],
                      dict(eps=1e-2, atol=1e-4))],
        "to_device": [(lambda a: op(a, "cpu"), [s.any(3)])],
        "permute": [(lambda a: op(a, [2, 0, 1]), [s.any(2, 3, 2)])],
        "transpose": [(lambda a: op(a, 0, 1), [s.any(2, 3)])],
        "swapaxes": [(lambda a: op(a, 0, 2), [s.any(2, 1, 3)])],
        "swapdims": [(lambda a: op(a, 1, 0), [s.any(2, 3)])],
        "t": [(lambda a: op(a), [s.any(2, 3)])],
        "squeeze": [(lambda a: op(a), [s.any(2, 1, 3)]), (lambda a: op(a, 1), [s.any(2, 1, 3)])],
        "unsqueeze": [(lambda a: op(a, 1), [s.any(2, 3)])],
        "expand": [(lambda a: op(a, [2, 3, 3]), [s.any(3, 1)])],
        "broadcast_to": [(lambda a: op(a, [2, 3]), [s.any(3)])],
        "flatten": [(lambda a: op(a, 1), [s.any(2, 2, 2)])],
        "unflatten": [(lambda a: op(a, 1, [2, 2]), [s.any(2, 4)])],
        "narrow": [(lambda a: op(a, 1, 1, 2), [s.any(2, 4)])],
        "select": [(lambda a: op(a, 1, -1), [s.any(2, 3)])],
        "slice": [(lambda a: op(a, 1, 1, None, 2), [s.any(2, 5)])],
        "unbind": [(lambda a: op(a, 1), [s.any(2, 3)])],
        "movedim": [(lambda a: op(a, [0], [2]), [s.any(2, 3, 1)])],
        "moveaxis": [(lambda a: op(a, [2, 0], [0, 1]), [s.any(2, 3, 2)])],
        # A gap, an offset, overlapping results, an input that is itself a view.
        "as_strided": [(lambda a: op(a, [2, 2], [3, 1], 1), [s.any(3, 3)]),
                       (lambda a: op(a, [3, 2], [1, 1]), [s.any(4)]),
                       (lambda a: op(a.t(), [2, 3], [1, 2], 2), [s.any(3, 3)])],
        "diagonal": [(lambda a: op(a), [s.any(3, 3)]), (lambda a: op(a, 1, 2, 0), [s.any(3, 2, 4)]),
                     (lambda a: op(a, -1, 0, 2), [s.any(3, 2, 3)])],
        "repeat": [(lambda a: op(a, [2, 1, 2]), [s.any(2, 3)])],
        "repeat_interleave": [(lambda a: op(a, 2, 1), [s.any(2, 3)]),
                              (lambda a: op(a, idx(1, 0, 2), 1), [s.any(2, 3)]),
                              (lambda a: op(a, 2), [s.any(2, 2)])],
        "flip": [(lambda a: op(a, [0, 1]), [s.any(2, 3)])],
        "roll": [(lambda a: op(a, [1, -1], [0, 1]), [s.any(2, 3)]), (lambda a: op(a, [2]), [s.any(2, 3)])],
        "tril": [(lambda a: op(a, -1), [s.any(3, 3)])],
        "triu": [(lambda a: op(a, 1), [s.any(3, 4)])],
        "diag": [(lambda a: op(a, 1), [s.any(3)]), (lambda a: op(a, -1), [s.any(3, 4)])],
        "cat": [(lambda a, b: op([a, b], 1), [s.any(2, 3), s.any(2, 1)])],
        "stack": [(lambda a, b: op([a, b], 1), [s.any(2, 3), s.any(2, 3)])],
        "split": [(lambda a: op(a, 2, 1), [s.any(2, 5)])],
        "split_with_sizes": [(lambda a: op(a, [1, 3], 1), [s.any(2, 4)])],
        "chunk": [(lambda a: op(a, 2, 0), [s.any(3, 2)])],
        "tensor_split": [(lambda a: op(a, [1, 3], 1), [s.any(2, 4)]),
                         (lambda a: op(a, [3, 1], 1), [s.any(2, 4)]),
                         (lambda a: op(a, None, 0, sections=2), [s.any(3, 2)])],
    }
    if base in shape:
        return shape[base]

    i2 = td.tensor([[0, 2, 1], [1, 0, 0]])
    mask = td.tensor([[True, False, True], [False, True, True]])
    indexing = {
        "index_select": [(lambda a: op(a, 1, idx(2, 0, 2)), [s.any(2, 3)])],
        "gather": [(lambda a: op(a, 1, i2), [s.any(2, 3)])],
        "scatter": [(lambda a, b: op(a, 0, td.tensor([[1, 0, 1]]), b), [s.any(2, 3), s.any(1, 3)]),
                    (lambda a: op(a, 1, td.tensor([[2], [0]]), 1.5), [s.any(2, 3)])],
        "scatter_add": [(lambda a, b: op(a, 1, i2, b), [s.any(2, 3), s.any(2, 3)])],
        "scatter_reduce": [(lambda a, b: op(a, 1, i2, b, "sum"), [s.any(2, 3), s.any(2, 3)]),
                           (lambda a, b: op(a, 1, i2, b, "mean", include_self=False),
                            [s.any(2, 3), s.any(2, 3)]),
                           (lambda a, b: op(a, 1, i2, b, "amax"), [s.any(2, 3), s.any(2, 3)])],
        "index_add": [(lambda a, b: op(a, 0, idx(1, 1), b, alpha=2), [s.any(2, 3), s.any(2, 3)])],
        "index_copy": [(lambda a, b: op(a, 1, idx(2, 0), b), [s.any(2, 3), s.any(2, 2)])],
        "index_fill": [(lambda a, v: op(a, 1, idx(0, 2), v), [s.any(2, 3), s.any()]),
                       (lambda a: op(a, 0, idx(1), -1.0), [s.any(2, 3)])],
        "masked_fill": [(lambda a, v: op(a, mask, v), [s.any(2, 3), s.any()]),
                        (lambda a: op(a, mask[0], 2.0), [s.any(2, 3)])],
        "masked_select": [(lambda a: op(a, mask), [s.any(2, 3)]), (lambda a: op(a, mask), [s.any(3)])],
        "masked_scatter": [(lambda a, b: op(a, mask, b), [s.any(2, 3), s.any(5)])],
        "take": [(lambda a: op(a, td.tensor([[0, -1], [3, 3]])), [s.any(2, 3)])],
        "index": [(lambda a: op(a, [idx(1, 0, 1)], [1]), [s.any(2, 3)]),
                  (lambda a: op(a, [idx(0, 1), idx(2, 0)], [0, 1]), [s.any(2, 3)])],
        "index_put": [(lambda a, v: op(a, [idx(0, 2)], [1], v), [s.any(2, 3), s.any(2, 1)]),
                      (lambda a, v: op(a, [idx(1, 1)], [0], v, True), [s.any(2, 3), s.any(3)])],
    }
    if base in indexing:
        return indexing[base]

    linalg = {
        "matmul": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(3, 2)]),
                   (lambda a, b: op(a, b), [s.any(2, 2, 3), s.any(3)])],
        "mm": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(3, 2)])],
        "bmm": [(lambda a, b: op(a, b), [s.any(2, 2, 3), s.any(2, 3, 2)])],
        "mv": [(lambda a, b: op(a, b), [s.any(2, 3), s.any(3)])],
        "dot": [(lambda a, b: op(a, b), [s.any(3), s.any(3)])],
        "addmm": [(lambda c, a, b: op(c, a, b, beta=0.5, alpha=2), [s.any(2), s.any(2, 3), s.any(3, 2)])],
        "addmv": [(lambda c, a, b: op(c, a, b, beta=2, alpha=-1), [s.any(2), s.any(2, 3), s.any(3)])],
        "baddbmm": [(lambda c, a, b: op(c, a, b, beta=0.5, alpha=1.5),
                     [s.any(1, 2, 2), s.any(2, 2, 3), s.any(2, 3, 2)])],
        "outer": [(lambda a, b: op(a, b), [s.any(2), s.any(3)])],
        "ger": [(lambda a, b: op(a, b), [s.any(2), s.any(3)])],
        "einsum": [(lambda a, b: op("ij,jk->ik", [a, b]), [s.any(2, 3), s.any(3, 2)]),
                   (lambda a, b: op("bij,k->bk", [a, b]), [s.any(2, 2, 3), s.any(2)]),
                   (lambda a: op("ij->", [a]), [s.any(2, 3)])],
    }
    if base in linalg:
        return linalg[base]

    def const(*shape, lo=-1.0, hi=1.0):
        """A fixed operand (a default argument: drawn once, not per call)."""
        return td.tensor(s.rng.uniform(lo, hi, shape), dtype=td.float64)
    img = s.any(1, 1, 4, 4)
    taps = td.tensor([[0, 1], [2, 2], [1, 0], [2, 1]])  # resample_along: 3 rows -> 4, 2 taps each
    nn = {
        "convolution": [(lambda a, w, b: op(a, w, b, [1, 1], [1, 0], [1, 1], False, [0, 0], 1),
                         [s.any(1, 1, 3, 3), s.any(2, 1, 2, 2), s.any(2)]),
                        (lambda a, w: op(a, w, None, [1], [0], [1], True, [0], 1),
                         [s.any(1, 2, 3), s.any(2, 1, 2)])],
        "max_pool2d_with_indices": [(lambda a: op(a, [2, 2])[0], [img])],
        "avg_pool2d": [(lambda a: op(a, [2, 2], [1, 1], [1, 1]), [s.any(1, 1, 3, 3)])],
        "adaptive_avg_pool2d": [(lambda a: op(a, [2, 2]), [s.any(1, 1, 3, 3)])],
        "adaptive_max_pool2d": [(lambda a: op(a, [2, 2])[0], [s.any(1, 1, 3, 3)])],
        "resample_along": [(lambda a, w=const(4, 2): op(a, 1, taps, w), [s.any(2, 3, 2)])],
        "resample_along_backward": [(lambda g, w=const(4, 2): op(g, [2, 3, 2], 1, taps, w),
                                     [s.any(2, 4, 2)])],
        "native_batch_norm": [(lambda a, w, b: op(a, w, b, None, None, True, 0.1, 1e-5)[0],
                               [s.any(3, 2), s.any(2), s.any(2)])],
        "native_layer_norm": [(lambda a, w, b: op(a, [3], w, b, 1e-5)[0],
                               [s.any(2, 3), s.any(3), s.any(3)])],
        "native_group_norm": [(lambda a, w, b: op(a, w, b, 2, 4, 2, 2, 1e-5)[0],
                               [s.any(2, 4, 2), s.any(4), s.any(4)])],
        "nll_loss_forward": [(lambda a: op(a, idx(0, 3, 1), None, 1, -100)[0], [s.any(3, 4)])],
        "nll_loss2d_forward": [(lambda a: op(a, td.tensor([[[0, 2], [1, 1]]]), None, 2, -100)[0],
                                [s.any(1, 3, 2, 2)])],
        "mse_loss": [(lambda a, t: op(a, t, 1), [s.any(2, 3), s.any(2, 3)])],
        "smooth_l1_loss": [(lambda a, t: op(a, t, 1, 0.5), [s.any(2, 3), s.any(2, 3)])],
        "huber_loss": [(lambda a, t: op(a, t, 2, 0.5), [s.any(2, 3), s.any(2, 3)])],
        "binary_cross_entropy": [(lambda a, t=const(2, 3, lo=0, hi=1): op(a, t, None, 1),
                                  [s.any(2, 3, lo=0.1, hi=0.9)])],
        "binary_cross_entropy_with_logits": [
            (lambda a, t=const(2, 3, lo=0, hi=1), pw=const(3, lo=0.5, hi=2): op(a, t, None, pw, 1),
             [s.any(2, 3)])],
        "kl_div": [(lambda a, t=const(2, 3, lo=0.1, hi=1): op(a, t, 1), [s.any(2, 3)])],
        "_ctc_loss": [(lambda a: op(C("log_softmax", a, 2), td.tensor([[1, 2]]), [4], [2])[0],
                       [s.any(4, 1, 3)])],
        "elu": [(lambda a: op(a, 1.5, 1.0, 1.0), [s.nonzero(2, 3)])],
        "leaky_relu": [(lambda a: op(a, 0.2), [s.nonzero(2, 3)])],
        "hardtanh": [(lambda a: op(a, -1.0, 1.0), [s.leaf([-1.5, -0.5, 0.3, 1.4])])],
        "hardswish": [(lambda a: op(a), [s.leaf([-4.0, -1.0, 0.5, 2.0, 3.5])])],
        "hardsigmoid": [(lambda a: op(a), [s.leaf([-4.0, -1.0, 0.5, 2.0, 3.5])])],
        "mish": [(lambda a: op(a), [s.any(2, 3)])],
        "prelu": [(lambda a, w: op(a, w), [s.nonzero(2, 3), s.any(3)])],
        "log_sigmoid_forward": [(lambda a: op(a)[0], [s.any(2, 3)])],
        "glu": [(lambda a: op(a, 1), [s.any(2, 4)])],
    }
    if base in nn:
        return nn[base]

    # Backward ops, differentiated in grad_output and the forward's inputs
    # (their double backward). Statistics and indices the forward saves are
    # computed inside, from the same inputs, as the forward's formula does.
    def distinct(*shape):
        """Spread-out values without ties (max pooling's argmax is stable)."""
        n = int(np.prod(shape))
        return s.leaf((s.rng.permutation(n) * 0.3 - n * 0.15).reshape(shape))
    ab = [s.leaf([0.1, 1.0, -0.8]), s.leaf([0.3, 0.0, 0.1])]  # |a - b| away from 0.5
    t2 = td.tensor([[[0, 2], [1, 1]]])
    rm, rv = const(2), const(2, lo=0.5, hi=2.0)
    backward = {
        "convolution_backward": [
            (lambda g, a, w: op(g, a, w, [2], [1, 1], [1, 0], [1, 1], False, [0, 0], 1, [1, 1, 1]),
             [s.any(1, 2, 4, 2), s.any(1, 1, 3, 3), s.any(2, 1, 2, 2)]),
            (lambda g, a, w: op(g, a, w, None, [2], [0], [1], True, [1], 1, [1, 1, 0]),
             [s.any(1, 1, 6), s.any(1, 2, 2), s.any(2, 1, 3)])],
        "max_pool2d_with_indices_backward": [
            (lambda g, a: op(g, a, [2, 2], [2, 2], [0, 0], [1, 1], False,
                             C("max_pool2d_with_indices", a, [2, 2])[1]),
             [s.any(1, 1, 2, 2), distinct(1, 1, 4, 4)])],
        "avg_pool2d_backward": [(lambda g, a: op(g, a, [2, 2], [1, 1], [1, 1], False, True, None),
                                 [s.any(1, 1, 4, 4), s.any(1, 1, 3, 3)])],
        "adaptive_avg_pool2d_backward": [(lambda g, a: op(g, a), [s.any(1, 1, 2, 2), s.any(1, 1, 3, 3)])],
        "adaptive_max_pool2d_backward": [
            (lambda g, a: op(g, a, C("adaptive_max_pool2d", a, [2, 2])[1]),
             [s.any(1, 1, 2, 2), distinct(1, 1, 3, 3)])],
        "native_batch_norm_backward": [
            (lambda g, a, w: op(g, a, w, None, None,
                                *C("native_batch_norm", a, w, None, None, None, True, 0.1, 1e-5)[1:],
                                True, 1e-5, [1, 1, 1]),
             [s.any(3, 2), s.any(3, 2), s.any(2)]),
            (lambda g, a, w: op(g, a, w, rm, rv, None, None, False, 1e-5, [1, 1, 1]),
             [s.any(2, 2, 2), s.any(2, 2, 2), s.any(2)])],
        "native_layer_norm_backward": [
            (lambda g, a, w: op(g, a, [3], *C("native_layer_norm", a, [3], w, None, 1e-5)[1:], w,
                                None, [1, 1, 1]),
             [s.any(2, 3), s.any(2, 3), s.any(3)])],
        "native_group_norm_backward": [
            (lambda g, a, w: op(g, a, *C("native_group_norm", a, w, None, 2, 4, 2, 2, 1e-5)[1:], w,
                                2, 4, 2, 2, [1, 1, 1]),
             [s.any(2, 4, 2), s.any(2, 4, 2), s.any(4)])],
        "embedding_dense_backward": [(lambda g: op(g, idx(0, 2, 2), 3, 0, False), [s.any(3, 2)]),
                                     (lambda g: op(g, idx(0, 2, 2, 1), 3, -1, True), [s.any(4, 2)])],
        "_softmax_backward_data": [(lambda g, y: op(g, y, 1, td.float64),
                                    [s.any(2, 3), s.any(2, 3, lo=0.1, hi=0.9)])],
        "_log_softmax_backward_data": [(lambda g, y: op(g, y, 0, td.float64),
                                        [s.any(2, 3), s.any(2, 3, lo=-2.0, hi=-0.1)])],
        "nll_loss_backward": [
            (lambda g, a: op(g, a, idx(0, 3, 1), None, 1, -100,
                             C("nll_loss_forward", a, idx(0, 3, 1), None, 1, -100)[1]),
             [s.any(), s.any(3, 4)])],
        "nll_loss2d_backward": [
            (lambda g, a: op(g, a, t2, None, 2, -100, C("nll_loss2d_forward", a, t2, None, 2, -100)[1]),
             [s.any(), s.any(1, 3, 2, 2)])],
        "mse_loss_backward": [(lambda g, a, b: op(g, a, b, 1), [s.any(), s.any(2, 3), s.any(2, 3)])],
        "smooth_l1_loss_backward": [(lambda g, a, b: op(g, a, b, 1, 0.5), [s.any()] + ab)],
        "huber_loss_backward": [(lambda g, a, b: op(g, a, b, 0, 0.5), [s.any(3)] + ab)],
        "binary_cross_entropy_backward": [
            (lambda g, a, t, w=const(3, lo=0.5, hi=2): op(g, a, t, w, 2),
             [s.any(), s.any(3, lo=0.2, hi=0.8), s.any(3, lo=0.0, hi=1.0)])],
        "threshold_backward": [(lambda g, a: op(g, a, 0.1), [s.any(2, 3), s.nonzero(2, 3)])],
        "gelu_backward": [(lambda g, a: op(g, a), [s.any(4), s.any(4)]),
                          (lambda g, a: C("gelu_backward", g, a, approximate="tanh"),
                           [s.any(4), s.any(4)])],
        "silu_backward": [(lambda g, a: op(g, a), [s.any(4), s.any(4)])],
        "softplus_backward": [(lambda g, a: op(g, a, 2, 1.0), [s.any(3), s.leaf([-1.0, 0.2, 0.8])])],
        "elu_backward": [(lambda g, a: op(g, 1.5, 1.0, 0.5, False, a), [s.any(4), s.nonzero(4)]),
                         (lambda g, y: op(g, 1.5, 2.0, 1.0, True, y), [s.any(4), s.nonzero(4)])],
        "leaky_relu_backward": [(lambda g, a: op(g, a, 0.2, False), [s.any(4), s.nonzero(4)])],
        "hardtanh_backward": [(lambda g, a: op(g, a, -1.0, 1.0),
                               [s.any(4), s.leaf([-1.5, -0.5, 0.3, 1.4])])],
        "hardswish_backward": [(lambda g, a: op(g, a), [s.any(5), s.leaf([-4.0, -1.0, 0.5, 2.0, 3.5])])],
        "hardsigmoid_backward": [(lambda g, a: op(g, a), [s.any(5), s.leaf([-4.0, -1.0, 0.5, 2.0, 3.5])])],
        "mish_backward": [(lambda g, a: op(g, a), [s.any(4), s.any(4)])],
        "prelu_backward": [(lambda g, a, w: op(g, a, w), [s.any(2, 3), s.nonzero(2, 3), s.any(3)])],
        "log_sigmoid_backward": [(lambda g, a: op(g, a, C("log_sigmoid_forward", a)[1]),
                                  [s.any(2, 3), s.any(2, 3)])],
        "glu_backward": [(lambda g, a: op(g, a, 1), [s.any(2, 2), s.any(2, 4)])],
    }
    return backward.get(base)


def formula_ops():
    return sorted(op["name"] for op in td._C.op_table() if op["autograd"] == "formula")


# Families whose second derivatives are checked too.
GRADGRAD = set(UNARY) | {
    "add", "sub", "mul", "div", "pow", "atan2", "maximum", "minimum", "lerp", "where", "clamp",
    "sum", "mean", "prod", "max", "amax", "std", "var", "norm", "logsumexp", "cumsum", "cumprod",
    "softmax", "log_softmax", "max_dim", "sort", "matmul", "mm", "bmm", "mv", "dot", "addmm",
    "addmv", "baddbmm", "outer", "einsum", "select", "slice", "narrow", "diagonal", "gather",
    "index_select", "index", "masked_select", "take", "resample_along", "resample_along_backward",
    "as_strided",
    # nn backward ops: gradgradcheck of them is third order through the nn ops.
    "convolution_backward", "max_pool2d_with_indices_backward", "avg_pool2d_backward",
    "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_backward", "native_batch_norm_backward",
    "native_layer_norm_backward", "native_group_norm_backward", "embedding_dense_backward",
    "_softmax_backward_data", "_log_softmax_backward_data", "nll_loss_backward",
    "nll_loss2d_backward", "mse_loss_backward", "smooth_l1_loss_backward", "huber_loss_backward",
    "binary_cross_entropy_backward", "threshold_backward", "gelu_backward", "silu_backward",
    "softplus_backward", "elu_backward", "leaky_relu_backward", "hardtanh_backward",
    "hardswish_backward", "hardsigmoid_backward", "mish_backward", "prelu_backward",
    "log_sigmoid_backward", "glu_backward",
}


def test_every_formula_has_a_sample():
    missing = [name for name in formula_ops() if not samples(name)]
    assert not missing, f"ops with derivative formulas but no gradcheck sample: {missing}"


@pytest.mark.parametrize("name", formula_ops())
def test_gradcheck(name):
    cases = samples(name)
    if not cases:
        pytest.fail(f"{name} has a derivative formula but no gradcheck sample")
    for fn, inputs, *kw in cases:
        tol = kw[0] if kw else {}
        assert gradcheck(fn, inputs, **tol)
        if name in GRADGRAD:
            assert gradgradcheck(fn, inputs, **tol)


def test_gradcheck_reports_a_wrong_jacobian_like_torch(ref):
    x = td.tensor([1.0, 2.0], dtype=td.float64, requires_grad=True)

    def wrong(a):  # gradient of a * a.detach() is half the true one
        return a * a.detach()
    assert not gradcheck(wrong, (x,), raise_exception=False)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradcheck(wrong, (x,))
    y = ref.tensor([1.0, 2.0], dtype=ref.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
        ref.autograd.gradcheck(lambda a: a * a.detach(), (y,))
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (td.ones(2, dtype=td.float64),))
    assert gradgradcheck(lambda a: (a * a * a).sum(), (x,))
    # a.detach() hides the dependence that the finite differences still see.
    assert not gradgradcheck(lambda a: a * a.detach(), (x,), raise_exception=False)


# Points gradcheck cannot test (ties, zeros, kinks): the gradient torch 1.13 gives.
TORCH_CASES = {
    "maximum_ties": (lambda m, a, b: m.maximum(a, b), [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    "minimum_ties": (lambda m, a, b: m.minimum(a, b), [[1.0, 2.0, 3.0], [1.0, 5.0, 3.0]]),
    "max_ties": (lambda m, a: m.max(a), [[1.0, 3.0, 3.0, -1.0]]),
    "min_nan": (lambda m, a: m.min(a), [[1.0, float("nan"), 0.5]]),
    "median_all": (lambda m, a: m.median(a), [[4.0, 1.0, 2.0, 2.0]]),
    "amax_ties": (lambda m, a: m.amax(a, 1), [[[1.0, 1.0, 0.0], [2.0, 3.0, 3.0]]]),
    "max_dim_ties": (lambda m, a: m.max(a, 1)[0], [[[1.0, 1.0, 0.0], [2.0, 3.0, 3.0]]]),
    "clamp_at_bounds": (lambda m, a: m.clamp(a, -1.0, 1.0), [[-1.0, 1.0, 0.5, 2.0]]),
    "clamp_tensor_bounds": (lambda m, a, lo, hi: m.clamp(a, lo, hi),
                            [[0.0, -2.0, 3.0, 0.5], [0.5, -1.0, -1.0, 0.5], [1.0, 1.0, 2.0, 0.0]]),
    "prod_zeros": (lambda m, a: m.prod(a, 1), [[[0.0, 2.0, 3.0], [0.0, 0.0, 1.0]]]),
    "prod_all_one_zero": (lambda m, a: m.prod(a), [[2.0, 0.0, -3.0]]),
    "cumprod_zeros": (lambda m, a: m.cumprod(a, 0), [[2.0, 0.0, 3.0, 0.0, 4.0]]),
    "norm_inf_ties": (lambda m, a: m.norm(a, float("inf")), [[-2.0, 2.0, 1.0]]),
    "norm_zero_vector": (lambda m, a: m.norm(a), [[0.0, 0.0]]),
    "std_constant": (lambda m, a: m.std(a), [[1.0, 1.0, 1.0]]),
    "abs_relu_at_zero": (lambda m, a: m.abs(a) + m.relu(a), [[0.0, -1.0, 2.0]]),
    "nan_to_num": (lambda m, a: m.nan_to_num(a * 1), [[float("nan"), float("inf"), 1.0]]),
    "logit_eps": (lambda m, a: m.logit(a, 0.25), [[0.1, 0.5, 0.9, 0.25]]),
    "sort_ties": (lambda m, a: m.sort(a)[0], [[2.0, 1.0, 2.0, 0.0]]),
    "scatter_reduce_amax_ties": (
        lambda m, a, b: a.scatter_reduce(0, m.tensor([0, 0, 1]), b, "amax"),
        [[1.0, 5.0], [1.0, 0.5, 5.0]]),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_gradient_at_special_points_matches_torch(ref, name):
    fn, arrays = TORCH_CASES[name]
    mine = [td.tensor(a, dtype=td.float64, requires_grad=True) for a in arrays]
    theirs = [ref.tensor(a, dtype=ref.float64, requires_grad=True) for a in arrays]
    out_m, out_t = fn(td, *mine), fn(ref, *theirs)
    g = np.linspace(0.5, 1.5, max(out_t.numel(), 1)).reshape(tuple(out_t.shape))
    out_m.backward(td.tensor(g))
    out_t.backward(ref.tensor(g))
    for x, y in zip(mine, theirs):
        assert x.grad is not None, "gradient is None"
        assert_meta_matches(x.grad)
        np.testing.assert_allclose(to_numpy(x.grad), to_numpy(y.grad), rtol=1e-7, atol=1e-12,
                                   equal_nan=True)


def test_select_slice_narrow_support_double_backward(ref):
    a = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
    x = td.tensor(a, requires_grad=True)
    y = ref.tensor(a, requires_grad=True)
    for m, t in ((td, x), (ref, y)):
        out = (t[1] ** 3).sum() + (t[:, 1:] ** 3).sum() + (t.narrow(1, 0, 2) ** 2).sum()
        g, = m.autograd.grad(out, t, create_graph=True)
        g2, = m.autograd.grad((g * g).sum(), t)
        if m is td:
            mine = to_numpy(g2)
        else:
            theirs = to_numpy(g2)
    np.testing.assert_allclose(mine, theirs, rtol=1e-10)


def test_underivable_ops_say_so():
    x = td.ones(3, dtype=td.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="the derivative for 'aminmax' is not implemented"):
        td.aminmax(x * 1)[0].sum().backward()
        x.grad
    with pytest.raises(NotImplementedError, match="scatter_reduce.*prod"):
        (x * 1).scatter_reduce(0, idx(0, 0), x[:2] * 1, "prod").sum().backward()
        x.grad
    with pytest.raises(NotImplementedError, match="einsum.*repeated subscript"):
        td.einsum("ii->i", x.unsqueeze(0).expand(3, 3) * 1).sum().backward()
        x.grad
    assert not td.histc(x).requires_grad  # not differentiable in torch either
