"""Runs an unmodified PyTorch program on tensord.

    python -m tensord.run_as_torch [--address ADDR] [--token TOKEN] SCRIPT [ARGS...]
    python -m tensord.run_as_torch [--address ADDR] [--token TOKEN] -m MODULE [ARGS...]

`torch` and every submodule tensord has (torch.nn, torch.nn.functional,
torch.optim, torch.utils.data, ...) resolve to tensord's, in this process, in
the Python processes it starts (multiprocessing's spawn and forkserver
children included) and when unpickling objects recorded as `torch.*`. A
submodule tensord lacks raises ModuleNotFoundError naming it.

The daemon is --address, else $TENSORD_ADDR; without either, an embedded
daemon is started for the run (and stopped at its end), and the processes the
program starts share it. --token (else $TENSORD_TOKEN) is the tenant's token.
"""
from __future__ import annotations

import os
import runpy
import sys

USAGE = ("usage: python -m tensord.run_as_torch [--address ADDR] [--token TOKEN] "
         "(SCRIPT | -m MODULE) [ARGS...]")
SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_as_torch_site")


class UsageError(Exception):
    pass


def parse(argv: list[str]) -> tuple[dict[str, str], str | None, str | None, list[str]]:
    """(options, script, module, program args) from the launcher's argv.

    Like python's own command line: options come first, and everything after
    the script or `-m MODULE` belongs to the program, unparsed.
    """
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            raise UsageError("")
        key, eq, value = arg.partition("=")
        if key in ("--address", "--token"):
            if not eq:
                i += 1
                if i == len(argv):
                    raise UsageError(f"{key} needs a value")
                value = argv[i]
            options[key[2:]] = value
        elif arg == "-m":
            if i + 1 == len(argv):
                raise UsageError("-m needs a module name")
            return options, None, argv[i + 1], argv[i + 2:]
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg}")
        else:
            return options, arg, None, argv[i + 1:]
        i += 1
    raise UsageError("no script or -m MODULE given")


def _prepare_children_environment() -> None:
    """Python processes the program starts install the alias at their startup."""
    os.environ["TENSORD_RUN_AS_TORCH"] = "1"
    path = os.environ.get("PYTHONPATH", "")
    if SITE_DIR not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = SITE_DIR + (os.pathsep + path if path else "")


def main(argv: list[str] | None = None) -> None:
    try:
        options, script, module, args = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        print((f"run_as_torch: {e}\n" if str(e) else "") + USAGE + "\n\n" + (__doc__ or ""),
              file=sys.stderr)
        sys.exit(2 if str(e) else 0)
    if script is not None and not os.path.isfile(script):
        print(f"run_as_torch: can't open file '{script}': no such file", file=sys.stderr)
        sys.exit(2)

    from . import _connection, _torch_alias

    if "address" in options:
        os.environ["TENSORD_ADDR"] = options["address"]
    if "token" in options:
        os.environ["TENSORD_TOKEN"] = options["token"]
    if not os.environ.get("TENSORD_ADDR"):
        # One embedded daemon for the run, which child processes reach through
        # the inherited TENSORD_ADDR instead of each starting their own.
        os.environ["TENSORD_ADDR"] = _connection.start_embedded()
    _prepare_children_environment()
    _torch_alias.install()

    if module is not None:
        sys.argv = [module, *args]  # runpy puts the module's path in argv[0]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        assert script is not None
        sys.argv = [script, *args]
        # As `python SCRIPT` does: the script's folder comes first on the path.
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
