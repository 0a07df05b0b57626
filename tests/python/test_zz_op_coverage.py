"""Runs last (file order): every op of the schema was exercised against the
daemon by the Python suite, so an op added without a test fails here."""
from pathlib import Path

import pytest
from conftest import RUN_INFO

import tensord as td

# Ops reached only from the C++ suites (tests/cpp, tests/gpu), with the reason.
CPP_ONLY = {
    "to_device": "beyond a CPU copy it needs a GPU: tests/gpu/daemon_gpu_test.cc",
}


def test_every_op_in_the_schema_was_exercised():
    all_files = {p.name for p in Path(__file__).parent.glob("test_*.py")}
    if RUN_INFO["filtered"] or not all_files <= RUN_INFO["files"]:
        pytest.skip("partial run: op coverage is checked on a full run of tests/python")
    counts = td._C.op_counts()
    excluded = RUN_INFO.get("excluded_counts", {})  # the fuzzer's random calls
    missing = sorted(name for name, n in counts.items()
                     if n - excluded.get(name, 0) == 0 and name not in CPP_ONLY)
    assert not missing, f"ops never called by tests/python: {missing}"
