"""Per-tenant quotas against a real daemon with a tenants file: memory per
device, tensor size, ops per batch, live sessions and request rate. Each
refusal is RESOURCE_EXHAUSTED naming the quota and the numbers, the tenant's
session stays usable, another tenant is untouched, and the accounting
returns to zero when sessions end.

Each client runs in its own process (the package holds one connection per
process).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from conftest import DaemonProcess

TOKENS = {"small": "small-token-0123456789abcdef", "slow": "slow-token-0123456789abcdef",
          "other": "other-token-0123456789abcdef"}
FLOATS_200K = 50_000  # float32 elements of a 200,000-byte tensor


def tenants_yaml() -> str:
    def h(name: str) -> str:
        return hashlib.sha256(TOKENS[name].encode()).hexdigest()
    return json.dumps({"tenants": {
        "small": {"token_sha256": h("small"), "quotas": {
            "memory_bytes": {"cpu": 1_048_576}, "sessions": 2, "tensor_bytes": 262_144,
            "ops_per_batch": 50}},
        "slow": {"token_sha256": h("slow"), "quotas": {"requests_per_second": 2}},
        "other": {"token_sha256": h("other")},
    }})


@pytest.fixture(scope="module")
def quota_daemon():
    d = tempfile.mkdtemp(prefix="tensord-quota-")
    path = os.path.join(d, "tenants.yaml")
    Path(path).write_text(tenants_yaml())
    daemon = DaemonProcess("--tenants", path)
    yield daemon
    daemon.stop()


PRELUDE = """
import json, sys, time, tensord as torch
torch.connect(sys.argv[1], token=sys.argv[2])
out = {}
def refused(fn):
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    return None
"""


def run_client(daemon: DaemonProcess, tenant: str, body: str, timeout: float = 120) -> dict:
    code = PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    r = subprocess.run([sys.executable, "-c", code, daemon.address, TOKENS[tenant]],
                       capture_output=True, text=True, timeout=timeout, env=env,
                       cwd=tempfile.gettempdir())
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


MEMORY_FILL = f"""
held = []
for i in range(5):
    held.append(torch.zeros({FLOATS_200K}))
torch.synchronize()
out["filled"] = all(t[-1].item() == 0.0 for t in held)
"""


def test_memory_quota_refuses_the_allocation_over_it_and_the_session_goes_on(quota_daemon) -> None:
    out = run_client(quota_daemon, "small", MEMORY_FILL + f"""
out["over"] = refused(lambda: torch.ones({FLOATS_200K})[-1].item())
del held[0]
out["after_free"] = torch.ones({FLOATS_200K})[-1].item()
""")
    assert out["filled"]
    msg = out["over"]
    assert msg is not None, "the sixth 200 kB tensor fitted into a 1 MiB quota"
    for words in ("tenant 'small'", "quotas.memory_bytes.cpu", "allocation of 200000 bytes",
                  "limit of 1048576 bytes"):
        assert words in msg, (words, msg)
    would_make = int(re.search(r"would make (\d+) bytes", msg).group(1))
    assert 1_200_000 <= would_make < 1_201_000, msg
    assert out["after_free"] == 1.0


def test_memory_accounting_returns_to_zero_when_the_session_ends(quota_daemon) -> None:
    # Each run fills the whole quota; a later run fits only if the earlier
    # session's bytes were given back when it ended.
    for _ in range(2):
        assert run_client(quota_daemon, "small", MEMORY_FILL)["filled"]


def test_tensor_bytes_quota_names_the_tenant_quota(quota_daemon) -> None:
    out = run_client(quota_daemon, "small", """
out["op"] = refused(lambda: torch.zeros(70_000)[0].item())
import numpy as np
out["upload"] = refused(lambda: torch.tensor(np.ones(70_000, dtype=np.float32))[0].item())
out["fits"] = torch.zeros(60_000)[0].item()
""")
    assert "tenant 'small' quotas.tensor_bytes is 262144" in out["op"], out["op"]
    assert "280000 bytes" in out["op"]
    assert "tenant 'small' quotas.tensor_bytes (262144)" in out["upload"], out["upload"]
    assert out["fits"] == 0.0


def test_ops_per_batch_quota_fails_that_batch_only(quota_daemon) -> None:
    out = run_client(quota_daemon, "small", """
x = torch.zeros(4)
x.tolist()                   # x's batch is sent and runs
def many():
    y = x
    for _ in range(60):      # one batch of 60 ops: the client sends at a sync
        y = y + 1
    return y.tolist()
out["over"] = refused(many)
y = x
for _ in range(10):
    y = y + 1
out["small_batch"] = y.tolist()
""")
    assert out["over"] and "quotas.ops_per_batch (50)" in out["over"], out["over"]
    assert "tenant 'small'" in out["over"]
    assert out["small_batch"] == [10.0] * 4


def test_request_rate_quota_refuses_bursts_and_recovers(quota_daemon) -> None:
    out = run_client(quota_daemon, "slow", """
time.sleep(1.2)                     # connecting spent the bucket
errors = []
for i in range(8):                  # 8 round trips at once, 2 per second allowed
    e = refused(lambda: (torch.ones(2) * i).tolist())
    if e: errors.append(e)
out["errors"] = errors
time.sleep(1.5)
out["later"] = (torch.ones(2) * 3).tolist()
""")
    assert out["errors"], "8 requests in a burst passed a 2 per second quota"
    assert all("quotas.requests_per_second = 2" in e and "tenant 'slow'" in e
               for e in out["errors"]), out["errors"]
    assert out["later"] == [3.0, 3.0]


HOLD = """
import json, sys, tensord as torch
torch.connect(sys.argv[1], token=sys.argv[2])
print(torch.ones(1).item(), flush=True)
sys.stdin.readline()
"""


def test_sessions_quota_and_other_tenants_untouched(quota_daemon) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    holders = [subprocess.Popen([sys.executable, "-c", HOLD, quota_daemon.address,
                                 TOKENS["small"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    try:
        for h in holders:
            assert h.stdout.readline().strip() == "1.0", h.stderr.read()
        third = subprocess.run([sys.executable, "-c", HOLD, quota_daemon.address, TOKENS["small"]],
                               capture_output=True, text=True, env=env, timeout=60, input="\n")
        assert third.returncode != 0
        assert "tenant 'small' has 2 live sessions" in third.stderr, third.stderr
        assert "quotas.sessions" in third.stderr
        # Another tenant is not limited by small's quota, and its work runs.
        assert run_client(quota_daemon, "other", "out['v'] = (torch.ones(3) * 2).tolist()") == \
            {"v": [2.0, 2.0, 2.0]}
    finally:
        for h in holders:
            h.stdin.write("\n")
            h.stdin.flush()
            h.wait(timeout=60)
    # Closed sessions no longer count.
    deadline = time.monotonic() + 10
    while True:
        r = subprocess.run([sys.executable, "-c", HOLD, quota_daemon.address, TOKENS["small"]],
                           capture_output=True, text=True, env=env, timeout=60, input="\n")
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.returncode == 0, r.stderr
