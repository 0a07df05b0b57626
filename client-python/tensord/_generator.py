"""tensord.Generator: a client-side random generator for samplers and splits.

It lives in this process (NumPy's MT19937), not on the daemon: samplers draw
indices locally and only the batches travel. Seeded runs are reproducible,
but the streams are not torch.Generator's (docs/compatibility.md).
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

_MASK64 = (1 << 64) - 1
# torch.Generator()'s seed before manual_seed/seed is called.
_DEFAULT_SEED = 67280421310721
# State bytes: 624 uint32 words of MT19937, then its position, little-endian.
_STATE_WORDS = 625


class Generator:
    """torch.Generator's interface over a client-side Mersenne Twister."""

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(
                f"tensord.Generator: only 'cpu' generators exist (got device {device!r}); "
                "they run in the client process"
            )
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: Any) -> Generator:
        if isinstance(seed, bool) or not hasattr(seed, "__index__"):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        self._seed = int(seed) & _MASK64
        self._rng = np.random.Generator(np.random.MT19937(self._seed))
        return self

    def seed(self) -> int:
        """Seeds from the OS's entropy and returns the seed used."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The state as a uint8 tensor (torch returns a ByteTensor too)."""
        import tensord

        return tensord.from_numpy(self._state_bytes())

    def set_state(self, new_state: Any) -> Generator:
        import tensord

        if isinstance(new_state, tensord.Tensor):
            if new_state.dtype is not tensord.uint8:
                raise TypeError(f"expected a tensord.ByteTensor, but got {new_state.dtype}")
            data = new_state.numpy()
        elif isinstance(new_state, np.ndarray) and new_state.dtype == np.uint8:
            data = new_state
        else:
            raise TypeError(f"expected a tensord.ByteTensor, but got {type(new_state).__name__}")
        data = np.ascontiguousarray(data).reshape(-1)
        if data.size != 4 * _STATE_WORDS + 8:
            raise RuntimeError(
                f"tensord.Generator: expected a state of {4 * _STATE_WORDS + 8} bytes "
                f"but found the input RNG state size to be {data.size}"
            )
        words = data[: 4 * _STATE_WORDS].view("<u4")
        bg = np.random.MT19937()
        bg.state = {
            "bit_generator": "MT19937",
            "state": {"key": words[:624].astype(np.uint32), "pos": int(words[624])},
        }
        self._rng = np.random.Generator(bg)
        self._seed = int(data[4 * _STATE_WORDS :].view("<u8")[0])
        return self

    def _state_bytes(self) -> np.ndarray:
        st = self._rng.bit_generator.state["state"]
        words = np.empty(_STATE_WORDS, dtype="<u4")
        words[:624] = st["key"]
        words[624] = st["pos"]
        seed = np.array([self._seed], dtype="<u8")
        return np.concatenate([words.view(np.uint8), seed.view(np.uint8)])

    # Draws used by tensord.utils.data (client-side, so no daemon round trip).

    def _randperm(self, n: int) -> list[int]:
        return self._rng.permutation(n).tolist()

    def _randint(self, high: int, size: int) -> list[int]:
        return self._rng.integers(0, high, size=size).tolist()

    def _random_seed(self) -> int:
        return int(self._rng.integers(0, 1 << 63, dtype=np.int64))

    def _multinomial(self, weights: np.ndarray, num_samples: int, replacement: bool) -> list[int]:
        """torch.multinomial of one row of non-negative weights."""
        n = weights.shape[0]
        if not replacement and num_samples > n:
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        # torch 1.13's two kernels word their checks differently.
        if not replacement and ((weights < 0).any() or not np.isfinite(weights).all()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if replacement and not (weights >= 0).all():  # NaN fails >= 0 too
            raise RuntimeError(
                "invalid multinomial distribution (encountering probability entry < 0)"
            )
        if replacement and np.isinf(weights).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        total = weights.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            cdf = np.cumsum(weights / total)
            picks = np.searchsorted(cdf, self._rng.random(num_samples) * cdf[-1], side="right")
            return np.minimum(picks, n - 1).tolist()
        # Without replacement: the smallest Exp(1)/w keys (zero weights come last, in random order).
        with np.errstate(divide="ignore"):
            keys = self._rng.exponential(size=n) / weights
        order = np.lexsort((self._rng.random(n), keys))
        return order[:num_samples].tolist()


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None, out: Any = None) -> Any:
    """torch.multinomial. Without a generator the daemon draws from the
    session's generator; with one, the rows are fetched and drawn here from
    that generator (one round trip), so a seeded generator repeats its draws."""
    import tensord
    if out is not None:
        raise TypeError("tensord.multinomial: out= is not supported")
    if generator is None:
        return tensord._C.call("multinomial", (input, num_samples, replacement))
    if not isinstance(generator, Generator):
        raise TypeError(f"multinomial(): argument 'generator' must be torch.Generator, "
                        f"not {type(generator).__name__}")
    if not input.dtype.is_floating_point:
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           + {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                              "uint8": "Byte", "bool": "Bool"}.get(input.dtype._name,
                                                                  input.dtype._name))
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = input.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rows = np.asarray(input.detach().to(tensord.float64).numpy()).reshape(-1, n_categories)
    picks = np.array([generator._multinomial(r, num_samples, replacement) for r in rows],
                     dtype=np.int64).reshape(tuple(input.shape[:-1]) + (num_samples,))
    return tensord.from_numpy(picks).to(input.device)


def _multinomial_method(self: Any, num_samples: int, replacement: bool = False, *,
                        generator: Generator | None = None) -> Any:
    return multinomial(self, num_samples, replacement, generator=generator)


def install(tensor_cls: Any, namespace: dict[str, Any]) -> None:
    """torch.multinomial / Tensor.multinomial with generator= honoured."""
    namespace["multinomial"] = multinomial
    tensor_cls.multinomial = _multinomial_method


def seed_from(generator: Generator | None) -> Generator:
    """`generator`, or a fresh one seeded from the daemon's session generator, so
    that tensord.manual_seed makes unseeded shuffles reproducible (as torch's does)."""
    if generator is not None:
        return generator
    import tensord

    seed = int(tensord.randint(0, (1 << 63) - 1, ()).item())
    return Generator().manual_seed(seed)
