"""The example programs run end to end against the test daemon."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "client-python" / "examples"


def test_train_cnn_learns_and_writes_a_checkpoint_torch_reads(daemon, ref, tmp_path):
    ckpt = tmp_path / "cnn.pt"
    env = dict(os.environ, TENSORD_ADDR=daemon.address)
    run = subprocess.run([sys.executable, str(EXAMPLES / "train_cnn.py"), "--epochs", "2",
                          "--train", "512", "--checkpoint", str(ckpt)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test accuracy" in run.stdout and str(ckpt) in run.stdout
    assert "steps/s" in run.stderr and "loss" in run.stderr  # the progress bar
    accuracy = float(run.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 50.0
    state = ref.load(ckpt)
    assert [k for k in state] == ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]
    assert tuple(state["7.weight"].shape) == (10, 784)
