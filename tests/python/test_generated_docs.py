"""The generated parts of docs/ are what the op schema says today.

The build rewrites them whenever ops.toml or gen_ops.py changes; this catches
a hand edit inside a generated part, a doc committed without building, and
a compatibility.md that lost the markers the build writes between.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "kernels" / "schema"


@pytest.fixture(scope="module")
def gen_ops() -> Any:
    spec = importlib.util.spec_from_file_location("gen_ops", SCHEMA / "gen_ops.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ops_md_is_generated_from_the_current_schema(gen_ops: Any) -> None:
    ops, version = gen_ops.load(SCHEMA / "ops.toml")
    assert (ROOT / "docs" / "ops.md").read_text() == gen_ops.emit_docs(ops, version), (
        "docs/ops.md is stale: build (gen_ops.py rewrites it) and commit it")


def test_compatibility_op_summary_is_generated_from_the_current_schema(gen_ops: Any) -> None:
    ops, version = gen_ops.load(SCHEMA / "ops.toml")
    doc = (ROOT / "docs" / "compatibility.md").read_text()
    summary = gen_ops.emit_compat_summary(ops, version)
    assert summary in doc, ("docs/compatibility.md's op summary is stale or edited by hand: "
                            "build (gen_ops.py --compat rewrites it) and commit it")
    assert f"{len(ops)} ops" in summary and "| elementwise |" in summary


def test_compat_summary_replacement_keeps_the_written_text_and_needs_markers(
        gen_ops: Any) -> None:
    doc = f"before\n{gen_ops.COMPAT_BEGIN}\nold table\n{gen_ops.COMPAT_END}\nafter\n"
    assert gen_ops.replace_compat_summary(doc, "NEW") == "before\nNEW\nafter\n"
    with pytest.raises(gen_ops.SchemaError, match="markers"):
        gen_ops.replace_compat_summary("no markers here", "NEW")
