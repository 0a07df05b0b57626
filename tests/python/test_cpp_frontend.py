"""The C++ frontend end to end: tensord_train_mlp trains an MLP through the
test daemon, and its checkpoint loads in the reference torch and in tensord."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import tensord

from conftest import daemon_binary

EXPECTED = {"0.weight": (16, 2), "0.bias": (16,), "2.weight": (3, 16), "2.bias": (3,)}


@pytest.fixture(scope="module")
def trained(daemon, tmp_path_factory):  # type: ignore[no-untyped-def]
    exe = Path(daemon_binary()).parent / "tensord_train_mlp"
    if not exe.exists():
        pytest.fail(f"{exe} is not built")
    ckpt = tmp_path_factory.mktemp("cpp") / "mlp.pt"
    proc = subprocess.run([str(exe), daemon.address, str(ckpt), "20"], capture_output=True,
                          text=True, timeout=300)
    return proc, ckpt


def test_example_trains_to_high_accuracy(trained) -> None:  # type: ignore[no-untyped-def]
    proc, ckpt = trained
    assert proc.returncode == 0, proc.stdout + proc.stderr
    losses = [float(m) for m in re.findall(r"^epoch \d+ loss ([0-9.]+)$", proc.stdout, re.M)]
    assert len(losses) == 20, proc.stdout
    assert losses[-1] < losses[0] / 2, losses
    acc = float(re.search(r"^accuracy ([0-9.]+)$", proc.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert acc > 0.9
    assert ckpt.exists()


def test_checkpoint_loads_in_torch_and_tensord(trained, ref) -> None:  # type: ignore[no-untyped-def]
    _, ckpt = trained
    want = ref.load(str(ckpt))
    assert type(want).__name__ == "OrderedDict"
    assert {k: tuple(v.shape) for k, v in want.items()} == EXPECTED
    assert list(want) == list(EXPECTED), "torch's state_dict order"
    assert all(v.dtype == ref.float32 and not v.requires_grad for v in want.values())
    # torch itself can use it: the same model architecture accepts it strictly.
    model = ref.nn.Sequential(ref.nn.Linear(2, 16), ref.nn.ReLU(), ref.nn.Linear(16, 3))
    model.load_state_dict(want)

    got = tensord.load(str(ckpt))
    assert list(got) == list(EXPECTED)
    for k, v in got.items():
        assert tuple(v.shape) == EXPECTED[k]
        assert v.dtype == tensord.float32
        assert v.tolist() == want[k].tolist()
