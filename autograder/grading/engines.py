"""Where parallel grading runs: local worker processes or a Dask cluster.

`course autograde` hands each submission to an executor and records the
results itself (see `autograde.py`). Two executors are offered, both
standard `concurrent.futures.Executor`s, so the grading loop is the same:

- "processes": a `ProcessPoolExecutor` on this machine (the default). Its
  workers are forked from Python's "forkserver", which imports the grading
  code and, on a machine without a GPU, TensorFlow once for all of them
  (each worker's judge needs TensorFlow; importing it costs seconds of CPU
  per process). Outside Linux they are spawned;
- "dask": a Dask distributed cluster, through `Client.get_executor`. Without
  a scheduler address a `LocalCluster` of worker processes is started on
  this machine; with one (`tcp://host:8786`, or the path of a scheduler
  file), the submissions run wherever that cluster's workers are, e.g. on
  Slurm nodes started by dask-jobqueue. Workers need the same Python
  environment (this package, TensorFlow, nbgrader) but no shared files:
  each task carries the assignment and the submission as bytes and returns
  the executed notebooks as text.

No scheduling of our own is written here; Dask does that part.
"""

import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from autograder.grading.course import CourseSetupError
from autograder.grading.warm_kernels import gpu_present

PROCESSES = "processes"
DASK = "dask"
ENGINES = (PROCESSES, DASK)
CONNECT_TIMEOUT = "30s"
# What the forkserver imports before forking workers. TensorFlow only where
# no GPU is present: a GPU driver does not work in a process forked after it
# was loaded (the same rule as the warm kernel starter's).
WORKER_PRELOAD = ("autograder.grading.autograde", "autograder.grading.judge",
                  "nbgrader.apps.api")
WORKER_PRELOAD_WITHOUT_GPU = ("numpy", "tensorflow", "keras")


def default_workers():
    """How many submissions to grade at once by default: the CPU count."""
    return os.cpu_count() or 1


def check_engine(engine, scheduler=None):
    """Validate an engine name and scheduler address pair.

    Raises:
        ValueError: unknown engine, or a scheduler given for local processes.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not one of {', '.join(ENGINES)}; "
                         "use 'processes' for this machine or 'dask' for a Dask cluster.")
    if scheduler and engine != DASK:
        raise ValueError(f"a scheduler address ({scheduler}) needs engine='dask'; "
                         "pass --engine dask or leave out --scheduler.")


def import_distributed():
    try:
        import distributed
    except ImportError as error:
        raise CourseSetupError(
            "the dask engine needs Dask distributed, which is not installed "
            f"({error}). Install it with: pip install 'dl-course[cluster]'") from error
    return distributed


def connect(scheduler):
    """A Dask `Client` for a scheduler address or scheduler file."""
    distributed = import_distributed()
    try:
        if Path(scheduler).is_file():
            return distributed.Client(scheduler_file=str(scheduler), timeout=CONNECT_TIMEOUT)
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise CourseSetupError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(error).__name__}: "
            f"{error}). Check the address (e.g. tcp://host:8786) or the scheduler file, "
            "and that the scheduler is running.") from error


def wait_for_a_worker(client, scheduler):
    """Wait until the cluster has a worker (a Slurm job may still be queued).

    Raises:
        CourseSetupError: no worker joined within the connection timeout.
    """
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError as error:
        raise CourseSetupError(
            f"the Dask cluster at {scheduler} has no workers (none joined within "
            f"{CONNECT_TIMEOUT}). Start workers, or pass --workers N to queue N "
            "submissions while they start.") from error


def cluster_threads(client):
    """Total worker threads the cluster has right now (0 while it scales up)."""
    return sum(client.nthreads().values())


def describe_engine(engine, slots, scheduler=None):
    """One line for the log: where the kernels run."""
    if engine == PROCESSES:
        return f"{slots} worker processes on this machine"
    where = f"the Dask cluster at {scheduler}" if scheduler else "a local Dask cluster"
    return f"{where}, {slots} submissions at a time"


def worker_context():
    """The multiprocessing context local workers start from.

    Returns:
        A "forkserver" context with `WORKER_PRELOAD` set (and
        `WORKER_PRELOAD_WITHOUT_GPU` unless a GPU is present) on Linux, a
        "spawn" context elsewhere.

    Example:

    >>> worker_context().get_start_method() in ("forkserver", "spawn")
    True
    """
    # Forking after TensorFlow's import is only relied on under Linux, as
    # for the warm kernel starter.
    if (not sys.platform.startswith("linux")
            or "forkserver" not in multiprocessing.get_all_start_methods()):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    preload = list(WORKER_PRELOAD)
    if not gpu_present():
        preload = list(WORKER_PRELOAD_WITHOUT_GPU) + preload
    context.set_forkserver_preload(preload)
    return context


@contextlib.contextmanager
def open_executor(engine, workers=None, scheduler=None, initializer=None, initargs=()):
    """Open an executor for grading; yields `(executor, slots)`.

    Args:
        engine: "processes" or "dask".
        workers: Worker processes to start (local), or submissions to keep
            in flight on an existing cluster; None means the CPU count
            locally and the cluster's thread count on a cluster.
        scheduler: Dask scheduler address or scheduler-file path; None
            starts a local Dask cluster.
        initializer, initargs: Called as `initializer(*initargs)` in every
            local worker process when it starts ("processes" only).

    Yields:
        `(executor, slots)`: a `concurrent.futures.Executor` and how many
        submissions to have running at once.

    Example:

    >>> with open_executor("processes", workers=1) as (executor, slots):
    ...     executor.submit(pow, 2, 8).result(), slots
    (256, 1)
    """
    check_engine(engine, scheduler)
    if engine == PROCESSES:
        slots = workers or default_workers()
        with ProcessPoolExecutor(max_workers=slots, mp_context=worker_context(),
                                 initializer=initializer, initargs=initargs) as pool:
            yield pool, slots
        return
    distributed = import_distributed()
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(connect(scheduler))
            if not workers:
                wait_for_a_worker(client, scheduler)
            slots = workers or max(1, cluster_threads(client))
        else:
            slots = workers or default_workers()
            # One thread per worker process: each runs one kernel at a time.
            # No memory limit from Dask; the kernels have their own.
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=slots, threads_per_worker=1, processes=True, memory_limit=0,
                dashboard_address=":0"))
            client = stack.enter_context(distributed.Client(cluster))
        executor = client.get_executor(pure=False)
        try:
            yield executor, slots
        finally:
            executor.shutdown(wait=False)
