"""float32 pooling and normalisation on oneDNN (kernels/cpu/dnnl_nn.cpp):
shapes large enough for oneDNN's vectorised kernels (channels-last batch
norm, blocked pooling) against torch 1.13, a daemon started with
ONEDNN_VERBOSE=1 showing that these ops do run on oneDNN, and one started
with TENSORD_ONEDNN_NN=0 showing that its float32 loops match torch too."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
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


# (shape, groups): channels > 1 per group, odd spatial sizes, one group, a
# group per channel, no spatial dims
GN = [((8, 32, 14, 14), 8), ((3, 12, 5, 7), 4), ((4, 6, 33), 1), ((5, 9, 3, 3), 9), ((16, 10), 5)]


@pytest.mark.parametrize("shape,group", GN)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_group_norm_forward_and_backward_large(ref, shape, group, affine, layout):
    n, c = shape[0], shape[1]
    hxw = int(np.prod(shape[2:]))
    x, rx = make(ref, shape, "float32", 0, layout, scale=3.0)
    w, rw = make(ref, (c,), "float32", 1) if affine else (None, None)
    b, rb = make(ref, (c,), "float32", 2) if affine else (None, None)
    g, rg = make(ref, shape, "float32", 3, layout)
    got = td.native_group_norm(x, w, b, n, c, hxw, group, 1e-5)
    lx = leaf(rx)
    lw, lb = (leaf(rw), leaf(rb)) if affine else (None, None)
    want = ref.ops.aten.native_group_norm(lx, lw, lb, n, c, hxw, group, 1e-5)
    for a, e in zip(got, want):
        assert_same(a, e.detach(), **TOL)
    want_g = grads(ref, want[0], [lx, lw, lb] if affine else [lx], rg)
    got_g = call("native_group_norm_backward", g, x, got[1], got[2], w, n, c, hxw, group, [1, 1, 1])
    for a, e in zip(got_g, want_g):
        assert_same(a, e, rtol=1e-4, atol=3e-4)
    # One result at a time: the others stay empty, the asked one is the same.
    only_input = call("native_group_norm_backward", g, x, got[1], got[2], w, n, c, hxw, group, [1, 0, 0])
    assert_same(only_input[0], want_g[0], rtol=1e-4, atol=3e-4)
    assert tuple(only_input[1].shape) == (0,) and tuple(only_input[2].shape) == (0,)
    if affine:
        only_params = call("native_group_norm_backward", g, x, got[1], got[2], w, n, c, hxw, group,
                           [0, 1, 1])
        assert tuple(only_params[0].shape) == (0,)
        assert_same(only_params[1], want_g[1], rtol=1e-4, atol=3e-4)
        assert_same(only_params[2], want_g[2], rtol=1e-4, atol=3e-4)


# (input shape, output size): sizes that divide the input's (oneDNN: global
# pooling, 4x4 windows, 1x7 windows, unbatched) and sizes that do not (loops)
ADAPTIVE = [((8, 16, 28, 28), [1, 1]), ((8, 16, 28, 28), [7, 7]), ((4, 8, 28, 14), [28, 2]),
            ((16, 9, 12), [3, 4]), ((8, 16, 28, 28), [5, 5]), ((4, 8, 13, 17), [6, 17])]


@pytest.mark.parametrize("shape,size", ADAPTIVE)
@pytest.mark.parametrize("layout", ["contig", "T"])
def test_adaptive_avg_pool2d_forward_and_backward_large(ref, shape, size, layout):
    x, rx = make(ref, shape, "float32", 0, layout)
    lx = leaf(rx)
    ry = ref.ops.aten.adaptive_avg_pool2d(lx, size)
    y = call("adaptive_avg_pool2d", x, size)
    assert_same(y, ry.detach(), **TOL)
    g, rg = make(ref, tuple(ry.shape), "float32", 1, layout)
    assert_same(call("adaptive_avg_pool2d_backward", g, x), grads(ref, ry, [lx], rg)[0], **TOL)


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


# Appended to CLIENT's connection lines, or to all of CLIENT.
GROUP_NORM_AND_ADAPTIVE = r"""
x, g, w = td.randn(8, 32, 14, 14), td.randn(8, 32, 14, 14), td.randn(32)
_, m, s = td.native_group_norm(x, w, w, 8, 32, 196, 4, 1e-5)
gi = td._C.call("native_group_norm_backward", (g, x, m, s, w, 8, 32, 196, 4, [1, 1, 1]), {})
p = td._C.call("adaptive_avg_pool2d", (x, [1, 1]), {})
gp = td._C.call("adaptive_avg_pool2d_backward", (p, x), {})
print(float(gi[0].sum() + gi[1].sum() + gp.sum()))
"""
GROUP_NORM_AND_ADAPTIVE_CLIENT = "\n".join(CLIENT.splitlines()[:3]) + GROUP_NORM_AND_ADAPTIVE

CLIENT_KINDS = {
    "bn_ln_avgpool": (CLIENT, [("batch_normalization", "forward_training"), ("batch_normalization", "backward"),
                               ("layer_normalization", "forward_training"), ("layer_normalization", "backward"),
                               ("pooling_v2", "forward_training"), ("pooling_v2", "backward_data")]),
    "groupnorm_adaptive": (GROUP_NORM_AND_ADAPTIVE_CLIENT,
                           [("layer_normalization", "forward_training"),
                            ("layer_normalization", "backward_data"),
                            ("pooling_v2", "forward_training"), ("pooling_v2", "backward_data")]),
}


def onednn_execs(monkeypatch, client: str, *extra_env: tuple) -> set:
    """(primitive kind, propagation) of every oneDNN execution logged by a
    daemon (ONEDNN_VERBOSE=1, plus extra_env) while `client` runs on it."""
    monkeypatch.setenv("ONEDNN_VERBOSE", "1")
    for k, v in extra_env:
        monkeypatch.setenv(k, v)
    d = DaemonProcess()
    try:
        out = subprocess.run([sys.executable, "-c", client, d.address], capture_output=True, text=True,
                             timeout=120, cwd=tempfile.gettempdir(), env=dict(os.environ))
        assert out.returncode == 0, out.stderr
    finally:
        d.stop()
    execs = [line.split(",") for line in d.log().splitlines() if line.startswith("onednn_verbose,exec,")]
    return {(f[3], f[5]) for f in execs if len(f) > 5}


@pytest.mark.parametrize("kind", sorted(CLIENT_KINDS))
def test_pooling_and_norms_run_on_onednn(monkeypatch, kind):
    client, expected = CLIENT_KINDS[kind]
    ran = onednn_execs(monkeypatch, client)
    for k in expected:
        assert k in ran, (k, sorted(ran))


def test_onednn_nn_off_runs_no_pooling_or_normalisation_primitive(monkeypatch):
    ran = onednn_execs(monkeypatch, CLIENT + GROUP_NORM_AND_ADAPTIVE, ("TENSORD_ONEDNN_NN", "0"))
    kinds = {k for k, _ in ran}
    assert not kinds & {"batch_normalization", "layer_normalization", "pooling_v2"}, sorted(ran)


LOOPS_CLIENT = r"""
import sys, numpy as np, tensord as td
td.connect(sys.argv[1])
data = dict(np.load(sys.argv[2]))
x, g, w, b = (td.from_numpy(data[k]) for k in ("x", "g", "w", "b"))
out = {}
y, m, s = td.native_group_norm(x, w, b, 4, 12, 35, 3, 1e-5)
gx, gw, gb = td._C.call("native_group_norm_backward", (g, x, m, s, w, 4, 12, 35, 3, [1, 1, 1]), {})
out.update(gn_y=y, gn_mean=m, gn_rstd=s, gn_gx=gx, gn_gw=gw, gn_gb=gb)
for size in ([1, 1], [5, 7], [2, 3]):
    p = td._C.call("adaptive_avg_pool2d", (x, size), {})
    out[f"ap{size[0]}{size[1]}_y"] = p
    out[f"ap{size[0]}{size[1]}_gx"] = td._C.call("adaptive_avg_pool2d_backward", (p * 3 + 1, x), {})
