"""The daemon's Prometheus metrics, watched by a real Prometheus server.

A daemon with metrics on a free port runs load from a real client (ops,
uploads, fetches, an op error, a refused request); a real Prometheus (Debian's
`prometheus`) scrapes it every second with the alert rules of deploy/ loaded,
and the test asks Prometheus's HTTP API for the counters. `promtool` checks
the raw exposition and the alert rules; docs/operations.md's metrics table and
every query of the Grafana dashboard are checked against what the daemon
really exports.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from conftest import ROOT, DaemonProcess, daemon_binary

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    not (PROMETHEUS and PROMTOOL),
    reason="Debian's prometheus package (prometheus, promtool) is not installed; "
    "scripts/setup.sh installs it")

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "tensord-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
MiB = 1 << 20

# The client's load: 50 adds, a 4 MiB upload and fetch, an op error and a
# result over limits.max_tensor_bytes; then it holds its session (and 4 MiB
# on the CPU) open until told to go, so the gauges can be read meanwhile.
LOAD = r"""
import sys
import numpy as np
import tensord as torch

torch.connect(sys.argv[1])
t = torch.ones(16)
for _ in range(50):
    t = t + 1
assert t.tolist()[0] == 51.0
big = torch.from_numpy(np.arange(1 << 20, dtype=np.float32))
assert float(big.numpy()[-1]) == (1 << 20) - 1
try:  # an index the daemon checks (the client knows only the shapes)
    torch.ones(3)[torch.tensor([5])].tolist()
    raise SystemExit("no error from an index out of range")
except IndexError:
    pass
try:
    torch.zeros(1 << 25).tolist()
    raise SystemExit("no error over limits.max_tensor_bytes")
except RuntimeError as e:
    assert "max_tensor_bytes" in str(e), e
print("loaded", flush=True)
sys.stdin.readline()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def metrics_port(d: DaemonProcess) -> int:
    m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", d.log())
    assert m, "the daemon did not log its metrics address:\n" + d.log()
    return int(m.group(1))


class Exposition:
    """The text exposition, parsed: families (name -> type) and samples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: list[tuple[str, dict[str, str], float]] = []
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                self.types[name] = kind
            elif line and not line.startswith("#"):
                m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
                assert m, line
                labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
                self.samples.append((m.group(1), labels, float(m.group(3))))

    def family_of(self, sample: str) -> str:
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample[: -len(suffix)]
            if sample.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return sample

    def label_names(self, family: str) -> set[str]:
        return {k for name, labels, _ in self.samples if self.family_of(name) == family
                for k in labels if k != "le"}

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels`."""
        return sum(v for n, ls, v in self.samples
                   if n == name and all(ls.get(k) == want for k, want in labels.items()))


