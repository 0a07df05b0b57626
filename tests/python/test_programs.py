"""The corpus of tests/programs/: each real PyTorch program runs twice, unmodified.

Once with PyTorch itself (`python PROGRAM`) and once on tensord through
`python -m tensord.run_as_torch PROGRAM` against the test daemon. Their
printed lines must agree (text exactly, numbers within a tolerance), and so
must the final parameters each writes to --out. Lines a program marks
"(rng)" depend on the random stream, which differs between the two by design
(docs/compatibility.md): only their word count is compared.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tensord

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")
RNG_MARK = "(rng)"


def lacks_lbfgs() -> str | None:
    return None if hasattr(tensord.optim, "LBFGS") else "tensord has no optim.LBFGS yet"


def lacks_legacy_constructors() -> str | None:
    if not hasattr(tensord.Tensor, "new_zeros"):
        return "tensord has no Tensor.new_zeros yet"
    try:
        tensord.Tensor([[1.0]])
    except TypeError:
        return "tensord has no torch.Tensor(data) constructor yet"
    return None


@dataclass
class Program:
    script: str
    args: list[str] = field(default_factory=list)
    # A tensord feature the program needs that may not be merged yet: its
    # absence, checked when the test runs, makes a failure an expected one.
    missing_feature: Callable[[], str | None] = lambda: None
    rtol: float = 1e-3
    atol: float = 1e-4

    @property
    def id(self) -> str:
        return Path(self.script).stem + "".join("-" + a for a in self.args if not a.startswith("-"))


CORPUS = [
    Program("polynomial_regression.py"),
    Program("sine_lstm_lbfgs.py", missing_feature=lacks_lbfgs),
    *[Program("word_language_model.py", ["--model", m], missing_feature=lacks_legacy_constructors)
      for m in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU", "Transformer")],
    Program("gan_2d.py"),
    Program("vae.py"),
    Program("siamese_contrastive.py"),
    Program("text_classifier_embeddingbag.py"),
    Program("save_whole_model.py"),
    Program("cnn_dataloader_workers.py"),
]


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (f"{' '.join(command)} exited {done.returncode}\n"
                                  f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done.stdout


def numbers_close(got: str, want: str, rtol: float, atol: float) -> bool:
    a, b = float(got), float(want)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


def assert_lines_agree(got: str, want: str, rtol: float, atol: float) -> None:
    """tensord's printed lines `got` against PyTorch's `want`."""
    got_lines, want_lines = got.splitlines(), want.splitlines()
    assert len(got_lines) == len(want_lines), (
        f"{len(got_lines)} lines printed, PyTorch printed {len(want_lines)}:\n{got}\n---\n{want}")
    for g, w in zip(got_lines, want_lines):
        if RNG_MARK in w:
            assert g.split(RNG_MARK)[0] == w.split(RNG_MARK)[0], f"{g!r} != {w!r}"
            assert len(g.split()) == len(w.split()), f"{g!r} vs {w!r}: word counts differ"
            continue
        assert NUMBER.split(g) == NUMBER.split(w), f"text differs:\n  {g!r}\n  {w!r}"
        for a, b in zip(NUMBER.findall(g), NUMBER.findall(w)):
            assert numbers_close(a, b, rtol, atol), f"{a} != {b} (rtol {rtol}):\n  {g!r}\n  {w!r}"


def assert_params_agree(got_path: Path, want_path: Path, rtol: float, atol: float) -> None:
    with np.load(got_path) as got, np.load(want_path) as want:
        assert sorted(got.files) == sorted(want.files)
        for name in want.files:
            assert got[name].shape == want[name].shape, name
            assert got[name].dtype == want[name].dtype, name
            np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("program", CORPUS, ids=lambda p: p.id)
def test_program_runs_unmodified_on_tensord(program: Program, ref: Any, daemon: Any,
                                            tmp_path: Path, request: Any) -> None:
    missing = program.missing_feature()
    if missing is not None:
        request.node.add_marker(pytest.mark.xfail(reason=missing, strict=False))
    script = str(PROGRAMS / program.script)
    env = {**os.environ, "TENSORD_ADDR": daemon.address}
    want = run([sys.executable, script, *program.args, "--out", str(tmp_path / "torch.npz")],
               env, tmp_path)
    got = run([sys.executable, "-m", "tensord.run_as_torch", script, *program.args,
               "--out", str(tmp_path / "tensord.npz")], env, tmp_path)
    assert want.strip(), "the program printed nothing to compare"
    assert_lines_agree(got, want, program.rtol, program.atol)
    assert_params_agree(tmp_path / "tensord.npz", tmp_path / "torch.npz", program.rtol,
                        program.atol)


def test_line_comparison_catches_a_changed_number_or_word() -> None:
    assert_lines_agree("loss 1.0001 ok", "loss 1.0000 ok", 1e-3, 1e-4)
    with pytest.raises(AssertionError, match="!="):
        assert_lines_agree("loss 1.1", "loss 1.0", 1e-3, 1e-4)
    with pytest.raises(AssertionError, match="text differs"):
        assert_lines_agree("loss 1.0 bad", "loss 1.0 ok", 1e-3, 1e-4)
    with pytest.raises(AssertionError, match="lines printed"):
        assert_lines_agree("a\nb", "a", 1e-3, 1e-4)
    assert_lines_agree("generated (rng): x y", "generated (rng): z w", 1e-3, 1e-4)
    with pytest.raises(AssertionError, match="word counts"):
        assert_lines_agree("generated (rng): x", "generated (rng): z w", 1e-3, 1e-4)
