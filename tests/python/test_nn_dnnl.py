"""float32 pooling and normalisation on oneDNN (kernels/cpu/dnnl_nn.cpp):
shapes large enough for oneDNN's vectorised kernels (channels-last batch
norm, blocked pooling) against torch 1.13, and a daemon started with
ONEDNN_VERBOSE=1 showing that these ops do run on oneDNN."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from conftest import DaemonProcess

import tensord as td
from helpers import assert_same
from test_nn_ops import call, grads, leaf, make

TOL = dict(rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(8, 32, 14, 14), (16, 24, 10), (64, 16)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_batch_norm_forward_and_backward_large(ref, shape, training, affine, layout):
    c = shape[1]
    x, rx = make(ref, shape, "float32", 0, layout, scale=3.0)
    w, rw = make(ref, (c,), "float32", 1) if affine else (None, None)
    b, rb = make(ref, (c,), "float32", 2) if affine else (None, None)
    rm, rrm = make(ref, (c,), "float32", 3)
    rv, rrv = make(ref, (c,), "float32", 4, lo=0.5, hi=2.0)
    g, rg = make(ref, shape, "float32", 5, layout)
    got = td.native_batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5)
    want = ref.ops.aten.native_batch_norm(rx, rw, rb, rrm, rrv, training, 0.1, 1e-5)
    for a, e in zip(got, want):
        assert_same(a, e, **TOL)
    assert_same(rm, rrm, **TOL)  # running stats updated in place (unbiased var)
    assert_same(rv, rrv, **TOL)
    lx = leaf(rx)
    lw, lb = (leaf(rw), leaf(rb)) if affine else (None, None)
    out = ref.ops.aten.native_batch_norm(lx, lw, lb, rrm.clone(), rrv.clone(), training, 0.1, 1e-5)[0]
    want_g = grads(ref, out, [t for t in (lx, lw, lb) if t is not None], rg)
    got_g = call("native_batch_norm_backward", g, x, w, rm, rv, got[1], got[2], training, 1e-5,
                 [1, 1 if affine else 0, 1 if affine else 0])
    for a, e in zip(got_g, want_g):
        assert_same(a, e, rtol=1e-4, atol=2e-4)


@pytest.mark.parametrize("shape,ns", [((32, 64, 48), [48]), ((8, 16, 24), [16, 24]), ((300, 7), [7])])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("layout", ["contig", "step"])
def test_layer_norm_forward_and_backward_large(ref, shape, ns, affine, layout):
    x, rx = make(ref, shape, "float32", 0, layout, scale=2.0)
    w, rw = make(ref, ns, "float32", 1) if affine else (None, None)
    b, rb = make(ref, ns, "float32", 2) if affine else (None, None)
    g, rg = make(ref, shape, "float32", 3, layout)
    got = td.native_layer_norm(x, ns, w, b, 1e-5)
    lx = leaf(rx)
    lw, lb = (leaf(rw), leaf(rb)) if affine else (None, None)
    want = ref.ops.aten.native_layer_norm(lx, ns, lw, lb, 1e-5)
    for a, e in zip(got, want):
        assert_same(a, e.detach(), **TOL)
    want_g = grads(ref, want[0], [t for t in (lx, lw, lb) if t is not None], rg)
    got_g = call("native_layer_norm_backward", g, x, ns, got[1], got[2], w, b,
                 [1, 1 if affine else 0, 1 if affine else 0])
    for a, e in zip(got_g, want_g):
        assert_same(a, e, rtol=1e-4, atol=2e-4)


# (kernel, stride, padding, ceil_mode, count_include_pad) on [8, 16, 28, 28]
AVG = [([2, 2], [2, 2], [0, 0], False, True), ([3, 3], [2, 2], [1, 1], False, True),
       ([3, 3], [2, 2], [1, 1], True, False), ([3, 2], [2, 3], [1, 0], True, True),
       ([5, 5], [3, 3], [2, 2], True, True), ([4, 4], [1, 1], [0, 2], False, False)]


@pytest.mark.parametrize("case", AVG)
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_avg_pool2d_forward_and_backward_large(ref, case, layout):
    k, s, p, ceil, count_pad = case
    x, rx = make(ref, (8, 16, 28, 28), "float32", 0, layout)
    args = (k, s, p, ceil, count_pad, None)
    y = call("avg_pool2d", x, *args)
    lx = leaf(rx)
    ry = ref.ops.aten.avg_pool2d(lx, *args)
    assert_same(y, ry.detach(), **TOL)
    g, rg = make(ref, tuple(ry.shape), "float32", 1, layout)
    assert_same(call("avg_pool2d_backward", g, x, *args), grads(ref, ry, [lx], rg)[0], **TOL)


CLIENT = r"""
import sys, tensord as td
td.connect(sys.argv[1])
x, g = td.randn(8, 32, 14, 14), td.randn(8, 32, 14, 14)
w, b, rm, rv = td.randn(32), td.randn(32), td.zeros(32), td.ones(32)
_, m, s = td.native_batch_norm(x, w, b, rm, rv, True, 0.1, 1e-5)
gi = td._C.call("native_batch_norm_backward", (g, x, w, rm, rv, m, s, True, 1e-5, [1, 1, 1]), {})
y, m2, s2 = td.native_layer_norm(x, [14], None, None, 1e-5)
gl = td._C.call("native_layer_norm_backward", (g, x, [14], m2, s2, None, None, [1, 0, 0]), {})
p = td._C.call("avg_pool2d", (x, [2, 2], [2, 2], [0, 0], False, True, None), {})
gp = td._C.call("avg_pool2d_backward", (p, x, [2, 2], [2, 2], [0, 0], False, True, None), {})
print(float(gi[0].sum() + gl[0].sum() + gp.sum()))
"""


def test_pooling_and_norms_run_on_onednn(monkeypatch):
    monkeypatch.setenv("ONEDNN_VERBOSE", "1")
    d = DaemonProcess()
    try:
        out = subprocess.run([sys.executable, "-c", CLIENT, d.address], capture_output=True, text=True,
                             timeout=120, cwd=tempfile.gettempdir(), env=dict(os.environ))
        assert out.returncode == 0, out.stderr
    finally:
        d.stop()
    execs = [line.split(",") for line in d.log().splitlines() if line.startswith("onednn_verbose,exec,")]
    ran = {(f[3], f[5]) for f in execs if len(f) > 5}
    for kind, prop in [("batch_normalization", "forward_training"), ("batch_normalization", "backward"),
                       ("layer_normalization", "forward_training"), ("layer_normalization", "backward"),
                       ("pooling_v2", "forward_training"), ("pooling_v2", "backward_data")]:
        assert (kind, prop) in ran, (kind, prop, sorted(ran))