np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
"""


def test_float32_loops_without_onednn_match_torch(monkeypatch, ref, tmp_path):
    monkeypatch.setenv("TENSORD_ONEDNN_NN", "0")
    rng = np.random.RandomState(0)
    data = {"x": rng.randn(4, 12, 5, 7) * 2, "g": rng.randn(4, 12, 5, 7), "w": rng.randn(12),
            "b": rng.randn(12)}
    data = {k: v.astype(np.float32) for k, v in data.items()}
    np.savez(tmp_path / "in.npz", **data)
    d = DaemonProcess()
    try:
        out = subprocess.run([sys.executable, "-c", LOOPS_CLIENT, d.address, str(tmp_path / "in.npz"),
                              str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=120,
                             cwd=tempfile.gettempdir(), env=dict(os.environ))
        assert out.returncode == 0, out.stderr
    finally:
        d.stop()
    got = np.load(tmp_path / "out.npz")
    x, g, w, b = (ref.from_numpy(data[k]).requires_grad_(k != "g") for k in ("x", "g", "w", "b"))
    y, m, s = ref.ops.aten.native_group_norm(x, w, b, 4, 12, 35, 3, 1e-5)
    gx, gw, gb = ref.autograd.grad(y, [x, w, b], g)
    for name, want in dict(gn_y=y, gn_mean=m, gn_rstd=s, gn_gx=gx, gn_gw=gw, gn_gb=gb).items():
        np.testing.assert_allclose(got[name], want.detach().numpy(), rtol=1e-4, atol=2e-4, err_msg=name)
    for size in ([1, 1], [5, 7], [2, 3]):
        p = ref.ops.aten.adaptive_avg_pool2d(x, size)
        (px,) = ref.autograd.grad(p, [x], (p * 3 + 1).detach())
        key = f"ap{size[0]}{size[1]}"
        np.testing.assert_allclose(got[key + "_y"], p.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(got[key + "_gx"], px.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
