"""End-to-end basics of the Python client against a real daemon."""
import numpy as np
import pytest

import tensord as td


def test_factories_and_values(ref):
    x = td.arange(12, dtype=td.float32).view(3, 4)
    assert x.shape == td.Size([3, 4])
    assert x.dtype is td.float32
    np.testing.assert_array_equal(x.numpy(), np.arange(12, dtype=np.float32).reshape(3, 4))
    assert td.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert td.ones((2,), dtype=td.int64).tolist() == [1, 1]
    assert td.full((2,), 7).dtype is td.int64
    assert td.full((2,), 7.0).dtype is td.float32


def test_arithmetic_matches_torch(ref):
    a = np.random.RandomState(0).randn(4, 5).astype(np.float32)
    b = np.random.RandomState(1).randn(5).astype(np.float32)
    ta, tb = td.tensor(a), td.tensor(b)
    ra, rb = ref.tensor(a), ref.tensor(b)
    for got, want in [(ta + tb, ra + rb), (ta - 2 * tb, ra - 2 * rb), (ta * tb, ra * rb),
                      (ta / tb, ra / rb), (1 - ta, 1 - ra), (2 / ta, 2 / ra), (-ta, -ra)]:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        assert got.dtype._name == str(want.dtype).replace("torch.", "")


def test_matmul_and_reductions(ref):
    a = np.random.RandomState(2).randn(3, 4).astype(np.float32)
    b = np.random.RandomState(3).randn(4, 2).astype(np.float32)
    np.testing.assert_allclose((td.tensor(a) @ td.tensor(b)).numpy(), a @ b, rtol=1e-5)
    np.testing.assert_allclose(td.tensor(a).sum(dim=1).numpy(), a.sum(1), rtol=1e-5)
    np.testing.assert_allclose(td.tensor(a).mean().item(), a.mean(), rtol=1e-5)


def test_in_place_returns_the_same_object_and_shows_through_views():
    base = td.zeros(6)
    v = base.view(2, 3)
    r = v.add_(1)
    assert r is v
    v += 2
    assert base.tolist() == [3.0] * 6


def test_repr_matches_torch(ref):
    for data in ([1.0, 2.5, 3.0], [[1, 2], [3, 4]], [True, False]):
        assert repr(td.tensor(data)) == repr(ref.tensor(data))
    assert repr(td.tensor([1, 2], dtype=td.int32)) == repr(ref.tensor([1, 2], dtype=ref.int32))


def test_shape_errors_raise_at_the_call():
    a, b = td.zeros(2, 3), td.zeros(4)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match"):
        a + b


def test_daemon_errors_raise_at_sync_with_the_users_line():
    a = td.tensor([1, 2])
    z = td.tensor([0, 1])
    q = td.div(a, z, rounding_mode="floor")  # line to find in the message
    with pytest.raises(RuntimeError, match=r"ZeroDivisionError[\s\S]*test_basics.py:\d+"):
        q.tolist()
    assert a.tolist() == [1, 2]


def test_item_conversions():
    t = td.tensor([2.5])
    assert t.item() == 2.5 and float(t) == 2.5 and int(t) == 2 and bool(t)
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        td.zeros(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(td.zeros(2))
