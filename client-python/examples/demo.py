"""The demo: a small tensor program run on a tensord daemon.

    TENSORD_ADDR=127.0.0.1:7070 python demo.py   (or no address: an embedded daemon)
"""
import time

import tensord as torch

info = torch.daemon_info()
print(f"tensord {info['daemon_version']} at session {info['session_id'][:8]}, devices {info['devices']}")

torch.manual_seed(0)
x = torch.arange(12, dtype=torch.float32).view(3, 4)
w = torch.ones(4, 2) * 0.5
y = (x @ w + 1).exp().sum(dim=0)
print("x =", x)
print("y = exp(x @ w + 1).sum(0) =", y)

# Many small ops, one sync: batched on the stream, no round trip per op.
t = torch.zeros(16)
start = time.perf_counter()
for _ in range(10000):
    t = t + 1
total = t.sum().item()
elapsed = time.perf_counter() - start
print(f"10000 tiny adds then one fetch: {elapsed * 1e6 / 10000:.2f} us/op, sum = {total:.0f}")
assert total == 160000
