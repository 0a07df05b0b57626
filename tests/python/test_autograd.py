"""Autograd on the daemon: gradients against torch 1.13, grad modes, .grad
semantics and PyTorch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
from helpers import assert_meta_matches, to_numpy

RNG = np.random.default_rng(7)


def leaves(ref, *arrays, dtype="float64"):
    """The same leaf tensors (requires_grad) on both sides."""
    mine = [td.tensor(a, dtype=getattr(td, dtype), requires_grad=True) for a in arrays]
    theirs = [ref.tensor(a, dtype=getattr(ref, dtype), requires_grad=True) for a in arrays]
    return mine, theirs


def close(got, want, tol=1e-6):
    assert got is not None, "gradient is None"
    assert tuple(got.shape) == tuple(want.shape)
    assert_meta_matches(got)
    np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=tol, atol=tol)


def fn_of(m):
    """Where the module keeps nn functions torch has only in nn.functional."""
    return m if m is td else m.nn.functional


# f(module, *leaves) -> scalar or tensor output; the shapes of its leaves.
CASES = {
    "add_broadcast": (lambda m, a, b: (a + b * 2).sum(), [(3, 4), (4,)]),
    "sub_alpha": (lambda m, a, b: m.sub(a, b, alpha=3).sum(), [(2, 3), (2, 3)]),
    "mul_div": (lambda m, a, b: (a * b / (b * b + 1)).sum(), [(3, 1), (1, 5)]),
    "scalar_ops": (lambda m, a: (2 - a * 3 + 1 / (a * a + 2)).sum(), [(4,)]),
    "unary": (lambda m, a: (m.exp(a) + m.sin(a) * m.cos(a) + m.tanh(a) + m.sigmoid(a)
                            + m.log(a * a + 1) + m.sqrt(a * a + 1) + m.abs(a)).sum(), [(5,)]),
    "pow": (lambda m, a, b: (m.pow(a * a + 1, b) + a ** 3 + 2 ** a).sum(), [(4,), (4,)]),
    "relu_where": (lambda m, a, b: m.where(a > 0, m.relu(a), b).sum(), [(6,), (6,)]),
    "reductions": (lambda m, a: a.sum(0).pow(2).sum() + a.mean(dim=1, keepdim=True).sum()
                   + a.mean(), [(3, 4)]),
    "matmul_2d": (lambda m, a, b: (a @ b).tanh().sum(), [(3, 4), (4, 5)]),
    "matmul_batched_broadcast": (lambda m, a, b: m.matmul(a, b).sum(), [(2, 3, 4), (4, 5)]),
    "matmul_vec": (lambda m, a, b: (m.matmul(a, b) ** 2).sum() + (m.matmul(b, a.t()) ** 2).sum(),
                   [(3, 4), (4,)]),
    "mm_addmm_bmm": (lambda m, a, b, c: m.addmm(c, a, b, beta=0.5, alpha=2).sum()
                     + m.bmm(a.unsqueeze(0), b.unsqueeze(0)).sum(), [(2, 3), (3, 4), (2, 4)]),
    "views": (lambda m, a: (a.view(4, 3).t() * 2).reshape(-1)[2:9:2].sum()
              + a.permute(1, 0)[1].sum() + a.unsqueeze(0).expand(2, 3, 4).sum()
              + a.transpose(0, 1).flatten().narrow(0, 1, 3).sum(), [(3, 4)]),
    "cat_stack_split": (lambda m, a, b: (m.cat([a, b], 1) * m.arange(7.0)).sum()
                        + m.stack([a, a * b[:, :3]]).pow(2).sum()
                        + sum((p * (i + 1)).sum() for i, p in enumerate(m.split(b, 2, dim=1))),
                        [(2, 3), (2, 4)]),
    "softmax": (lambda m, a: (m.softmax(a, 1) * m.arange(4.0)).sum()
                + (m.log_softmax(a, 0) * m.arange(4.0)).sum(), [(3, 4)]),
    "gather_index_select": (lambda m, a: m.gather(a, 1, m.tensor([[0, 0], [2, 1]])).pow(2).sum()
                            + m.index_select(a, 0, m.tensor([1, 1, 0])).sum()
                            + a[m.tensor([0, 1, 1])].pow(2).sum(), [(2, 3)]),
    "masked_fill_clone": (lambda m, a: a.clone().masked_fill(a > 0, 0.0).pow(2).sum(), [(5,)]),
    "dtype_cast": (lambda m, a: a.float().double().sum() * 3, [(4,)]),
    "non_scalar_root": (lambda m, a: a * 3, [(2, 2)]),
    "layer_norm": (lambda m, a, w, b: (m.native_layer_norm(a, [4], w, b, 1e-5)[0] ** 2).sum(),
                   [(3, 4), (4,), (4,)]),
    "batch_norm": (lambda m, a, w, b: (m.native_batch_norm(a, w, b, None, None, True, 0.1, 1e-5)[0]
                                       * m.arange(12.0).reshape(3, 4)).sum(), [(3, 4), (4,), (4,)]),
    "group_norm": (lambda m, a, w, b: (m.native_group_norm(a, w, b, 2, 4, 3, 2, 1e-5)[0] ** 3).sum(),
                   [(2, 4, 3), (4,), (4,)]),
    "prelu": (lambda m, a, w: (m.prelu(a, w) ** 2).sum(), [(3, 2), (2,)]),
    "conv_pool": (lambda m, a, w, b: (m.max_pool2d(m.conv2d(a, w, b, padding=1), 2).sin().sum()
                                      + fn_of(m).avg_pool2d(m.conv2d(a, w, None, stride=2), 2).sum()
                                      + fn_of(m).adaptive_avg_pool2d(a, (2, 3)).pow(2).sum()),
                  [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
    "conv_transpose": (lambda m, a, w: m.conv_transpose2d(a, w, stride=2).pow(2).sum(),
                       [(1, 2, 3, 3), (2, 3, 2, 2)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_torch(ref, name):
    fn, shapes = CASES[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    mine, theirs = leaves(ref, *arrays)
    out_m, out_t = fn(td, *mine), fn(ref, *theirs)
    np.testing.assert_allclose(to_numpy(out_m.detach()), to_numpy(out_t.detach()), rtol=1e-6)
    if out_t.numel() == 1:
        out_m.backward()
        out_t.backward()
    else:
        g = RNG.standard_normal(tuple(out_t.shape))
        out_m.backward(td.tensor(g))
        out_t.backward(ref.tensor(g))
    for x, y in zip(mine, theirs):
        close(x.grad, y.grad)


def test_grad_accumulates_and_can_be_reset(ref):
    (x,), (y,) = leaves(ref, np.array([1.0, -2.0, 3.0]))
    for _ in range(3):
        (x * x).sum().backward()
        (y * y).sum().backward()
    close(x.grad, y.grad)
    g = x.grad
    g.zero_()  # in place, through the daemon's .grad
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x.grad = None
    assert x.grad is None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    x.grad = td.ones(3, dtype=td.float64)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_autograd_grad_and_double_backward(ref):
    a = RNG.standard_normal(4)
    (x,), (y,) = leaves(ref, a)
    gm, = td.autograd.grad((x ** 3 * x.sin()).sum(), x, create_graph=True)
    gt, = ref.autograd.grad((y ** 3 * y.sin()).sum(), y, create_graph=True)
    close(gm, gt)
    assert gm.requires_grad and x.grad is None  # autograd.grad leaves .grad alone
    g2m, = td.autograd.grad((gm * gm).sum(), x)
    g2t, = ref.autograd.grad((gt * gt).sum(), y)
    close(g2m, g2t)
    # create_graph through backward(): .grad itself has history
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    x.grad.sum().backward()


def test_autograd_grad_unused_inputs(ref):
    x = td.ones(2, requires_grad=True)
    z = td.ones(2, requires_grad=True)
    y = (x * 2).sum()
    gx, gz = td.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0, 2.0] and gz is None
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        td.autograd.grad(y, [x, z])[1].tolist()


def test_backward_inputs_limits_accumulation():
    x = td.ones(2, requires_grad=True)
    z = td.ones(2, requires_grad=True)
    (x * z).sum().backward(inputs=[x])
    assert x.grad.tolist() == [1.0, 1.0] and z.grad is None


def test_requires_grad_propagation_and_metadata():
    x = td.ones(2, 3, requires_grad=True)
    c = td.ones(2, 3)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert repr(y.grad_fn).startswith("<MulBackward0 object at")
    assert not (c * 2).requires_grad
    assert not (x > 0).requires_grad and not x.argmax().requires_grad  # integer results
    assert "grad_fn=<SumBackward0>" in repr(y.sum())
    assert "requires_grad=True" in repr(x)
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    d.add_(1)  # shares storage with y
    assert y.tolist() == [[2.0] * 3] * 2
    y2 = x * 2
    y2.detach_()
    assert y2.is_leaf and not y2.requires_grad and y2.grad_fn is None
    assert not (y2 * 2).requires_grad
    with td.no_grad():
        assert not (x * 2).requires_grad and not td.is_grad_enabled()
        with td.enable_grad():
            assert (x * 2).requires_grad
    assert td.is_grad_enabled()
    with td.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    with td.inference_mode():
        assert not (x + 1).requires_grad and td.is_inference_mode_enabled()

    @td.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    x.requires_grad = False
    assert not (x * 2).requires_grad
    x.requires_grad_()
    assert x.requires_grad
    i = td.arange(3)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        i.requires_grad_()
    with pytest.raises(RuntimeError, match="can only change requires_grad flags of leaf"):
        y.requires_grad_(False)


def test_in_place_ops_record_history_and_check_leaves():
    x = td.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1)
    with td.no_grad():
        x.add_(1)  # allowed: no history
    y = x * 1
    y.mul_(3)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]
    # A tensor that did not require grad picks it up from its operand.
    z = td.zeros(3)
    z.add_(x)
    assert z.requires_grad
    z.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_in_place_on_a_view_rebases_its_base():
    # More patterns, compared with PyTorch: test_autograd_inplace_views.py.
    x = td.ones(4, requires_grad=True)
    buf = td.zeros(2, 4)
    buf[0].copy_(x * 2)
    assert buf.grad_fn.name() == "torch::autograd::CopySlices"
    buf.sum().backward()
    assert x.grad.tolist() == [2.0] * 4


def test_modified_saved_tensor_is_an_error(ref):
    for m in (td, ref):
        a = m.ones(3, requires_grad=True)
        b = a * 2
        c = b.exp()  # saves its result
        c.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()
            a.grad.tolist() if m is td else None


def test_second_backward_through_freed_graph(ref):
    for m in (td, ref):
        a = m.ones(3, requires_grad=True)
        y = (a.exp() * 2).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert a.grad.tolist() == pytest.approx([4 * np.e] * 3)
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()
            a.grad.tolist() if m is td else None


def test_backward_errors_like_torch(ref):
    for m in (td, ref):
        x = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            m.ones(2).sum().backward()
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (x * 2).backward()
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            (x * 2).backward(m.ones(3))
        with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
            x.numpy()
        with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
            x.grad = m.ones(3)
            x.grad if m is td else None
        with pytest.raises(TypeError):
            x.grad = 3


def test_missing_derivative_is_reported_at_backward():
    x = td.ones(3, requires_grad=True)
    y = td.aminmax(x * 1)[1]  # tensord has no aminmax derivative
    assert y.grad_fn.name() == "AminmaxBackward0"
    with pytest.raises(NotImplementedError, match="the derivative for 'aminmax' is not implemented"):
        y.sum().backward()
        x.grad


def test_long_graph_is_freed_without_recursion():
    x = td.ones(1, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    del y
    td.synchronize()


def test_retain_grad_keeps_a_non_leaf_gradient(ref):
    for m in (td, ref):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.retain_grad()
        z = y * y
        assert z.grad_fn is not None
        z.sum().backward()
        assert y.grad.tolist() == [6.0, 12.0]
        assert x.grad.tolist() == [18.0, 36.0]
        assert z.grad is None  # not retained
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
            m.ones(2).retain_grad()


class _Cube(td.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2 * ctx.k, None


def test_custom_function_backward_runs_on_the_client(ref):
    class RefCube(ref.autograd.Function):
        forward = staticmethod(_Cube.forward)
        backward = staticmethod(_Cube.backward)

    a = RNG.standard_normal(4)
    (x,), (y,) = leaves(ref, a)
    out_m = (_Cube.apply(x, 2.0).sin()).sum()
    out_t = (RefCube.apply(y, 2.0).sin()).sum()
    assert _Cube.apply(x, 2.0).grad_fn.name() == "_CubeBackward"
    out_m.backward()
    out_t.backward()
    close(x.grad, y.grad)
    with td.no_grad():
        assert not _Cube.apply(x, 2.0).requires_grad


def test_custom_function_errors_reach_backward():
    class Bad(td.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    x = td.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="broken backward"):
        Bad.apply(x).sum().backward()
    # The session goes on.
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_tensor_hooks_see_and_replace_gradients(ref):
    for m in (td, ref):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        h1 = x.register_hook(lambda g: seen.append(g.tolist()))
        y = x * 2
        y.register_hook(lambda g: g * 10)  # non-leaf: replaces the gradient flowing on
        (y * y).sum().backward()
        assert seen == [[80.0, 160.0]]
        assert x.grad.tolist() == [80.0, 160.0]
        h1.remove()
        x.grad = None
        (x * 1).sum().backward()
        assert seen == [[80.0, 160.0]] and x.grad.tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            m.ones(2).register_hook(lambda g: g)


def test_create_graph_gradient_independent_of_the_graph_differentiates_to_none():
    x = td.tensor([0.5, 1.5], dtype=td.float64, requires_grad=True)
    g, = td.autograd.grad(td.floor(x).sum(), x, create_graph=True)  # zeros_like(grad)
    assert g.tolist() == [0.0, 0.0]
    assert g.requires_grad  # the client cannot tell; the daemon agrees
    assert td.autograd.grad(g.sum(), x, allow_unused=True) == (None,)
