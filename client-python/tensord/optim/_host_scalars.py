"""Per-parameter scalar state mirrored on the client.

torch 1.13's Adamax, NAdam, RAdam and ASGD keep step counts (and NAdam's
mu_product, ASGD's eta and mu) as 0-d float32 tensors and read them with
.item() every step; here each .item() would be a daemon round trip per
parameter. The tensors in `state` stay authoritative (state_dict saves them);
the optimizer keeps copies rounded to the tensors' dtype (float32, or float64
after load_state_dict casts them to a float64 parameter's dtype, as torch's
does) and refreshes the tensors with fill_, which needs no round trip. After
load_state_dict the copies are re-read once from the loaded tensors.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class HostScalars:
    def __init__(self) -> None:
        self._values: dict[int, dict[str, float]] = {}

    def clear(self) -> None:
        self._values.clear()

    def known(self, param: Any, **values: float) -> None:
        """Records the values a fresh state's tensors were made with."""
        self._values[id(param)] = {k: float(np.float32(v)) for k, v in values.items()}

    def get(self, param: Any, state: dict, name: str) -> float:
        values = self._values.setdefault(id(param), {})
        if name not in values:
            values[name] = float(state[name].item())
        return values[name]

    @staticmethod
    def precision(state: dict, name: str) -> Any:
        """The NumPy type that rounds like the state tensor `name`."""
        import tensord
        return np.float64 if state[name].dtype is tensord.float64 else np.float32

    def set(self, param: Any, state: dict, name: str, value: float) -> float:
        """Stores `value` rounded to the tensor's dtype and returns it."""
        value = float(self.precision(state, name)(value))
        self._values.setdefault(id(param), {})[name] = value
        state[name].fill_(value)
        return value
