"""The session generator's surfaces: torch.seed/initial_seed/get_rng_state/
set_rng_state and torch.random.fork_rng, with torch 1.13's errors."""
from __future__ import annotations

import numpy as np
import pytest

import tensord as td


def draws():
    return np.concatenate([td.rand(5).numpy(), td.randn(3).numpy().astype(np.float32),
                           td.randint(0, 1000, (4,)).numpy().astype(np.float32)])


def test_set_rng_state_repeats_the_draws_after_get_rng_state():
    td.manual_seed(123)
    td.rand(7)  # the state is mid-stream, not just after a seed
    state = td.get_rng_state()
    assert state.dtype is td.uint8 and state.dim() == 1 and state.device == td.device("cpu")
    first = draws()
    td.set_rng_state(state)
    np.testing.assert_array_equal(draws(), first)
    # The state tensor is a value: drawing more does not change it.
    td.set_rng_state(state)
    np.testing.assert_array_equal(draws(), first)
    assert not np.array_equal(draws(), first)


def test_state_is_a_value_that_survives_a_reseed_and_other_sessions_seeds():
    td.manual_seed(5)
    state = td.get_rng_state()
    saved_bytes = state.numpy().copy()
    expected = draws()
    td.manual_seed(99)
    td.rand(100)
    td.set_rng_state(td.tensor(saved_bytes))  # a state rebuilt from its bytes works too
    np.testing.assert_array_equal(draws(), expected)
    assert td.initial_seed() == 5


def test_seed_and_initial_seed(ref):
    td.manual_seed(42)
    assert td.initial_seed() == 42
    td.manual_seed(-1)  # torch's range: negative seeds wrap to uint64
    assert td.initial_seed() == ref.manual_seed(-1).initial_seed() == 2**64 - 1
    td.manual_seed(2**64 - 1)
    assert td.initial_seed() == 2**64 - 1
    s = td.seed()
    assert 0 <= s < 2**64 and td.initial_seed() == s
    a = draws()
    td.manual_seed(s)
    np.testing.assert_array_equal(draws(), a)
    for bad in (2**64, -2**63 - 1):
        with pytest.raises(RuntimeError, match="Overflow when unpacking long"):
            ref.manual_seed(bad)
        with pytest.raises(RuntimeError, match="Overflow when unpacking long"):
            td.manual_seed(bad)
    with pytest.raises(TypeError):
        td.manual_seed(1.5)
    assert td.random.initial_seed is td.initial_seed and td.random.manual_seed is td.manual_seed


def test_set_rng_state_errors(ref):
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got list"):
        ref.set_rng_state([1, 2])
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got list"):
        td.set_rng_state([1, 2])
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        ref.set_rng_state(ref.zeros(5056))
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        td.set_rng_state(td.zeros(td.get_rng_state().numel()))
    with pytest.raises(RuntimeError, match="found the input RNG state size to be 3"):
        ref.set_rng_state(ref.zeros(3, dtype=ref.uint8))
    with pytest.raises(RuntimeError, match="found the input RNG state size to be 3"):
        td.set_rng_state(td.zeros(3, dtype=td.uint8))


def test_daemon_refuses_a_state_it_did_not_make_and_keeps_serving():
    n = td.get_rng_state().numel()
    td.manual_seed(8)
    expected = draws()
    td.manual_seed(8)
    # Right size, wrong contents: refused on the daemon (at the next sync point).
    td.set_rng_state(td.zeros(n, dtype=td.uint8))
    with pytest.raises(RuntimeError, match=r"set_rng_state\] the state was not made by"):
        td.synchronize()
    good = td.get_rng_state().numpy()
    bad_position = good.copy()
    bad_position[-8:] = 0xFF
    td.set_rng_state(td.tensor(bad_position))
    with pytest.raises(RuntimeError, match="invalid generator position"):
        td.synchronize()
    # The generator was left as it was.
    np.testing.assert_array_equal(draws(), expected)


def test_fork_rng_restores_the_generator_on_exit(ref):
    td.manual_seed(11)
    expected = draws()
    td.manual_seed(11)
    with td.random.fork_rng():
        td.rand(50)
        td.manual_seed(1234)
        td.randn(9)
    np.testing.assert_array_equal(draws(), expected)
    td.manual_seed(11)
    with pytest.raises(ValueError, match="inside"):
        with td.random.fork_rng(devices=[]):
            td.rand(3)
            raise ValueError("inside")
    np.testing.assert_array_equal(draws(), expected)
    td.manual_seed(11)
    with td.random.fork_rng(enabled=False):
        td.rand(5)
    assert not np.array_equal(draws(), expected)
