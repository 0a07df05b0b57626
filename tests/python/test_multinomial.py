"""torch.multinomial against torch 1.13: shapes and dtypes for 1-D and 2-D
weights with and without replacement, torch's errors (both of its kernels'
wordings), and generator= (a seeded generator repeats its draws)."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td
from helpers import to_numpy

W = [[0.1, 0.2, 0.7, 0.0], [1.0, 1.0, 1.0, 5.0]]


@pytest.mark.parametrize("generator", [False, True], ids=["session", "generator"])
@pytest.mark.parametrize("weights,n,replacement", [
    (W[0], 6, True), (W[0], 3, False), (W, 3, False), (W, 50, True), (W[1], 4, False),
])
def test_shapes_dtypes_and_support_match_torch(ref, weights, n, replacement, generator):
    g = td.Generator().manual_seed(5) if generator else None
    got = td.multinomial(td.tensor(weights), n, replacement, generator=g)
    want = ref.multinomial(ref.tensor(weights), n, replacement)
    assert got.dtype == td.int64 and tuple(got.shape) == tuple(want.shape)
    s = to_numpy(got).reshape(-1, n)
    w = np.array(weights, dtype=np.float64).reshape(-1, 4)
    for row, picks in enumerate(s):
        assert (w[row][picks] > 0).all(), "a zero-weight category was drawn"
        if not replacement:
            assert len(set(picks.tolist())) == n, "drawn twice without replacement"


@pytest.mark.parametrize("generator", [False, True], ids=["session", "generator"])
def test_frequencies_follow_the_weights(generator):
    g = td.Generator().manual_seed(1) if generator else None
    s = to_numpy(td.tensor([2.0, 3.0, 5.0]).multinomial(100_000, True, generator=g))
    np.testing.assert_allclose(np.bincount(s, minlength=3) / len(s), [0.2, 0.3, 0.5], atol=0.01)
    # Without replacement, the first draw follows the weights too.
    firsts = to_numpy(td.multinomial(td.tensor([[2.0, 3.0, 5.0]] * 20_000), 2, generator=g))[:, 0]
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / len(firsts), [0.2, 0.3, 0.5],
                               atol=0.015)


def test_a_seeded_generator_repeats_its_draws_and_the_session_seed_its_own():
    w = td.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    a = td.multinomial(w, 20, True, generator=td.Generator().manual_seed(3)).tolist()
    b = td.multinomial(w, 20, True, generator=td.Generator().manual_seed(3)).tolist()
    c = td.multinomial(w, 20, True, generator=td.Generator().manual_seed(4)).tolist()
    assert a == b and a != c
    td.manual_seed(9)
    d = td.multinomial(w, 20, True).tolist()
    td.manual_seed(9)
    assert td.multinomial(w, 20, True).tolist() == d


def _err(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info


@pytest.mark.parametrize("generator", [False, True], ids=["session", "generator"])
@pytest.mark.parametrize("probs,n,replacement", [
    ([-1.0, 1.0], 1, True), ([-1.0, 1.0], 1, False),
    ([float("nan"), 1.0], 1, True), ([float("nan"), 1.0], 1, False),
    ([float("inf"), 1.0], 1, True), ([float("inf"), 1.0], 1, False),
    ([0.0, 0.0], 1, True), ([0.0, 0.0], 1, False),
    ([[0.5, 0.5], [0.0, 0.0]], 1, True),
    ([0.5, 0.5], 3, False), ([0.5, 0.5], 0, True), ([0.5, 0.5], -2, True),
    ([[[0.5, 0.5]]], 1, True), (0.5, 1, True),
])
def test_invalid_weights_raise_torchs_errors(ref, probs, n, replacement, generator):
    g = td.Generator() if generator else None
    # Value checks run on the daemon: they surface at the next sync point.
    got = _err(lambda: td.multinomial(td.tensor(probs), n, replacement, generator=g).tolist())
    want = _err(lambda: ref.multinomial(ref.tensor(probs), n, replacement))
    assert got.type is want.type is RuntimeError
    assert str(want.value) in str(got.value)
    assert td.ones(2).sum().item() == 2.0  # the session goes on


def test_integer_weights_and_a_wrong_generator_are_refused(ref):
    for g in (None, td.Generator()):
        got = _err(lambda: td.multinomial(td.tensor([1, 2]), 1, generator=g))
        assert "multinomial only supports floating-point dtypes for input, got: Long" in \
            str(got.value)
    _err(lambda: ref.multinomial(ref.tensor([1, 2]), 1))
    with pytest.raises(TypeError, match="argument 'generator' must be torch.Generator"):
        td.multinomial(td.tensor([0.5, 0.5]), 1, generator=3)
