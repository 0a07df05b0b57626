"""torch.multiprocessing.spawn / start_processes (torch 1.13's behaviour):
run fn(i, *args) in nprocs processes; a child's exception or signal is
re-raised in the parent, which then stops the others.

Each child is a separate tensord client: it opens its own session on the
parent's daemon (its address and token reach the child's environment), so
tensors cross processes by value (tensord.multiprocessing's docstring).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import warnings
from typing import Any, Iterator, Optional


class ProcessException(Exception):
    __slots__ = ["error_index", "error_pid"]

    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self) -> Any:
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A child raised: its traceback is in the message."""


class ProcessExitedException(ProcessException):
    """A child was killed by a signal or exited with a non-zero code."""

    __slots__ = ["exit_code"]

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: Optional[str] = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self) -> Any:
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _wrap(fn: Any, i: int, args: tuple, error_queue: Any) -> None:
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent stopped us
    except Exception:
        import traceback
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    def __init__(self, processes: list, error_queues: list) -> None:
        self.error_queues = error_queues
        self.processes = processes
        self.sentinels = {process.sentinel: index for index, process in enumerate(processes)}

    def pids(self) -> list:
        return [int(process.pid) for process in self.processes]

    def join(self, timeout: Optional[float] = None) -> bool:
        """Joins the processes that have ended. If one failed, stops the others
        and raises its cause; returns whether all have been joined."""
        if len(self.sentinels) == 0:
            return True
        ready = multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout)
        error_index = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return len(self.sentinels) == 0
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
        failed_process = self.processes[error_index]
        if self.error_queues[error_index].empty():
            exitcode = failed_process.exitcode
            if exitcode < 0:
                name = signal.Signals(-exitcode).name
                raise ProcessExitedException(
                    "process %d terminated with signal %s" % (error_index, name),
                    error_index=error_index, error_pid=failed_process.pid, exit_code=exitcode,
                    signal_name=name)
            raise ProcessExitedException(
                "process %d terminated with exit code %d" % (error_index, exitcode),
                error_index=error_index, error_pid=failed_process.pid, exit_code=exitcode)
        original_trace = self.error_queues[error_index].get()
        msg = "\n\n-- Process %d terminated with the following error:\n" % error_index
        msg += original_trace
        raise ProcessRaisedException(msg, error_index, failed_process.pid)


class SpawnContext(ProcessContext):
    def __init__(self, processes: list, error_queues: list) -> None:
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.")
        super().__init__(processes, error_queues)


@contextlib.contextmanager
def daemon_environment() -> Iterator[None]:
    """While children start: $TENSORD_ADDR (and $TENSORD_TOKEN) name the daemon
    this process uses, so they join it rather than start embedded daemons."""
    from .. import _connection
    wanted = _connection.child_environment()
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_processes(fn: Any, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> Optional[ProcessContext]:
    mp = multiprocessing.get_context(start_method)
    error_queues = []
    processes = []
    with daemon_environment():
        for i in range(nprocs):
            error_queue = mp.SimpleQueue()
            process = mp.Process(target=_wrap, args=(fn, i, args, error_queue), daemon=daemon)
            process.start()
            error_queues.append(error_queue)
            processes.append(process)
    context = ProcessContext(processes, error_queues)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Any, args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn") -> Optional[ProcessContext]:
    """Runs fn(i, *args) for i in range(nprocs) in spawned processes."""
    if start_method != "spawn":
        msg = ("This method only supports start_method=spawn (got: %s).\n"
               "To use a different start_method use:\n\t\t"
               " torch.multiprocessing.start_processes(...)" % start_method)
        warnings.warn(msg)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