class Prometheus:
    """A real Prometheus server scraping one target every second."""

    def __init__(self, target: str, workdir: str) -> None:
        config = Path(workdir) / "prometheus.yml"
        shutil.copy(ALERTS, Path(workdir) / "alerts.yml")
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files: [alerts.yml]\n"
            "scrape_configs:\n  - job_name: tensord\n"
            f"    static_configs:\n      - targets: ['{target}']\n")
        for attempt in range(3):  # the free port may be taken before Prometheus binds it
            self.port = free_port()
            self.log = open(Path(workdir) / f"prometheus-{attempt}.log", "w+b")
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir}/data",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    http_get(f"http://127.0.0.1:{self.port}/-/ready", timeout=2)
                    return
                except OSError:
                    time.sleep(0.2)
            self.stop()
        self.log.seek(0)
        raise RuntimeError("Prometheus did not start:\n" + self.log.read().decode(errors="replace"))

    def api(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            body = json.loads(http_get(url))
        except urllib.error.HTTPError as e:  # a bad query answers 400 with a JSON error
            body = json.loads(e.read().decode())
        return body

    def query(self, expr: str) -> list[dict]:
        body = self.api("query", query=expr)
        assert body["status"] == "success", (expr, body)
        return body["data"]["result"]

    def wait_for(self, expr: str, want: float, timeout: float = 60) -> float:
        """Polls `expr` (one series) until it equals `want`; returns the value."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                got = float(result[0]["value"][1])
                if got == want:
                    return got
            time.sleep(0.5)
        raise AssertionError(f"{expr}: Prometheus has {got}, expected {want}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Loaded:
    """A daemon with metrics, after the client's load; the client still
    holds its session. Snapshots of the exposition during and after."""

    def __init__(self) -> None:
        self.daemon = DaemonProcess(
            "--metrics-listen", "127.0.0.1:0",
            config=f"limits:\n  max_tensor_bytes: {64 * MiB}\n")
        self.port = metrics_port(self.daemon)
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.before = Exposition(http_get(self.url))
        self.client = subprocess.Popen(
            [sys.executable, "-c", LOAD, self.daemon.address], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.client.stdout.readline()
        if line.strip() != "loaded":
            self.client.kill()
            raise AssertionError("the load failed:\n" + line + self.client.communicate()[1])
        self.during = Exposition(http_get(self.url))
        self.client.stdin.write("done\n")
        self.client.stdin.flush()
        assert self.client.wait(timeout=60) == 0, self.client.stderr.read()
        self.after = Exposition(http_get(self.url))

    def stop(self) -> None:
        assert self.daemon.stop() == 0, self.daemon.log()


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    state = Loaded()
    yield state
    state.stop()


@pytest.fixture(scope="module")
def prometheus(loaded: Loaded) -> Iterator[Prometheus]:
    if not (PROMETHEUS and PROMTOOL):
        pytest.skip("Debian's prometheus package (prometheus, promtool) is not installed; "
                    "scripts/setup.sh installs it")
    workdir = tempfile.mkdtemp(prefix="tensord-prometheus-")
    server = Prometheus(f"127.0.0.1:{loaded.port}", workdir)
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_counters_count_the_clients_load(loaded: Loaded) -> None:
    def delta(name: str, **labels: str) -> float:
        return loaded.after.value(name, **labels) - loaded.before.value(name, **labels)

    assert delta("tensord_ops_total", op="add", device="cpu") == 50
    assert delta("tensord_op_duration_seconds_count", op="add", device="cpu") == 50
    assert delta("tensord_op_duration_seconds_sum", op="add", device="cpu") > 0
    assert delta("tensord_ops_total", op="index", device="cpu") == 1
    assert delta("tensord_errors_total", code="OUT_OF_RANGE") == 1  # the bad index
    assert delta("tensord_errors_total", code="RESOURCE_EXHAUSTED") == 1
    assert delta("tensord_quota_rejections_total", quota="limits.max_tensor_bytes") == 1
    assert delta("tensord_uploaded_bytes_total") >= 4 * MiB
    assert delta("tensord_fetched_bytes_total") >= 4 * MiB
    assert delta("tensord_fetch_duration_seconds_count") >= 2
    assert delta("tensord_batch_duration_seconds_count") >= 1
    assert delta("tensord_sessions_opened_total", tenant="default") == 1
    assert loaded.after.value("tensord_build_info", version="0.1.0", cuda="no") == 1


def test_gauges_show_the_open_session_and_its_memory(loaded: Loaded) -> None:
    assert loaded.before.value("tensord_sessions", tenant="default") == 0
    assert loaded.during.value("tensord_sessions", tenant="default") == 1
    held = loaded.during.value("tensord_memory_used_bytes", device="cpu", tenant="default")
    assert held >= 4 * MiB  # the uploaded tensor, still referenced by the client
    assert loaded.after.value("tensord_memory_used_bytes", device="cpu", tenant="default") < held
    assert loaded.after.value("tensord_sessions", tenant="default") == 0
    assert loaded.during.value("tensord_queue_depth", tenant="default") >= 0
    assert loaded.during.value("process_resident_memory_bytes") > held
    assert loaded.during.value("process_open_fds") > 3
    assert 0 < loaded.during.value("tensord_uptime_seconds") < 600
    start = loaded.during.value("process_start_time_seconds")
    assert abs(start - (time.time() - loaded.during.value("tensord_uptime_seconds"))) < 30


def test_labels_stay_bounded(loaded: Loaded) -> None:
    allowed = {"op", "device", "tenant", "code", "quota", "transport", "version", "git_hash",
               "cuda", "le", "quantile"}
    for name, labels, _ in loaded.after.samples:
        assert set(labels) <= allowed, (name, labels)
        for value in labels.values():  # no session ids (32 hex digits) in any value
            assert not re.fullmatch(r"[0-9a-f]{16,}", value), (name, labels)


@needs_prometheus
def test_exposition_passes_promtool_check_metrics(loaded: Loaded) -> None:
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=loaded.after.text,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_prometheus_scrapes_the_daemon_under_load(loaded: Loaded, prometheus: Prometheus) -> None:
    prometheus.wait_for('up{job="tensord"}', 1)
    prometheus.wait_for('tensord_ops_total{job="tensord", op="add", device="cpu"}', 50)
    prometheus.wait_for('tensord_quota_rejections_total{quota="limits.max_tensor_bytes"}', 1)
    prometheus.wait_for('tensord_errors_total{code="OUT_OF_RANGE"}', 1)
    prometheus.wait_for('sum(tensord_uploaded_bytes_total) >= bool 4194304', 1)
    prometheus.wait_for('sum(tensord_fetched_bytes_total) >= bool 4194304', 1)
    prometheus.wait_for('tensord_build_info{cuda="no", version="0.1.0"}', 1)
    prometheus.wait_for('tensord_sessions{tenant="default"}', 0)
    prometheus.wait_for('process_resident_memory_bytes > bool 0', 1)
    # A quantile Prometheus computes from the daemon's histogram buckets.
    p99 = prometheus.query('histogram_quantile(0.99, sum by (le) '
                           '(tensord_op_duration_seconds_bucket{op="add"}))')
    assert p99 and 0 < float(p99[0]["value"][1]) < 10


def test_prometheus_loads_the_alert_rules_and_none_fires(loaded: Loaded,
                                                        prometheus: Prometheus) -> None:
    deadline = time.monotonic() + 30
    while True:
        groups = prometheus.api("rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if rules and all(r.get("lastEvaluation", "").startswith("2") and
                         not r["lastEvaluation"].startswith("0001") for r in rules):
            break
        assert time.monotonic() < deadline, groups
        time.sleep(0.5)
    names = {r["name"] for r in rules}
    assert names == {"TensordDown", "TensordHighErrorRatio", "TensordInternalErrors",
                     "TensordMemoryNearQuota", "TensordQueueSaturated"}
    assert all(r["health"] == "ok" for r in rules), rules
    assert prometheus.api("alerts")["data"]["alerts"] == []


@needs_prometheus
def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    check = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 5 rules found" in check.stdout
    test = subprocess.run([PROMTOOL, "test", "rules", ALERT_TESTS.name], capture_output=True,
                          text=True, timeout=60, cwd=ALERT_TESTS.parent)
    assert test.returncode == 0, test.stdout + test.stderr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions,
    keywords, label names or label values)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)                     # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)                      # range selectors
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*\{|\s*\)|\s*$|\s*[-+*/><=!]|\s*\[)",
                           expr))
    keywords = {"and", "or", "unless", "bool", "offset"}
    return {w for w in words if w not in keywords and not w.startswith("$")}


# Exported only with a GPU (reserved memory) or a tenant with a memory quota;
# the daemons here have neither. docs/operations.md says so.
CONDITIONAL = {"tensord_device_memory_reserved_bytes", "tensord_memory_quota_bytes"}


def exported_names(exposition: Exposition) -> set[str]:
    names = set(exposition.types) | CONDITIONAL
    for name, kind in exposition.types.items():
        if kind == "histogram":
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names | {"up"}  # Prometheus's own, per target


def dashboard_exprs() -> list[str]:
    exprs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(DASHBOARD.read_text()))
    return exprs


def test_dashboard_names_only_metrics_the_daemon_exports(loaded: Loaded) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    exported = exported_names(loaded.after)
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric found in {expr!r}"
        assert names <= exported, f"{expr!r} names {names - exported}, not exported"
    # Every family of tensord's and of the process appears on the dashboard.
    shown = set().union(*(metric_names(e) for e in exprs))
    shown = {loaded.after.family_of(n) for n in shown}
    ours = {n for n in loaded.after.types if not n.startswith("exposer_")} | CONDITIONAL
    assert ours - shown == set()


def test_alert_rules_name_only_metrics_the_daemon_exports(loaded: Loaded) -> None:
    exprs = re.findall(r"expr: \|?\n?((?:.+\n)+?)\s+(?:for|labels):", ALERTS.read_text())
    assert len(exprs) == 5
    exported = exported_names(loaded.after)
    for expr in exprs:
        names = metric_names(" ".join(expr.split()))
        assert names and names <= exported, (expr, names - exported)


def test_metric_name_parser_finds_names_and_skips_the_rest() -> None:
    assert metric_names('sum by (le) (rate(a_b_bucket{x="y", z=~"$i"}[$__rate_interval]))') == \
        {"a_b_bucket"}
    assert metric_names("x / on (instance) y > 0.9") == {"x", "y"}
    assert metric_names('up{job="tensord"} == 0') == {"up"}


@needs_prometheus
def test_every_dashboard_query_runs_in_prometheus(loaded: Loaded, prometheus: Prometheus) -> None:
    prometheus.wait_for('up{job="tensord"}', 1)
    for expr in dashboard_exprs():
        concrete = expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')
        body = prometheus.api("query", query=concrete)
        assert body["status"] == "success", (expr, body)


def documented_metrics() -> dict[str, tuple[str, set[str]]]:
    """docs/operations.md's metrics table: name -> (type, label names)."""
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in OPERATIONS.read_text().splitlines():
        m = re.match(r"\|\s*`([a-z_:]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", line)
        if m:
            labels = set(re.findall(r"`(\w+)`", m.group(3)))
            rows[m.group(1)] = (m.group(2), labels)
    return rows


def test_operations_doc_lists_every_metric_as_exported(loaded: Loaded) -> None:
    documented = documented_metrics()
    exposition = loaded.after
    ours = set(exposition.types)
    assert ours - set(documented) == set(), "exported but not in docs/operations.md"
    assert set(documented) - ours == CONDITIONAL, "documented but not exported"
    for name in ours:
        kind, labels = documented[name]
        assert kind == exposition.types[name], (name, kind, exposition.types[name])
        assert labels == exposition.label_names(name), (name, labels, exposition.label_names(name))


TENANT_TOKENS = {"alice": "alice-token-0123456789abcdef", "bob": "bob-token-0123456789abcdef"}

# Alice holds 600 kB of her 1 MiB CPU quota, is refused 600 kB more, and
# keeps her session (her only one: quotas.sessions is 1) open until told.
TENANT_LOAD = r"""
import sys
import tensord as torch

torch.connect(sys.argv[1], token=sys.argv[2])
held = torch.zeros(150_000)
torch.synchronize()
try:
    torch.zeros(150_000).tolist()
    raise SystemExit("no error over the memory quota")
except RuntimeError as e:
    assert "quotas.memory_bytes.cpu" in str(e), e
print("holding", flush=True)
sys.stdin.readline()
"""


def test_tenants_and_their_quotas_label_the_metrics(tmp_path: Path) -> None:
    def token_hash(name: str) -> str:
        return hashlib.sha256(TENANT_TOKENS[name].encode()).hexdigest()

    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(json.dumps({"tenants": {
        "alice": {"token_sha256": token_hash("alice"),
                  "quotas": {"memory_bytes": {"cpu": MiB}, "sessions": 1}},
        "bob": {"token_sha256": token_hash("bob")}}}))
    d = DaemonProcess("--tenants", str(tenants), "--metrics-listen", "127.0.0.1:0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    alice = subprocess.Popen([sys.executable, "-c", TENANT_LOAD, d.address,
                              TENANT_TOKENS["alice"]], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert alice.stdout.readline().strip() == "holding", alice.communicate()[1]
        second = subprocess.run(  # over alice's quotas.sessions
            [sys.executable, "-c", TENANT_LOAD, d.address, TENANT_TOKENS["alice"]],
            capture_output=True, text=True, timeout=120, env=env)
        assert second.returncode != 0 and "quotas.sessions" in second.stderr, second.stderr
        held = Exposition(http_get(f"http://127.0.0.1:{metrics_port(d)}/metrics"))
        alice.stdin.write("done\n")
        alice.stdin.flush()
        assert alice.wait(timeout=60) == 0, alice.stderr.read()
    finally:
        if alice.poll() is None:
            alice.kill()
        assert d.stop() == 0, d.log()
    assert held.value("tensord_sessions", tenant="alice") == 1
    assert held.value("tensord_sessions", tenant="bob") == 0  # a tenant without sessions shows 0
    assert held.value("tensord_sessions_opened_total", tenant="alice") == 1
    assert 600_000 <= held.value("tensord_memory_used_bytes", device="cpu", tenant="alice") < MiB
    assert held.value("tensord_memory_quota_bytes", device="cpu", tenant="alice") == MiB
    assert held.value("tensord_memory_quota_bytes", tenant="bob") == 0  # no quota, no series
    assert held.value("tensord_quota_rejections_total", quota="quotas.memory_bytes.cpu") == 1
    assert held.value("tensord_quota_rejections_total", quota="quotas.sessions") == 1
    assert held.value("tensord_errors_total", code="RESOURCE_EXHAUSTED") == 2
    # The quota gauge, absent from the other daemons here, is as documented.
    assert documented_metrics()["tensord_memory_quota_bytes"] == (
        held.types["tensord_memory_quota_bytes"], held.label_names("tensord_memory_quota_bytes"))


def listening_tcp_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (from /proc: its socket inodes
    against the kernel's table of listening sockets)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def test_metrics_are_off_by_flag_and_a_taken_or_bad_address_fails_the_start() -> None:
    on = DaemonProcess("--metrics-listen", "127.0.0.1:0")
    try:
        assert listening_tcp_ports(on.proc.pid) == {metrics_port(on)}
    finally:
        assert on.stop() == 0
    off = DaemonProcess("--metrics-listen", "")
    try:
        assert listening_tcp_ports(off.proc.pid) == set()
        assert "metrics on" not in off.log()
    finally:
        assert off.stop() == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([daemon_binary(), "--listen", f"unix:{tmp}/d.sock",
                                "--metrics-listen", f"127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in r.stdout + r.stderr
    for bad in ("9400", "127.0.0.1:9400s", "127.0.0.1:99999", "unix:/tmp/m.sock"):
        r = subprocess.run([daemon_binary(), "--metrics-listen", bad], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2 and "expected HOST:PORT" in r.stderr and bad in r.stderr, bad


def test_metrics_listen_from_config_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENSORD_METRICS_LISTEN")  # conftest's "" would win over the file
    d = DaemonProcess(config="metrics_listen: 127.0.0.1:0\n")
    try:
        assert "tensord_build_info" in http_get(f"http://127.0.0.1:{metrics_port(d)}/metrics")
    finally:
        assert d.stop() == 0
    monkeypatch.setenv("TENSORD_METRICS_LISTEN", "127.0.0.1:0")
    d = DaemonProcess(config="metrics_listen: ''\n")  # the environment wins over the file
    try:
        assert listening_tcp_ports(d.proc.pid) == {metrics_port(d)}
    finally:
        assert d.stop() == 0
    monkeypatch.setenv("TENSORD_METRICS_LISTEN", "")
    d = DaemonProcess(config="metrics_listen: 127.0.0.1:0\n")  # set but empty: off
    try:
        assert listening_tcp_ports(d.proc.pid) == set()
    finally:
        assert d.stop() == 0
