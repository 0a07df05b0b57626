"""torch.profiler / torch.autograd.profiler: per-op times measured on the
daemon, record_function ranges, torch's key_averages() table and the
Chrome trace."""
from __future__ import annotations

import json
import re

import pytest

import tensord as td
import tensord.nn.functional as F


def _rows(prof) -> dict:
    return {e.key: e for e in prof.key_averages()}


def test_profiled_matmul_and_conv_loop_counts_every_call_with_daemon_times():
    a = td.randn(32, 32)
    x, w = td.randn(1, 3, 8, 8), td.randn(4, 3, 3, 3)
    with td.profiler.profile(activities=[td.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(7):
            a = a @ a.t() / 32
        for _ in range(3):
            F.conv2d(x, w)
    rows = _rows(prof)
    assert rows["aten::matmul"].count == 7
    assert rows["aten::convolution"].count == 3 or rows["aten::conv2d"].count == 3
    for key in ("aten::matmul", "aten::t", "aten::div"):
        assert rows[key].count == 7
        assert rows[key].cpu_time_total > 0
        assert 0 < rows[key].self_cpu_time_total <= rows[key].cpu_time_total
    # Ops recorded before the profile started are not in it.
    assert "aten::randn" not in rows


def test_record_function_ranges_are_rows_that_span_their_ops():
    a = td.randn(16, 16)
    with td.autograd.profiler.profile() as prof:
        with td.autograd.profiler.record_function("my_block"):
            for _ in range(4):
                a = td.relu(a @ a)
        a.sum()
    rows = _rows(prof)
    block, mm = rows["my_block"], rows["aten::matmul"]
    assert block.count == 1 and mm.count == 4 and rows["aten::relu"].count == 4
    # The range's total holds its ops; its self time excludes them.
    assert block.cpu_time_total >= mm.cpu_time_total + rows["aten::relu"].cpu_time_total
    assert block.self_cpu_time_total == pytest.approx(
        block.cpu_time_total - mm.cpu_time_total - rows["aten::relu"].cpu_time_total, abs=1e-3)
    events = prof.events()
    [rng] = [e for e in events if e.name == "my_block"]
    assert {c.name for c in rng.cpu_children} == {"aten::matmul", "aten::relu"}
    [total] = [e for e in events if e.name == "aten::sum"]
    assert total.cpu_parent is None


def test_record_function_as_decorator_and_outside_a_profile():
    @td.profiler.record_function("decorated")
    def f(t):
        return t * 2

    f(td.ones(2))  # no profile: a no-op, nothing is recorded
    with td.profiler.profile() as prof:
        f(td.ones(2))
    assert _rows(prof)["decorated"].count == 1
    assert _rows(prof)["aten::mul"].count == 1


def test_backward_ops_are_timed_inside_backward():
    x = td.randn(8, 4, requires_grad=True)
    w = td.randn(4, 3, requires_grad=True)
    with td.profiler.profile() as prof:
        (x @ w).tanh().sum().backward()
    events = prof.events()
    [bwd] = [e for e in events if e.name == "tensord::_backward"]
    inner = {c.name for c in bwd.cpu_children}
    assert "aten::mm" in inner or "aten::matmul" in inner
    assert bwd.cpu_time_total >= sum(c.cpu_time_total for c in bwd.cpu_children)


def test_table_has_torchs_columns_and_sorts():
    a = td.randn(64, 64)
    with td.profiler.profile() as prof:
        for _ in range(3):
            a = (a @ a).tanh()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=2)
    lines = table.splitlines()
    assert re.match(r"-+(  -+){6}  $", lines[0])
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%",
                                "CPU", "total", "CPU", "time", "avg", "#", "of", "Calls"]
    body = lines[3:-2]
    assert len(body) == 2  # row_limit
    selfs = [e.self_cpu_time_total for e in sorted(prof.key_averages(),
                                                   key=lambda e: -e.self_cpu_time_total)]
    assert body[0].split()[0] == max(prof.key_averages(), key=lambda e: e.self_cpu_time_total).key
    assert re.match(r"Self CPU time total: [\d.]+(us|ms|s)$", lines[-1])
    assert float(lines[-1].split()[-1].rstrip("ums")) > 0 and selfs[0] >= selfs[1]
    assert re.search(r"\d+\.\d\d%", body[0])
    # Scripts written for a GPU sort by CUDA time; tensord has none to show.
    assert "aten::matmul" in prof.key_averages().table(sort_by="cuda_time_total")


def test_record_shapes_groups_by_input_shape():
    a, b = td.randn(4, 5), td.randn(5, 6)
    c = td.randn(6, 2)
    with td.profiler.profile(record_shapes=True) as prof:
        a @ b
        a @ b
        b @ c
    grouped = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "aten::matmul"]
    assert sorted((str(e.input_shapes), e.count) for e in grouped) == [
        ("[[4, 5], [5, 6]]", 2), ("[[5, 6], [6, 2]]", 1)]
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_export_chrome_trace_writes_valid_json(tmp_path):
    with td.profiler.profile() as prof:
        with td.profiler.record_function("label"):
            td.ones(3).exp()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = [e["name"] for e in trace["traceEvents"]]
    assert "label" in names and "aten::exp" in names
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in trace["traceEvents"])


def test_profiles_do_not_nest_and_results_need_a_finished_profile():
    prof = td.profiler.profile()
    with pytest.raises(RuntimeError, match="Profiler didn't finish running"):
        prof.key_averages()
    with prof:
        with pytest.raises(RuntimeError, match="Profiler is already enabled"):
            with td.profiler.profile():
                pass
    assert prof.key_averages() is not None


def test_torch_profiler_takes_activities_first_and_a_trace_handler():
    seen = []
    with td.profiler.profile([td.profiler.ProfilerActivity.CPU],
                             on_trace_ready=seen.append) as prof:
        td.ones(2).exp()
    assert seen == [prof] and _rows(prof)["aten::exp"].count == 1


def test_disabled_profile_records_nothing():
    with td.autograd.profiler.profile(enabled=False) as prof:
        td.ones(2).exp()
    with pytest.raises(RuntimeError, match="didn't finish"):
        prof.key_averages()
    # The session is not left profiling: a new profile starts cleanly.
    with td.profiler.profile() as prof2:
        td.ones(2).exp()
    assert _rows(prof2)["aten::exp"].count == 1


def test_unbalanced_range_pop_is_an_error_not_a_crash():
    from tensord import _C
    with td.profiler.profile():
        _C.call("_profiler_range_pop", ())
        with pytest.raises(RuntimeError, match="no record_function range is open"):
            td.synchronize()
    assert td.ones(2).sum().item() == 2.0


def test_daemon_refuses_a_second_start_and_a_stop_without_start():
    from tensord import _C
    r = _C.call("_profiler_stop", ())
    with pytest.raises(RuntimeError, match="the profiler is not on in this session"):
        r.numpy()
    _C.call("_profiler_start", (False,))
    _C.call("_profiler_start", (False,))
    with pytest.raises(RuntimeError, match="the profiler is already on in this session"):
        td.synchronize()
    # The first start stands: stopping it reports its (no) events.
    assert _C.call("_profiler_stop", ()).numpy().size == 0
    with td.profiler.profile() as prof:
        td.ones(2).exp()
    assert _rows(prof)["aten::exp"].count == 1
