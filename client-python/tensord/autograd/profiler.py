"""torch.autograd.profiler / torch.profiler: per-op times measured on the daemon.

Ops run on the daemon, so that is where they are timed: entering `profile`
records a `_profiler_start` op in the session's stream, every op the daemon
runs after it (backward's ops included) is timed there, and leaving it
records `_profiler_stop`, whose result is the daemon's report (JSON lines,
one event per op or record_function range; docs/protocol.md). The times are
the daemon's wall time per op on its executor thread; the client's own time
(recording, Python) is not in them. `record_function` ranges are ops in the
stream too, so they bracket exactly the ops recorded inside them.
"""
from __future__ import annotations

import enum
import json
import warnings
from collections import OrderedDict
from typing import Any, Iterable, Optional

from .. import _C

_active: Optional["profile"] = None  # one profile at a time per client, as in torch


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return "{:.3f}s".format(time_us / 1e6)
    if time_us >= 1e3:
        return "{:.3f}ms".format(time_us / 1e3)
    return "{:.3f}us".format(time_us)


def _format_time_share(time_us: float, total_time_us: float) -> str:
    if total_time_us == 0:
        return "NaN"
    return "{:.2f}%".format(time_us * 100.0 / total_time_us)


def _event_name(op: str, is_range: bool) -> str:
    """torch's names: aten::<op> for ATen's ops; tensord's own (the fused
    optimizer steps, backward, ...) start with '_' and show as tensord::."""
    if is_range:
        return op
    return ("tensord::" if op.startswith("_") else "aten::") + op


class _NoDeviceColumns:
    """torch's CUDA and memory figures, which tensord does not measure: zero,
    so scripts that sort by them (sort_by="cuda_time_total") still run."""
    cuda_time_total = self_cuda_time_total = cuda_time = 0.0
    cpu_memory_usage = self_cpu_memory_usage = cuda_memory_usage = self_cuda_memory_usage = 0
    is_async = False
    node_id = -1


class FunctionEvent(_NoDeviceColumns):
    """One timed op or record_function range (times in microseconds)."""

    def __init__(self, id: int, name: str, start_us: float, cpu_time_total: float,
                 input_shapes: list, is_range: bool) -> None:
        self.id, self.name, self.key = id, name, name
        self.time_range_start = start_us
        self.cpu_time_total = cpu_time_total
        self.input_shapes = input_shapes
        self.is_range = is_range
        self.cpu_parent: Optional[FunctionEvent] = None
        self.cpu_children: list = []
        self.count = 1

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    @property
    def time_range_end(self) -> float:
        return self.time_range_start + self.cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time={_format_time(self.cpu_time_total)} "
                f"self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg(_NoDeviceColumns):
    """The events of one key (and input shapes, when grouped by them)."""

    def __init__(self, key: str, input_shapes: Any = None) -> None:
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    def add(self, evt: FunctionEvent) -> "FunctionEventAvg":
        self.count += 1
        self.cpu_time_total += evt.cpu_time_total
        self.self_cpu_time_total += evt.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(1, self.count)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} "
                f"self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time_total)} count={self.count} "
                f"input_shapes={self.input_shapes or ''}>")


