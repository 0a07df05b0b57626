"""bench/bench.py runs end to end, and the example daemon config holds up.

No timing is asserted: the benchmark's figures are for people to read. The
example daemon config is checked against the keys and defaults in
server/config.h/.cpp, and a daemon must start with it. deploy/ has its own
checks in test_deploy.py.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, DaemonProcess


def test_bench_quick_prints_every_row_and_exits_zero(daemon: DaemonProcess,
                                                     tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    env = dict(os.environ, TENSORD_ADDR=daemon.address)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--quick", "--json", str(out_json)],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    number = r"\s+\d+\.\d+"
    for row in (r"tiny add, 16 x f32, \d+ ops \+ sync\s+us/op",
                r"matmul \d+\^2 f32 x\d+ \+ sync\s+ms",
                r"matmul \d+\^2 f32 x\d+ \+ sync\s+GFLOP/s",
                r"conv2d \d+x3x28x28->32 3x3 f32\s+ms",
                r"upload \d+ MiB f32 \(from_numpy \+ sync\)",
                r"fetch \d+ MiB f32 \(\.numpy\(\)\)"):
        # tensord's figure is always there; torch may be n/a where it is missing.
        assert re.search(row + number, proc.stdout), f"no row /{row}/ in:\n{proc.stdout}"
    result = json.loads(out_json.read_text())
    assert result["tiny_add"]["us_per_op"]["tensord"] > 0
    assert result["matmul"]["gflops"]["tensord"] > 0
    assert result["conv2d"]["ms"]["tensord"] > 0
    assert set(result["transfer"]["gb_per_s"]) == {"upload", "fetch", "tcp", "unix", "memcpy"}


def _yaml() -> Any:
    return pytest.importorskip("yaml", reason="PyYAML (Debian's python3-yaml) parses YAML files")


def _config_defaults() -> dict[str, Any]:
    """Key -> default, read from server/config.h (numbers and strings only)."""
    defaults: dict[str, Any] = {}
    for m in re.finditer(r"^\s+[\w:]+(?:<[^>]*>)?\s+(\w+)\s*=\s*([^;]+);",
                         (ROOT / "server" / "config.h").read_text(), re.M):
        name, expr = m.group(1), m.group(2).strip()
        if expr.startswith('"'):
            defaults[name] = expr.strip('"')
        elif re.fullmatch(r"[\d\sul<]+", expr):
            defaults[name] = eval(re.sub(r"(\d+)u?l*l*", r"\1", expr))  # e.g. 16ull << 30
    return defaults


def test_example_config_has_every_key_at_its_default() -> None:
    config = _yaml().safe_load((ROOT / "configs" / "tensord.yaml").read_text())
    source = (ROOT / "server" / "config.cpp").read_text()
    read = set(re.findall(r'Read\(root, "(\w+)"', source)) | {"listen", "metrics_listen"}
    read_limits = set(re.findall(r'Read\(limits, "(\w+)"', source))
    assert read <= set(config), f"keys missing from configs/tensord.yaml: {read - set(config)}"
    assert read_limits <= set(config["limits"]), read_limits - set(config["limits"])
    defaults = _config_defaults()
    flat = {**{k: v for k, v in config.items() if k != "limits"}, **config["limits"]}
    for key, value in flat.items():
        if key in defaults:
            assert value == defaults[key], f"{key}: example {value!r}, default {defaults[key]!r}"
    assert config["listen"] == ["127.0.0.1:7070"]


def test_example_config_starts_a_daemon_that_drains_on_sigterm() -> None:
    d = DaemonProcess(config=(ROOT / "configs" / "tensord.yaml").read_text())
    assert d.stop() == 0, d.log()
    assert "draining" in d.log()


def test_bench_train_quick_runs_both_models(daemon: DaemonProcess, tmp_path: Path) -> None:
    out_json = tmp_path / "train.json"
    env = dict(os.environ, TENSORD_ADDR=daemon.address)
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_train.py"), "--quick", "--json", str(out_json)],
        capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out_json.read_text())
    assert set(figures) == {"mlp", "cnn"}
    for row in figures.values():
        assert row["tensord_ms"] > 0 and row["torch_ms"] > 0 and row["ratio"] > 0


def test_bench_nn_runs(daemon: DaemonProcess) -> None:
    env = dict(os.environ, TENSORD_ADDR=daemon.address)
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_nn.py"), "--reps", "1",
                          "--repeat", "1"], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    for row in ("batch_norm", "group_norm", "max_pool2d", "avg_pool2d", "adaptive_avg"):
        assert row in run.stdout, run.stdout
