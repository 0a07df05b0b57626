"""`torch` and its submodules resolved to tensord's, for unmodified PyTorch code.

install() puts a finder first on sys.meta_path: `import torch.nn as nn`
gives tensord.nn itself (the same module object), so `isinstance` checks,
module identity and pickle (which imports `torch.nn.modules.linear` to find
`Linear`) all see tensord's classes. A torch submodule tensord lacks raises
ModuleNotFoundError naming it, rather than falling through to a real torch
installed next to tensord: mixing the two would fail later and obscurely.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Sequence

ALIASED = "torch"
TARGET = "tensord"


def target_name(fullname: str) -> str | None:
    """tensord's name for `torch` or `torch.X.Y`; None for anything else."""
    if fullname == ALIASED:
        return TARGET
    if fullname.startswith(ALIASED + "."):
        return TARGET + fullname[len(ALIASED):]
    return None


class _SameModuleLoader(importlib.abc.Loader):
    """Loads an alias as the already imported tensord module itself."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._own_spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped the alias's spec on the module; tensord's
        # own spec goes back so that reloads and relative imports keep working.
        module.__spec__ = self._own_spec


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        name = target_name(fullname)
        if name is None:
            return None
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise  # tensord itself failed to import something: not an alias gap
            raise ModuleNotFoundError(
                f"No module named '{fullname}': torch is tensord here (run_as_torch), "
                f"and tensord has no {name} module (docs/compatibility.md lists what it has)",
                name=fullname) from None
        return importlib.machinery.ModuleSpec(fullname, _SameModuleLoader(module))


def installed() -> bool:
    return any(isinstance(f, TorchAliasFinder) for f in sys.meta_path)


def install() -> None:
    """Makes `import torch...` resolve to tensord in this process (idempotent).

    A real torch imported before this stays in sys.modules under its names;
    that is refused, since the program would then hold both.
    """
    if installed():
        return
    already = sorted(n for n in sys.modules if target_name(n) is not None
                     and not _is_tensord(sys.modules[n]))
    if already:
        raise RuntimeError(f"run_as_torch: the real {already[0]} is already imported in this "
                           "process; the alias must be installed before anything imports torch")
    sys.meta_path.insert(0, TorchAliasFinder())


def _is_tensord(module: Any) -> bool:
    return getattr(module, "__name__", "").split(".")[0] == TARGET
