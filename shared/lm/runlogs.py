"""Stored outputs of small training runs (probe curves, end-of-training statistics), keyed by their settings and code.

A claim about training dynamics reads a trajectory (when the attention froze, how fast the loss fell), which the final
weights alone cannot give back. When a default run cannot retrain every model inside its budget, the paper ships the
runs' outputs instead: `cached_map` runs `fn(**job)` only for the jobs whose output is not in the store, adds those
outputs to it, and returns every job's output in order. The recorded run that first trains them writes the store;
every later run reads it (delete the file, or pass `train="always"`, to retrain).

Each output is keyed by the job's settings, the function's name and a code fingerprint that the caller passes (for
a family model: `shared.lm.family.code_version()` and the paper's `method.py`, see `code_fingerprint`), so that a
change to the engine or to the paper's method retrains instead of reusing stale outputs silently. The store is one
gzip-compressed JSON file, written with fixed bytes for fixed contents (sorted keys, no gzip time stamp), and saved
after every chunk of jobs, so that an interrupted run keeps what it trained.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FORMAT = 1
TRAIN_MODES = ("missing", "always", "never")


def code_fingerprint(*files: str | os.PathLike) -> str:
    """A short hash of the bytes of `files` (source files whose change must invalidate stored outputs)."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:12]


def job_key(fn: Callable, job: dict, code: str) -> str:
    """The store key of `fn(**job)`: a hash of the function's name, the job's settings (non-JSON values, such as a task
    dataclass, by their `repr`) and the code fingerprint."""
    blob = json.dumps({"fn": f"{fn.__module__}.{fn.__qualname__}", "job": job, "code": code}, sort_keys=True,
                      default=repr)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_store(path: str | os.PathLike) -> dict[str, Any]:
    """The stored outputs at `path` by key (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    with gzip.open(path, "rt") as f:
        data = json.load(f)
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: run-log format {data.get('format')!r}, this code reads {FORMAT}; retrain "
                         "(train='always')")  # fmt: skip
    return data["runs"]


def save_store(path: str | os.PathLike, runs: dict[str, Any]) -> None:
    """Write `runs` to `path` atomically (a temporary file, then a rename), with fixed bytes for fixed contents."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"format": FORMAT, "runs": runs}, sort_keys=True, separators=(",", ":")).encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(blob)
    tmp.replace(path)


def _jsonable(out: Any) -> Any:
    """`out` as it reads back from the store (tuples become lists, non-finite floats stay floats)."""
    return json.loads(json.dumps(out))


def cached_map(fn: Callable[..., Any], jobs: Sequence[dict], path: str | os.PathLike, *, code: str,
               train: str = "missing", workers: int = 1, chunk: int = 20,
               log: Callable[[str], None] | None = print) -> tuple[list[Any], int]:  # fmt: skip
    """`[fn(**job) for job in jobs]`, reading the outputs stored at `path` and training (in `workers` processes, by
    `shared.parallel.map_jobs`) only the jobs not stored there.

    Args:
        fn: a module-level function returning JSON-serialisable output (dicts, lists, numbers, strings, None).
        jobs: keyword arguments of each call.
        path: the store (`.json.gz`); created or extended when anything is trained.
        code: the code fingerprint that keys every output (see `code_fingerprint`).
        train: "missing" (train what is not stored), "always" (retrain every job; the store is rewritten with only
            these jobs' outputs) or "never" (an error if anything is missing: a run that must evaluate what was shipped).
        chunk: jobs trained between two saves of the store (progress is logged after each).

    Returns:
        tuple: the outputs in the order of `jobs` (as they read back from the store), and how many were trained here.

    Raises:
        ValueError: an unknown `train` mode; `train="never"` with jobs missing from the store.
    """
    from shared.parallel import map_jobs

    if train not in TRAIN_MODES:
        raise ValueError(f"train={train!r}; choose one of {TRAIN_MODES}")
    keys = [job_key(fn, job, code) for job in jobs]
    stored = {} if train == "always" else load_store(path)
    first = {k: keys.index(k) for k in dict.fromkeys(keys)}  # a job listed twice is trained once
    todo = [i for k, i in first.items() if k not in stored]
    if todo and train == "never":
        raise ValueError(f"{len(todo)} of {len(jobs)} runs are not in {path} (trained under other settings or code?); "
                         "run with train='missing' to train them")  # fmt: skip
    if todo and log:
        log(f"training {len(todo)} of {len(jobs)} runs ({workers} at a time); the others come from {Path(path).name}")
    t0 = time.perf_counter()
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        for i, out in zip(part, map_jobs(fn, [jobs[i] for i in part], workers=workers)):
            stored[keys[i]] = _jsonable(out)
        save_store(path, stored)
        done = start + len(part)
        if log:
            eta = (time.perf_counter() - t0) / done * (len(todo) - done)
            log(f"  {done}/{len(todo)} trained, {time.perf_counter() - t0:.0f} s, about {math.ceil(eta)} s left")
    return [stored[k] for k in keys], len(todo)
