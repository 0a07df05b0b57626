"""Child processes of `python -m tensord.run_as_torch` see tensord as torch.

run_as_torch puts this folder first on PYTHONPATH and sets
TENSORD_RUN_AS_TORCH=1, so every Python it starts (multiprocessing's spawn
and forkserver children, or a plain `subprocess.run([sys.executable, ...])`)
runs this at startup, before the child's own code imports torch. Importing
tensord is deferred to the first `import torch`, so children that never
import it pay nothing. The sitecustomize this one shadows (Debian ships one)
still runs.
"""
import importlib.machinery
import importlib.util
import os
import sys


class _DeferredTorchAlias:
    """Installs tensord's alias finder at the first `import torch`."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        sys.meta_path.remove(_DeferredTorchAlias)
        from tensord import _torch_alias

        _torch_alias.install()
        return sys.meta_path[0].find_spec(fullname, path, target)


def _run_shadowed_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if os.environ.get("TENSORD_RUN_AS_TORCH") == "1":
    sys.meta_path.insert(0, _DeferredTorchAlias)  # type: ignore[arg-type]
_run_shadowed_sitecustomize()
