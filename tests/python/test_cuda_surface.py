"""torch.cuda, torch.backends and CUDA devices, answered from the daemon's devices.

The daemon the suite starts here has no GPU, so the "no GPU" tests run and the
"has a GPU" ones skip with a visible reason; on a GPU machine it is the other
way round. Without a GPU, tensord raises what a CUDA build of PyTorch raises on
a machine without one ("No CUDA GPUs are available"), and raises it when the
op is issued, leaving the session usable. Debian's PyTorch is a CPU build, so
it is the reference only for the answers that need no CUDA at all.
"""
from __future__ import annotations

from typing import Any

import pytest

import tensord as td

NO_GPU = r"No CUDA GPUs are available"


def daemon_gpus() -> list[str]:
    return [d for d in td.daemon_info()["devices"] if d.startswith("cuda")]


# Fixtures rather than skipif marks: asking the daemon needs the session's
# connection, which the autouse `connected` fixture makes first.
@pytest.fixture
def without_gpu(connected: None) -> None:
    if daemon_gpus():
        pytest.skip("the daemon has a GPU: the no-GPU behaviour cannot be seen")


@pytest.fixture
def with_gpu(connected: None) -> None:
    if not daemon_gpus():
        pytest.skip("the daemon has no GPU: run the suite against a daemon on a GPU machine")


def session_still_works() -> None:
    """No error is left behind to surface at the next sync point."""
    assert (td.ones(3) * 2).sum().item() == 6.0


# ---------------------------------------------------------------- answers without CUDA

def test_queries_that_need_no_gpu_answer_like_torch(ref: Any) -> None:
    assert td.cuda.is_available() is (len(daemon_gpus()) > 0)
    assert td.cuda.device_count() == len(daemon_gpus())
    assert td.backends.mps.is_available() is ref.backends.mps.is_available() is False
    assert td.backends.mps.is_built() is False


def test_backend_switches_start_as_torchs_and_can_be_set(ref: Any) -> None:
    cudnn, ref_cudnn = td.backends.cudnn, ref.backends.cudnn
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) == getattr(ref_cudnn, name), name
    matmul = td.backends.cuda.matmul
    assert matmul.allow_tf32 == ref.backends.cuda.matmul.allow_tf32
    assert (matmul.allow_fp16_reduced_precision_reduction
            == ref.backends.cuda.matmul.allow_fp16_reduced_precision_reduction)
    saved = cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32
    try:
        cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32 = True, True, True
        assert cudnn.benchmark and cudnn.deterministic and matmul.allow_tf32
        import tensord.backends.cudnn as cudnn_module  # the same module, as in torch
        assert cudnn_module.benchmark is True
    finally:
        cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32 = saved
    for target in (matmul, ref.backends.cuda.matmul):
        with pytest.raises(AssertionError, match="Unknown attribute allow_tf16"):
            target.allow_tf16 = True
        with pytest.raises(AssertionError, match="Unknown attribute nope"):
            target.nope


def test_device_objects_behave_like_torchs(ref: Any) -> None:
    for args in (("cuda",), ("cuda:1",), ("cuda", 0), ("cpu",), (3,)):
        got, want = td.device(*args), ref.device(*args)
        assert (str(got), repr(got), got.type, got.index) == (str(want), repr(want), want.type,
                                                              want.index)
    assert td.device("cuda") == "cuda" and td.device("cuda:0") != td.device("cuda")
    assert td.ones(2).device == td.device("cpu") and not td.ones(2).is_cuda


# ---------------------------------------------------------------- a daemon without GPUs

@pytest.mark.usefixtures("without_gpu")
def test_without_gpu_the_state_queries_match_an_uninitialised_torch(ref: Any) -> None:
    assert td.cuda.is_initialized() is False
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved"):
        assert getattr(td.cuda, name)() == getattr(ref.cuda, name)() == 0
    assert td.cuda.empty_cache() is None
    with td.cuda.device(None), td.cuda.device(-1):  # no device asked: no error
        pass
    td.cuda.manual_seed(3)
    td.cuda.manual_seed_all(3)
    assert td.backends.cudnn.is_available() is False
    assert td.backends.cudnn.version() is None


@pytest.mark.usefixtures("without_gpu")
@pytest.mark.parametrize("call", [
    "td.cuda.current_device()", "td.cuda.get_device_name()", "td.cuda.get_device_name(0)",
    "td.cuda.get_device_properties(0)", "td.cuda.synchronize()", "td.cuda.set_device(0)",
    "td.cuda.init()", "td.cuda.device(0).__enter__()",
])
def test_without_gpu_device_calls_raise_no_cuda_gpus(call: str) -> None:
    with pytest.raises(RuntimeError, match=NO_GPU):
        eval(call)  # noqa: S307
    assert td.cuda.is_initialized() is False


