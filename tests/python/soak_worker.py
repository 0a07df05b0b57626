"""One client of the soak test (test_soak.py): random valid and invalid work
against the daemon at ADDRESS for SECONDS, then exits.

Exit status: 0 after a clean disconnect, 3 when the worker chose to vanish
without closing its session (os._exit mid-work, as a crashed client would),
1 on any failure the daemon should not have caused: a wrong value, an
exception of the wrong type, a hang (the parent times the worker out).
"""
from __future__ import annotations

import os
import random
import sys
import time

import numpy as np

import tensord as torch

EXPECTED = (RuntimeError, IndexError, ValueError, TypeError)


def valid(rng: random.Random) -> None:
    kind = rng.randrange(6)
    n = rng.randrange(1, 64)
    if kind == 0:
        a = torch.full((n,), 2.0)
        assert (a * 3).sum().item() == 6.0 * n
    elif kind == 1:
        a = torch.randn(n, 8)
        b = torch.randn(8, 4)
        np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-4, atol=1e-4)
    elif kind == 2:
        x = torch.randn(n, 3, requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-5)
    elif kind == 3:
        a = torch.arange(n * 2).view(2, n)
        a.t()[0].add_(100)
        assert a[:, 0].tolist() == [100, n + 100]
    elif kind == 4:
        data = np.random.default_rng(rng.randrange(1 << 30)).standard_normal((n, 1024)).astype(np.float32)
        t = torch.tensor(data)  # large enough to travel as an upload
        np.testing.assert_array_equal(t.numpy(), data)
    else:
        keep = [torch.ones(rng.randrange(1, 1000)) for _ in range(rng.randrange(1, 20))]
        assert sum(float(k.sum()) for k in keep) > 0


def invalid(rng: random.Random) -> None:
    """Work that fails on the daemon or in the client's checks."""
    kind = rng.randrange(6)
    if kind == 0:
        torch.ones(6).index_select(0, torch.tensor([rng.randrange(6, 1 << 40)])).sum().item()
    elif kind == 1:
        torch.ones(6).as_strided([rng.randrange(7, 100)], [1]).sum().item()
    elif kind == 2:
        torch.tensor([float("nan"), 1.0]).multinomial(1).item()
    elif kind == 3:
        torch.zeros(1 << 26).sum().item()  # 256 MiB: over this daemon's max_tensor_bytes
    elif kind == 4:
        torch.ones(2, 3) @ torch.ones(4, 5)
    else:
        torch.ones(3).view(rng.randrange(4, 9), -1)
    raise AssertionError(f"invalid work {kind} did not raise")


def main() -> int:
    address, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    torch.connect(address)
    vanish_at = time.monotonic() + rng.uniform(0.2, 1.0) * seconds if seed % 5 == 4 else None
    deadline = time.monotonic() + seconds
    counts = {"valid": 0, "invalid": 0}
    while time.monotonic() < deadline:
        if vanish_at is not None and time.monotonic() > vanish_at:
            sys.stdout.flush()
            os._exit(3)  # no disconnect: the daemon must reap the session
        if rng.random() < 0.7:
            valid(rng)
            counts["valid"] += 1
        else:
            try:
                invalid(rng)
            except EXPECTED:
                counts["invalid"] += 1
    torch.disconnect()
    print(counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
