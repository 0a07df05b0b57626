"""`python -m tensord.utils.collect_env`: what to paste into a bug report.

Like `python -m torch.utils.collect_env`: the client's versions, the daemon's
(from the handshake: version, protocol, op schema, devices, dtypes), the build
options that decide what runs where, and the environment variables tensord
reads. Tokens are never printed, only whether one is set. Without a reachable
daemon it says so and reports the rest.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from typing import Any

# Shown as set/unset only: they are credentials.
_SECRET_VARIABLES = ("TENSORD_TOKEN",)
_OTHER_VARIABLES = ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return fields.get("PRETTY_NAME", "").strip('"') or platform.platform()
    except OSError:
        return platform.platform()


def _numpy_version() -> str:
    try:
        import numpy
    except ImportError:
        return "not installed"
    return numpy.__version__


def _daemon_binary() -> str | None:
    """The daemon an embedded start would run, resolved through symlinks."""
    from .. import _connection
    try:
        return os.path.realpath(_connection._daemon_binary())
    except RuntimeError:
        return None


def _cuda_backend(binary: str | None) -> str:
    """Where the daemon would find libtensord_cuda.so (as server/cuda_loader does)."""
    configured = os.environ.get("TENSORD_CUDA_LIBRARY")
    if configured:
        return f"{configured} (TENSORD_CUDA_LIBRARY)" + ("" if os.path.exists(configured)
                                                          else ": no such file")
    if binary is None:
        return "unknown (no daemon binary)"
    bin_dir = os.path.dirname(binary)
    for candidate in (os.path.join(bin_dir, "..", "lib", "libtensord_cuda.so"),
                      os.path.join(bin_dir, "libtensord_cuda.so")):
        if os.path.exists(candidate):
            return f"present: {os.path.normpath(candidate)}"
    return "not beside the daemon binary (CPU-only build, or on the loader's search path)"


def _environment() -> list[tuple[str, str]]:
    names = sorted(n for n in os.environ if n.startswith("TENSORD_")) + list(_OTHER_VARIABLES)
    for required in ("TENSORD_ADDR", "TENSORD_TOKEN", "TENSORD_HOME", "TENSORD_LOG_LEVEL"):
        if required not in names:
            names.append(required)
    shown = []
    for name in names:
        value = os.environ.get(name)
        if value is None:
            shown.append((name, "(unset)"))
        elif name in _SECRET_VARIABLES or "TOKEN" in name:
            shown.append((name, "(set)"))
        else:
            shown.append((name, value))
    return shown


def _daemon() -> tuple[str, dict[str, Any]]:
    """Connects as the package would: (where, handshake), or (where, {"error": why})."""
    from .. import _connection
    where = os.environ.get("TENSORD_ADDR") or "embedded daemon (TENSORD_ADDR unset)"
    try:
        return where, _connection.daemon_info()
    except Exception as e:  # any failure to connect is a finding to report, not a crash
        return where, {"error": f"{type(e).__name__}: {e}"}


def _format_bytes(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n else "unknown memory"


def get_pretty_env_info() -> str:
    import tensord
    from .. import _C, _connection

    lines = [
        f"tensord client version: {tensord.__version__}",
        f"tensord client core: {getattr(_C, '__file__', '?')}",
        f"Python version: {sys.version.split()[0]} ({platform.python_implementation()}, "
        f"{platform.architecture()[0]})",
        f"Python platform: {platform.platform()}",
        f"NumPy version: {_numpy_version()}",
        f"OS: {_os_name()}",
        "",
    ]
    where, info = _daemon()
    lines.append(f"Daemon: {where}")
    if "error" in info:
        lines.append(f"Daemon reachable: no ({info['error']})")
    else:
        lines += [
            "Daemon reachable: yes",
            f"Daemon version: {info['daemon_version']}",
            f"Protocol version: {info['protocol']}",
            f"Op schema version: {info['op_schema_version']} ({info['op_count']} ops)",
            "Devices:",
        ]
        memory = info.get("device_total_memory") or [0] * len(info["devices"])
        for device, name, total in zip(info["devices"], info["device_names"], memory):
            lines.append(f"  {device}: {name}, {_format_bytes(total)}")
        lines.append(f"Dtypes: {', '.join(info['dtypes'])}")
        lines.append(f"Shared memory transfers: {'yes' if info['shared_memory'] else 'no'}")
    lines.append("")

    binary = _daemon_binary()
    lines += [
        "Build options:",
        f"  daemon binary (for an embedded daemon): {binary or 'not found'}",
        f"  CUDA backend library: {_cuda_backend(binary)}",
        f"  nvcc on PATH: {shutil.which('nvcc') or 'no'}",
        "",
        f"Client home (TENSORD_HOME or default): {_connection.tensord_home()}",
        "Environment variables:",
    ]
    lines += [f"  {name}={value}" for name, value in _environment()]
    return "\n".join(lines)


def main() -> None:
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