@pytest.mark.usefixtures("without_gpu")
@pytest.mark.parametrize("call,op", [
    ("td.ones(2).cuda()", "to_device"),
    ("td.ones(2).cuda(1)", "to_device"),
    ("td.ones(2).to('cuda')", "to_device"),
    ("td.ones(2).to(td.device('cuda:1'))", "to_device"),
    ("td.ones(2).to('cuda', td.float64)", "to_device"),
    ("td.ones(2, device='cuda')", "ones"),
    ("td.zeros(2, 3, device=td.device('cuda', 0))", "zeros"),
    ("td.randn(4, device='cuda')", "randn"),
    ("td.ones(2).type('torch.cuda.FloatTensor')", None),
    ("td.ones(2).type(td.cuda.LongTensor)", None),
    ("td.cuda.FloatTensor(2)", None),
    ("td.cuda.LongTensor([1, 2])", None),
])
def test_without_gpu_moving_to_cuda_raises_at_the_call(call: str, op: str | None) -> None:
    with pytest.raises(RuntimeError, match=NO_GPU) as info:
        eval(call)  # noqa: S307
    if op is not None:
        assert f"op '{op}'" in str(info.value)
    session_still_works()


@pytest.mark.usefixtures("without_gpu")
def test_without_gpu_cuda_manual_seed_leaves_the_session_stream_alone() -> None:
    td.manual_seed(7)
    first = td.rand(4).tolist()
    td.manual_seed(7)
    td.cuda.manual_seed_all(12345)
    assert td.rand(4).tolist() == first


def test_a_checkpoint_style_device_guard_runs_on_the_cpu() -> None:
    """The idiom of countless scripts picks the CPU when the daemon has no GPU."""
    dev = td.device("cuda" if td.cuda.is_available() else "cpu")
    model = td.nn.Linear(2, 1).to(dev)
    out = model(td.ones(3, 2, device=dev))
    assert out.device.type == dev.type
    assert out.shape == (3, 1)


# ---------------------------------------------------------------- a daemon with GPUs

@pytest.mark.usefixtures("with_gpu")
def test_with_gpu_queries_name_the_daemons_devices() -> None:
    info = td.daemon_info()
    names = [n for d, n in zip(info["devices"], info["device_names"]) if d.startswith("cuda")]
    assert td.cuda.is_available() and td.cuda.device_count() == len(names)
    assert td.cuda.current_device() == 0 and td.cuda.is_initialized()
    assert td.cuda.get_device_name() == td.cuda.get_device_name(0) == names[0]
    assert td.cuda.get_device_properties("cuda:0").name == names[0]
    assert td.backends.cudnn.is_available()
    td.cuda.synchronize()


@pytest.mark.usefixtures("with_gpu")
def test_with_gpu_device_context_selects_and_restores() -> None:
    last = td.cuda.device_count() - 1
    with td.cuda.device(last):
        assert td.cuda.current_device() == last
        assert td.cuda.FloatTensor(2).device == td.device("cuda", last)
    assert td.cuda.current_device() == 0
    with td.cuda.device(None):
        assert td.cuda.current_device() == 0


@pytest.mark.usefixtures("with_gpu")
def test_with_gpu_tensors_move_and_report_cuda_types() -> None:
    t = td.tensor([1.0, 2.0]).cuda()
    assert t.is_cuda and t.get_device() == 0 and t.device == td.device("cuda:0")
    assert t.type() == "torch.cuda.FloatTensor"
    assert isinstance(t, td.cuda.FloatTensor) and not isinstance(t, td.FloatTensor)
    assert t.cpu().tolist() == [1.0, 2.0]
    legacy = td.cuda.FloatTensor([3.0, 4.0])
    assert legacy.is_cuda and legacy.cpu().tolist() == [3.0, 4.0]
    assert t.new_zeros(2).is_cuda and t.new_tensor([5.0]).is_cuda
    assert td.ones(2).type("torch.cuda.FloatTensor").is_cuda
    assert t.type(td.FloatTensor).device.type == "cpu"


@pytest.mark.usefixtures("with_gpu")
def test_with_gpu_a_missing_ordinal_raises_at_the_call() -> None:
    missing = f"cuda:{td.cuda.device_count()}"
    with pytest.raises(RuntimeError, match="CUDA error: invalid device ordinal"):
        td.ones(2).to(missing)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        td.cuda.set_device(td.cuda.device_count())
    session_still_works()
