"""Where tasks run: in this process, in a local process pool, or on a Dask cluster; one copy for runs
and studies.

Every executor is a ``concurrent.futures.Executor``, so the code that hands out blocks or sweep
points is the same for all three, and the numbers never depend on which one ran them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from ..errors import SweepError

SCHEDULER_TIMEOUT = 10       # seconds to wait for a Dask scheduler to answer
PARENT_CHECK_SECONDS = 0.5   # how often a pool's worker looks for its parent


class InProcess(Executor):
    """Runs each task at submission, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to the caller through the future, as executors do
            future.set_exception(exc)
        # KeyboardInterrupt (Ctrl-C, or SIGTERM in the CLI) propagates at once, not one task later
        return future


def worker_init() -> None:
    """In a pool's worker: Ctrl-C reaches the whole process group, but only the parent handles it (a
    worker would print a traceback); SIGTERM ends a worker at once (the parent sends it when
    interrupted, and a handler inherited from the CLI would only raise inside the task); and a
    worker whose parent has died (killed outright) exits instead of waiting for work for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)  # the parent is gone: nobody will read what this process computes


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A local pool of ``workers`` processes, each set up by :func:`worker_init`."""
    return ProcessPoolExecutor(workers, initializer=worker_init)


def stop(executor: Executor) -> None:
    """Stop a pool's workers now rather than after the tasks they are running (an interrupted run)."""
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except Exception:  # already gone
            pass


@contextmanager
def executor_for(workers: int = 1, scheduler: str | None = None, *,
                 tasks: int | None = None) -> Iterator[tuple[Executor, int, str]]:
    """An executor, how many tasks to keep in flight on it, and its description.

    ``scheduler`` (``tcp://HOST:PORT``) uses that Dask cluster through ``Client.get_executor``;
    else ``workers`` > 1 a local process pool of at most ``tasks`` processes (an idle worker costs a
    process); else this process. On an exception (Ctrl-C included) a pool's workers are stopped at
    once. Raises :class:`SweepError` if Dask is missing or the scheduler cannot be reached.
    """
    if scheduler:
        with _dask(scheduler) as (ex, threads):
            yield ex, 2 * threads, f"dask {scheduler} ({threads} threads)"
        return
    workers = min(workers, tasks) if tasks is not None else workers
    if workers <= 1:
        yield InProcess(), 1, "in-process"
        return
    ex = process_pool(workers)
    finished = False
    try:
        yield ex, 2 * workers, f"{workers} processes"
        finished = True
    finally:
        if not finished:
            stop(ex)
        ex.shutdown(wait=finished, cancel_futures=True)


@contextmanager
def _dask(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'sim[dask]' (dask[distributed])") from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with _quiet_dask():  # closing a client whose scheduler is lost logs too
        try:
            threads = sum(client.nthreads().values()) or 1
            ex = client.get_executor(pure=False)
            try:
                yield ex, threads
            finally:
                ex.shutdown(wait=False)  # cancels what is still queued
        finally:
            client.close()


@contextmanager
def _quiet_dask():
    """Dask's client logs its attempts to reconnect to a lost scheduler, with tracebacks; the caller
    reports the failure in one line instead."""
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)

