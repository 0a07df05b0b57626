"""torch.multiprocessing on tensord: spawn/start_processes with torch's error
forwarding, tensors through queues by value (each child its own session on
the same daemon), torch's refusal of tensors with autograd history, and a
clear error instead of a wedge in a forked child."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import tensord as td
import tensord.multiprocessing as mp


def square_into_queue(rank, queue, base):
    # Runs in a spawned child: a fresh tensord client of the parent's daemon.
    t = base * (rank + 1)
    queue.put((rank, t * t, td.daemon_info()["session_id"], os.environ.get("TENSORD_ADDR")))


def raise_in_child(rank):
    if rank == 1:
        raise ValueError(f"child {rank} failed")


def exit_in_child(rank):
    os._exit(3 if rank == 0 else 0)


def use_tensord(queue):
    try:
        queue.put(("ok", (td.ones(2) * 2).tolist()))
    except Exception as e:  # noqa: BLE001  (the error is what the parent checks)
        queue.put((type(e).__name__, str(e)))


def test_spawn_sends_tensors_both_ways_by_value(daemon):
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    base = td.tensor([1.0, 2.0, 3.0])
    mp.spawn(square_into_queue, args=(queue, base), nprocs=2)
    results = sorted(queue.get() for _ in range(2))
    own_session = td.daemon_info()["session_id"]
    for rank, t, session, address in results:
        assert isinstance(t, td.Tensor) and t.dtype is td.float32
        np.testing.assert_array_equal(t.numpy(), (np.array([1.0, 2.0, 3.0]) * (rank + 1)) ** 2)
        assert address == daemon.address  # the child joined our daemon
        assert session != own_session  # with a session of its own
    assert results[0][2] != results[1][2]


def test_spawn_reraises_a_childs_exception_or_exit_code(ref):
    with pytest.raises(mp.ProcessRaisedException, match="ValueError: child 1 failed"):
        mp.spawn(raise_in_child, nprocs=2)
    with pytest.raises(mp.ProcessExitedException,
                       match="process 0 terminated with exit code 3") as e:
        mp.spawn(exit_in_child, nprocs=2)
    assert e.value.exit_code == 3 and e.value.error_index == 0
    ctx = mp.start_processes(exit_in_child, nprocs=1, join=False)
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    with pytest.raises(mp.ProcessExitedException):
        while not ctx.join():
            pass
    with pytest.warns(UserWarning, match="This method only supports start_method=spawn"):
        mp.spawn(square_into_queue, args=(mp.get_context("spawn").SimpleQueue(), td.ones(1)),
                 start_method="forkserver")


def test_pickle_carries_values_dtype_and_requires_grad(ref):
    for t in (td.arange(6).reshape(2, 3), td.tensor([1.5, -2.0], dtype=td.bfloat16),
              td.tensor(True), td.ones(2, 2, dtype=td.float64)[:, 1]):
        back = pickle.loads(pickle.dumps(t))
        assert back.dtype is t.dtype and back.shape == t.shape
        np.testing.assert_array_equal(back.float().numpy(), t.float().numpy())
    leaf = td.ones(3, requires_grad=True)
    back = pickle.loads(pickle.dumps(leaf))
    assert back.requires_grad and back.is_leaf and back is not leaf
    p = td.nn.Parameter(td.ones(2))
    assert isinstance(pickle.loads(pickle.dumps(p)), td.nn.Parameter)
    # Between processes, a tensor with history is refused with torch's message.
    queue = mp.get_context("spawn").SimpleQueue()
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        ref.multiprocessing.get_context("spawn").SimpleQueue().put(
            ref.ones(2, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        queue.put(leaf * 2)
    queue.put((leaf * 2).detach())
    np.testing.assert_array_equal(queue.get().numpy(), [2.0, 2.0, 2.0])


def test_a_forked_child_gets_a_clear_error_and_the_parent_keeps_working():
    td.ones(1).item()  # this process is connected
    ctx = mp.get_context("fork")
    queue = ctx.SimpleQueue()
    child = ctx.Process(target=use_tensord, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    kind, message = queue.get()
    assert kind == "RuntimeError"
    assert "forked from one connected to a tensord daemon" in message and "'spawn'" in message
    assert (td.ones(3) * 3).sum().item() == 9.0


def test_module_reexports_multiprocessing_like_torch(ref):
    for name in ("Process", "Queue", "SimpleQueue", "Pool", "get_context", "set_start_method",
                 "get_start_method", "cpu_count", "spawn", "start_processes", "ProcessContext",
                 "get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy"):
        assert hasattr(mp, name) and hasattr(ref.multiprocessing, name), name
    assert mp.get_all_sharing_strategies() == ref.multiprocessing.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == "file_descriptor"
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
    assert td.multiprocessing is mp
