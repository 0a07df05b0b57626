"""Process-level settings scripts call: the thread-count calls (advisory on a
shared daemon), tensor layout properties and autograd's anomaly mode."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tensord as td


def run_fresh(code: str) -> str:
    """Runs `code` in a new Python (these settings are per process)."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_thread_settings_validate_like_torch_and_are_recorded(ref):
    for fn in ("set_num_threads", "set_num_interop_threads"):
        for bad in (0, -1):
            with pytest.raises(RuntimeError, match=f"{fn} expects a positive integer"):
                getattr(ref, fn)(bad)
            with pytest.raises(RuntimeError, match=f"{fn} expects a positive integer"):
                getattr(td, fn)(bad)
    with pytest.raises(RuntimeError, match="set_num_threads expects an int, but got str"):
        ref.set_num_threads("a")
    with pytest.raises(RuntimeError, match="set_num_threads expects an int, but got str"):
        td.set_num_threads("a")
    out = run_fresh("""
        import tensord as td
        print(td.get_num_threads(), td.get_num_interop_threads())
        td.set_num_threads(3)
        td.set_num_interop_threads(2)
        print(td.get_num_threads(), td.get_num_interop_threads())
        try:
            td.set_num_interop_threads(4)  # torch aborts the process here
        except RuntimeError as e:
            print("refused:", e)
        print((td.ones(4) * 2).sum().item())  # the session's kernels run as before
    """)
    lines = out.splitlines()
    assert all(int(n) >= 1 for n in lines[0].split())
    assert lines[1] == "3 2"
    assert lines[2].startswith("refused: Error: cannot set number of interop threads")
    assert lines[3] == "8.0"


def test_thread_settings_default_to_omp_num_threads():
    out = subprocess.run(
        [sys.executable, "-c", "import tensord as td; print(td.get_num_threads())"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                          "OMP_NUM_THREADS": "5"})
    assert out.stdout.strip() == "5", out.stderr


def test_layout_properties_match_torch(ref):
    t, r = td.ones(2, 3), ref.ones(2, 3)
    for name in ("is_sparse", "is_quantized", "is_meta", "is_mkldnn"):
        assert getattr(t, name) is getattr(r, name) is False
    assert t.layout is td.strided and repr(t.layout) == repr(r.layout) == "torch.strided"
    assert repr(td.sparse_coo) == repr(ref.sparse_coo)
    assert isinstance(td.strided, td.layout) and td.strided != td.sparse_coo
    p = td.nn.Parameter(td.ones(2))
    (p * 2).sum().backward()
    assert p.grad.is_sparse is False  # what torch's LBFGS reads


def test_anomaly_mode_flags_and_context_managers(ref):
    assert td.is_anomaly_enabled() is ref.is_anomaly_enabled() is False
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = td.autograd.detect_anomaly()
    with ctx:
        assert td.is_anomaly_enabled() and td.is_anomaly_check_nan_enabled()
    assert not td.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with td.autograd.detect_anomaly(check_nan=False):
            assert td.is_anomaly_enabled() and not td.is_anomaly_check_nan_enabled()
    assert td.is_anomaly_check_nan_enabled()
    td.autograd.set_detect_anomaly(True)
    try:
        assert td.is_anomaly_enabled()
        with td.autograd.set_detect_anomaly(False):
            assert not td.is_anomaly_enabled()
        assert td.is_anomaly_enabled()
    finally:
        td.autograd.set_detect_anomaly(False)
    assert not td.is_anomaly_enabled()


def test_anomaly_mode_names_the_node_that_returned_nan(ref):
    def run(lib):
        x = lib.tensor([0.0, 4.0], requires_grad=True)
        y = (lib.sqrt(x) * 0).sum()  # d/dx sqrt at 0 is inf; times 0 gives NaN there
        return x, y

    x, y = run(ref)
    with pytest.raises(RuntimeError) as theirs, ref.autograd.set_detect_anomaly(True):
        y.backward()
    x, y = run(td)
    with pytest.raises(RuntimeError) as ours, td.autograd.set_detect_anomaly(True):
        y.backward()  # raises from backward() itself, as torch does
    want = "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert want in str(theirs.value) and want in str(ours.value)
    # Without anomaly mode the NaN gradient simply arrives, as in torch.
    x, y = run(td)
    y.backward()
    got = x.grad.numpy()
    assert np.isnan(got[0]) and got[1] == 0.0
    # The same through autograd.grad, and a clean backward passes under the mode.
    x, y = run(td)
    with pytest.raises(RuntimeError, match="returned nan values in its 0th output"), \
            td.autograd.set_detect_anomaly(True):
        td.autograd.grad(y, x)
    with td.autograd.set_detect_anomaly(True):
        z = td.tensor([1.0, 4.0], requires_grad=True)
        td.sqrt(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [0.5, 0.25])
