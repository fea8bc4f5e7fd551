"""`shared.parallel.map_jobs`: the results of a serial run, in the order of the jobs, and a clear error for bad input."""

import pytest
import torch

from shared.parallel import map_jobs


def seeded_draw(seed: int, n: int) -> list[float]:
    """A job that seeds everything it draws (module-level, so that a spawned worker can import it)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=gen).tolist()


def test_workers_give_the_serial_results_in_job_order():
    jobs = [{"seed": s, "n": 4 + s} for s in (5, 1, 3)]
    serial = map_jobs(seeded_draw, jobs, workers=1)
    assert serial == [seeded_draw(**job) for job in jobs]
    assert map_jobs(seeded_draw, jobs, workers=2) == serial


def test_one_job_or_none_runs_here():
    assert map_jobs(seeded_draw, [], workers=2) == []
    assert map_jobs(seeded_draw, [{"seed": 0, "n": 2}], workers=2) == [seeded_draw(0, 2)]


def test_workers_below_one_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        map_jobs(seeded_draw, [{"seed": 0, "n": 1}], workers=0)
