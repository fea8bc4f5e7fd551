"""Independent jobs (one small model trained per job) in parallel worker processes, with the numbers of a serial run.

A notebook that trains many tiny models one after another leaves a core idle on a 2-core machine. `map_jobs` runs
`fn(**job)` for every job in `workers` spawned processes at once, each configured as a project kernel configures
itself (`shared.kernel_init`: deterministic algorithms, warnings to the log file, the thread count of
`TOKEN_PAPERS_THREADS`), and returns the results in the order of `jobs`. Each job must seed everything it draws, so
that where it runs cannot change what it returns; `tests/test_parallel.py` checks that the results equal a serial
run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _run(payload: tuple[Callable[..., Any], dict]) -> Any:
    fn, job = payload
    from shared import kernel_init

    kernel_init.configure()
    return fn(**job)


def map_jobs(fn: Callable[..., Any], jobs: Sequence[dict], workers: int = 1) -> list[Any]:
    """`[fn(**job) for job in jobs]`, in `workers` processes at once when `workers > 1`.

    Args:
        fn: a module-level function (the worker imports it by name), e.g. a paper's `method.train_run`.
        jobs: keyword arguments of each call; everything in them must pickle.
        workers: processes at once; 1 runs the jobs here, one after the other.

    Raises:
        ValueError: `workers` below 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs = list(jobs)
    if workers == 1 or len(jobs) <= 1:
        return [fn(**job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_run, [(fn, job) for job in jobs]))
