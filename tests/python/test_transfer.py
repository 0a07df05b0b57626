"""Large tensors both ways, through shared memory (same host) and through
chunked gRPC messages (TENSORD_NO_SHM=1, or a daemon with shared_memory
off), leaving nothing behind in /dev/shm."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import DaemonProcess

import tensord as td

ROUND_TRIP = r"""
import os, sys, numpy as np, tensord as td
td.connect(sys.argv[1])
info = td.daemon_info()
rs = np.random.RandomState(0)
for n in (3, 300_000, 5_000_000, 40_000_000):  # inline, chunked, 1 and several region pieces
    a = rs.rand(n).astype(np.float32)
    t = td.from_numpy(a)
    b = (t * 2).numpy()
    assert np.array_equal(b, a * 2), n
    c = td.from_numpy(b).numpy()
    c[0] = -1  # the fetched array is the caller's own
    assert np.array_equal(td.from_numpy(b).numpy(), b)
print("shared_memory", info["shared_memory"])
"""


def tensord_objects():
    return set(glob.glob("/dev/shm/tensord-*"))


def run_client(address, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", ROUND_TRIP, address], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_same_host_transfers_use_shared_memory_and_leave_nothing(daemon):
    before = tensord_objects()
    assert "shared_memory True" in run_client(daemon.address)
    assert tensord_objects() <= before


def test_chunked_grpc_path_when_the_client_opts_out(daemon):
    assert "shared_memory False" in run_client(daemon.address, {"TENSORD_NO_SHM": "1"})


def test_daemon_with_shared_memory_off_falls_back_to_grpc():
    d = DaemonProcess(config="shared_memory: false\n")
    try:
        before = tensord_objects()
        assert "shared_memory False" in run_client(d.address)
        assert tensord_objects() <= before
    finally:
        assert d.stop() == 0


def test_fetch_of_a_non_contiguous_large_view(ref):
    a = np.arange(2_000_000, dtype=np.float64).reshape(1000, 2000)
    t = td.from_numpy(a)
    np.testing.assert_array_equal(t.t().numpy(), a.T)
    np.testing.assert_array_equal(t[::3, 1::7].numpy(), a[::3, 1::7])


def test_upload_larger_than_the_message_limit_still_works():
    a = np.ones((5 << 20,), dtype=np.float32)  # 20 MiB, over the 8 MiB message limit
    assert td.from_numpy(a).sum().item() == a.size


GIB_ROUND_TRIP = r"""
import sys, numpy as np, tensord as td
td.connect(sys.argv[1])
a = np.arange(1 << 30, dtype=np.uint64).astype(np.uint8)  # 1 GiB, bytes 0..255 repeating
t = td.from_numpy(a)
assert t.numel() == 1 << 30
assert t[(1 << 30) - 1].item() == 255
b = t.numpy()
assert b.shape == a.shape and np.array_equal(a, b)
print("moved", td.daemon_info()["shared_memory"])
"""


@pytest.mark.parametrize("no_shm", ["1", "0"])
def test_a_gib_tensor_moves_with_no_message_over_4_mib(no_shm):
    """The daemon refuses messages over 4 MiB here, so the GiB must travel in chunks."""
    d = DaemonProcess(config="limits:\n  max_message_bytes: 4194304\n  max_chunk_bytes: 2097152\n")
    try:
        env = dict(os.environ, TENSORD_NO_SHM=no_shm)
        out = subprocess.run([sys.executable, "-c", GIB_ROUND_TRIP, d.address], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.strip() == f"moved {no_shm == '0'}"
    finally:
        assert d.stop() == 0