class EventList(list):
    """A list of events with torch's summary table."""

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80,
              header: Optional[str] = None, top_level_events_only: bool = False, **_: Any) -> str:
        return _build_table(self, sort_by, row_limit, max_name_column_width,
                            max_shapes_column_width, header, top_level_events_only)

    def __str__(self) -> str:
        return self.table()

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False) -> "EventList":
        groups: "OrderedDict[Any, FunctionEventAvg]" = OrderedDict()
        for evt in self:
            shapes = evt.input_shapes if group_by_input_shape else None
            key = (evt.key, str(shapes)) if group_by_input_shape else evt.key
            if key not in groups:
                groups[key] = FunctionEventAvg(evt.key, shapes)
            groups[key].add(evt)
        return EventList(groups.values())

    def export_chrome_trace(self, path: str) -> None:
        """The events in Chrome's trace format (chrome://tracing, Perfetto)."""
        trace = {"traceEvents": [
            {"name": e.name, "ph": "X", "ts": e.time_range_start, "dur": e.cpu_time_total,
             "pid": "tensord daemon", "tid": "session",
             "cat": "user_annotation" if e.is_range else "cpu_op",
             "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
            for e in self]}
        with open(path, "w") as f:
            json.dump(trace, f)


def _build_table(events: list, sort_by: Optional[str], row_limit: int, max_name_column_width: int,
                 max_shapes_column_width: int, header: Optional[str],
                 top_level_events_only: bool) -> str:
    """torch 1.13's table (torch.autograd.profiler_util._build_table), CPU columns."""
    if len(events) == 0:
        return ""
    if sort_by is not None:
        events = sorted(events, key=lambda evt: getattr(evt, sort_by), reverse=True)
    has_input_shapes = any(e.input_shapes for e in events)
    name_column_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
    shapes_column_width = min(max(len(str(e.input_shapes)) for e in events) + 4,
                              max_shapes_column_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
               "# of Calls"]
    spacing = 2
    row_format, header_sep, line_length = "", "", -spacing

    def add_column(padding: int) -> None:
        nonlocal row_format, header_sep, line_length
        row_format += "{: >" + str(padding) + "}" + " " * spacing
        header_sep += "-" * padding + " " * spacing
        line_length += padding + spacing

    add_column(name_column_width)
    for _ in headers[1:]:
        add_column(12)
    if has_input_shapes:
        headers.append("Input Shapes")
        add_column(shapes_column_width)

    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    lines += [header_sep, row_format.format(*headers), header_sep]
    shown = 0
    for evt in events:
        if shown == row_limit:
            break
        if top_level_events_only and getattr(evt, "cpu_parent", None) is not None:
            continue
        shown += 1
        name = evt.key
        if len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name, _format_time_share(evt.self_cpu_time_total, total),
               _format_time(evt.self_cpu_time_total),
               _format_time_share(evt.cpu_time_total, total), _format_time(evt.cpu_time_total),
               _format_time(evt.cpu_time), evt.count]
        if has_input_shapes:
            row.append(str(evt.input_shapes)[:shapes_column_width])
        lines.append(row_format.format(*row))
    lines += [header_sep, "Self CPU time total: " + _format_time(total)]
    return "".join(line + "\n" for line in lines)


def _parse_report(data: bytes) -> EventList:
    events: dict = {}
    parents: dict = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line:
            continue
        r = json.loads(line)
        if "dropped" in r:
            warnings.warn(f"tensord.profiler: the daemon kept the first events only; "
                          f"{r['dropped']} later ones were not recorded")
            continue
        shapes = json.loads(r["shapes"]) if r["shapes"] else []
        evt = FunctionEvent(r["id"], _event_name(r["name"], r["range"]), r["start_ns"] / 1e3,
                            r["dur_ns"] / 1e3, shapes, r["range"])
        events[r["id"]] = evt
        parents[r["id"]] = r["parent"]
    for eid, evt in events.items():
        parent = events.get(parents[eid])
        if parent is not None:
            evt.cpu_parent = parent
            parent.cpu_children.append(evt)
    return EventList(sorted(events.values(), key=lambda e: e.time_range_start))


class profile:
    """torch.autograd.profiler.profile / torch.profiler.profile: a context
    manager that times the daemon's ops run inside it. `activities`, `use_cuda`,
    `profile_memory`, `with_stack`, `with_flops` and `schedule` are accepted;
    only CPU-side (daemon wall) times are reported."""

    def __init__(self, enabled: bool = True, *, activities: Optional[Iterable] = None,
                 record_shapes: bool = False, use_cuda: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 schedule: Any = None, on_trace_ready: Any = None, **_: Any) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.on_trace_ready = on_trace_ready
        self._events: Optional[EventList] = None
        self._running = False

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        global _active
        if not self.enabled:
            return
        if _active is not None:
            raise RuntimeError("Profiler is already enabled on this thread")
        _C.call("_profiler_start", (bool(self.record_shapes),))
        _active = self
        self._running = True

    def stop(self) -> None:
        global _active
        if not self._running:
            return
        self._running = False
        _active = None
        report = _C.call("_profiler_stop", ())
        self._events = _parse_report(report.numpy().tobytes())
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self) -> None:
        """torch.profiler's schedule step: tensord profiles every step."""

    def _check_finished(self) -> EventList:
        if self._events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self._events

    def events(self) -> EventList:
        return self._check_finished()

    @property
    def function_events(self) -> EventList:
        return self._check_finished()

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        return self._check_finished().key_averages(group_by_input_shape)

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100, **kwargs: Any) -> str:
        return self._check_finished().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        self._check_finished().export_chrome_trace(path)

    @property
    def self_cpu_time_total(self) -> float:
        return self._check_finished().self_cpu_time_total

    def __str__(self) -> str:
        return self.table()


class record_function:
    """A labelled range of ops: a row in the profile's table whose CPU total
    spans the ops recorded inside it. Outside a profile it does nothing."""

    def __init__(self, name: str, args: Optional[str] = None) -> None:
        self.name = name
        self.args = args
        self._open = False

    def __enter__(self) -> "record_function":
        if _active is not None:
            _C.call("_profiler_range_push", (str(self.name),))
            self._open = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._open:
            self._open = False
            _C.call("_profiler_range_pop", ())

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapped
