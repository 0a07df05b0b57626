"""nn.utils.rnn.pad_sequence."""
from __future__ import annotations

from typing import Any, Sequence


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0) -> Any:
    import tensord
    from .. import functional as F
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        pads = [0, 0] * (s.dim() - 1) + [0, max_len - s.shape[0]]
        padded.append(F.pad(s, pads, value=padding_value))
    return tensord.stack(padded, 0 if batch_first else 1)
