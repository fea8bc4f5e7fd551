"""Where jobs run: one interface, two backends.

- `LocalExecutor` (default): up to `jobs` papermill subprocesses at once on this machine, each watched by a thread.
- `DaskExecutor`: each job is a task on a `dask.distributed` cluster (a LocalCluster, or `dask scheduler` and
  `dask worker` processes on other machines). The worker runs the same `execute` in its own checkout and sends back
  the executed notebook, results and log as bytes with their SHA-256; this machine checks the hashes, and the result's
  recorded inputs hash against its own, before recording anything.

`start(jobs)`, then `outcomes()` hands back `Outcome`s as jobs finish, with their files in a local staging folder;
`stop()` kills what runs (SIGTERM, then SIGKILL after a short grace), `kill()` at once, when a runner must exit now.
"""

import hashlib
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.runner.execute import execute, kill_running
from shared.runner.job import Job, Outcome

# what a worker sends back from its staging folder
RETURNED_FILES = ("executed.ipynb", "run.log", "results", "kernel-logs")


class Executor:
    """Runs jobs somewhere; finished ones come back through `outcomes()` with their `staging` folder on this machine.

    Jobs are started by `start`, then the caller polls `outcomes` from its own (main) thread, so that Ctrl-C always
    lands there and `stop` can kill what runs wherever it runs.
    """

    def __init__(self, staging_root: Path, papers_dir: Path, on_event: Callable | None = None):
        self.staging_root, self.papers_dir, self.on_event = staging_root, papers_dir, on_event
        self._stop = threading.Event()
        self._done: queue.Queue[Outcome] = queue.Queue()
        self.slots = 1  # jobs that run at once, for the ETA
        self.running = 0  # started or queued, not yet handed back

    def staging_for(self, job: Job) -> Path:
        return self.staging_root / f"{job.slug}.{job.profile}.{uuid.uuid4().hex[:8]}"

    def start(self, jobs: list[Job]) -> None:
        raise NotImplementedError

    def outcomes(self, timeout: float = 0.2) -> list[Outcome]:
        """Outcomes that arrived since the last call; waits up to `timeout` for the first."""
        out = []
        try:
            out.append(self._done.get(timeout=timeout))
            while True:
                out.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self.running -= len(out)
        return out

    def stop(self) -> None:
        """Kill running jobs and drop queued ones: they come back as `interrupted`."""
        self._stop.set()

    def kill(self) -> None:
        """After `stop`, for jobs that did not come back in time: SIGKILL what they run, from the calling thread."""

    def close(self) -> None:
        pass


class LocalExecutor(Executor):
    """Up to `jobs` notebooks at once on this machine; threads only wait on the papermill subprocesses."""

    def __init__(self, staging_root: Path, papers_dir: Path, jobs: int = 1, on_event: Callable | None = None):
        super().__init__(staging_root, papers_dir, on_event)
        self.slots = max(1, jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="job")

    def _one(self, job: Job) -> None:
        try:
            if self._stop.is_set():
                outcome = Outcome(job, "interrupted", message="not started")
            else:
                if self.on_event:
                    self.on_event(job, {"event": "submitted", "where": "local"})
                outcome = execute(job, self.staging_for(job), papers_dir=self.papers_dir, on_event=self.on_event,
                                  should_stop=self._stop.is_set, slots=self.slots)  # fmt: skip
        except Exception as e:  # a bug here must not lose the job: report it as the runner's failure
            outcome = Outcome(job, "failed", "runner-error", f"{type(e).__name__}: {e}")
        self._done.put(outcome)

    def start(self, jobs: list[Job]) -> None:
        self.running += len(jobs)
        for job in jobs:
            self.pool.submit(self._one, job)

    def kill(self) -> None:
        kill_running()

    def close(self) -> None:
        if self._stop.is_set() or self.running > 0:  # stopped, or left early: make sure before waiting on the threads
            self._stop.set()
            kill_running()
        self.pool.shutdown(wait=True, cancel_futures=True)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(staging: Path) -> dict[str, bytes]:
    """The files a worker returns, keyed by their path in the staging folder."""
    files = {}
    for name in RETURNED_FILES:
        path = staging / name
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for p in paths:
            files[str(p.relative_to(staging))] = p.read_bytes()
    return files


def remote_execute(job_dict: dict, stop_event: str | None = None, host_slots: dict | None = None) -> dict:
    """The Dask task: run one job in this worker's checkout and return its outcome and files (with hashes).

    The worker's own `shared.ROOT` is the checkout; the job names the paper by slug, never by a path of the submitting
    machine. Inputs are compared before anything runs, so a stale or different checkout fails fast, by name.
    """
    import shutil
    import tempfile

    from shared.paper import PAPERS_DIR, Paper
    from shared.provenance import sha256_json
    from shared.runner.freshness import explain

    job = Job.from_dict(job_dict)
    worker = _worker_name()
    paper = Paper(job.slug, PAPERS_DIR)
    here = paper.input_hashes(job.profile)
    if sha256_json(here) != job.inputs_hash:
        why = "; ".join(explain(paper, job.inputs, here, changed="differs", new="is an input only on the worker",
                                gone="is missing on the worker")) or "inputs differ"  # fmt: skip
        return {"status": "failed", "failure": "worker-mismatch", "worker": worker,
                "message": f"worker {worker} has other inputs than the submitting checkout: {why}"}  # fmt: skip
    should_stop = _stop_checker(stop_event)
    staging = Path(tempfile.mkdtemp(prefix=f"token-papers-{job.slug}-"))
    try:
        slots = _worker_slots(host_slots or {})
        outcome = execute(job, staging / "run", papers_dir=PAPERS_DIR, should_stop=should_stop, slots=slots,
                          on_event=_event_forwarder())  # fmt: skip
        files = pack(staging / "run")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"status": outcome.status, "failure": outcome.failure, "message": outcome.message, "cell": outcome.cell,
            "duration_s": outcome.duration_s, "worker": worker, "files": files,
            "sha256": {k: sha256_bytes(v) for k, v in files.items()}}  # fmt: skip


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        import socket

        return socket.gethostname()


def _worker_slots(host_slots: dict) -> int:
    """Jobs that can run at once on this worker's machine: all Dask worker threads on the host, as the submitter saw
    them (several `dask worker` processes may share one machine), else this worker's own threads."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    host = worker.address.split("://")[-1].rsplit(":", 1)[0]
    return max(1, host_slots.get(host) or worker.state.nthreads)


def _stop_checker(name: str | None) -> Callable[[], bool]:
    """Polls the submitter's stop flag (a `distributed.Event`) at most once a second."""
    if not name:
        return lambda: False
    import time

    from distributed import Event

    event, last = Event(name), {"t": 0.0, "set": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last["t"] >= 1.0:
            last["t"] = now
            try:
                last["set"] = event.is_set()
            except Exception:  # scheduler gone: the submitter is gone too, stop
                last["set"] = True
        return last["set"]

    return should_stop


def _event_forwarder() -> Callable | None:
    """Cell progress from a worker reaches the submitter's display through the scheduler's event log.

    The worker is looked up here, in the task's thread: the events themselves arrive on another thread, where
    `get_worker()` does not work (`Worker.log_event` itself is safe to call from any thread).
    """
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None

    def forward(job: Job, event: dict) -> None:
        try:
            worker.log_event("token-papers-progress", {"slug": job.slug, "profile": job.profile, **event})
        except Exception:  # progress is a nicety: never let it fail a run
            pass

    return forward


class DaskExecutor(Executor):
    """Jobs as tasks on a Dask cluster: `scheduler` is its address, or None for a LocalCluster of `jobs` workers."""

    def __init__(self, staging_root: Path, papers_dir: Path, scheduler: str | None = None, jobs: int = 1,
                 on_event: Callable | None = None):  # fmt: skip
        super().__init__(staging_root, papers_dir, on_event)
        from distributed import Client, Event, LocalCluster

        if scheduler:
            self.cluster, self.client = None, Client(scheduler, timeout=30)
        else:
            # one single-threaded worker process per job slot, like the local backend
            self.cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                        dashboard_address=None, host="127.0.0.1")  # fmt: skip
            self.client = Client(self.cluster)
        self.slots = max(1, sum(self.client.nthreads().values()))
        self.stop_name = f"token-papers-stop-{uuid.uuid4().hex}"
        self._event = Event(self.stop_name, client=self.client)
        self._by_key: dict[str, Job] = {}
        self._futures: dict = {}
        self.client.subscribe_topic("token-papers-progress", self._progress)

    def _progress(self, event) -> None:
        _, msg = event
        job = self._by_key.get(f"{msg.get('slug')} [{msg.get('profile')}]")
        if job is not None and self.on_event:
            self.on_event(job, {k: v for k, v in msg.items() if k not in ("slug", "profile")})

    def host_slots(self) -> dict[str, int]:
        """Worker threads per host, so each machine divides its own cores and memory between the jobs it runs."""
        slots: dict[str, int] = {}
        for w in self.client.scheduler_info(n_workers=-1)["workers"].values():
            slots[w["host"]] = slots.get(w["host"], 0) + w["nthreads"]
        return slots

    def start(self, jobs: list[Job]) -> None:
        futures = {}
        host_slots = self.host_slots()
        for job in jobs:
            self._by_key[job.key] = job
            fut = self.client.submit(remote_execute, job.to_dict(), self.stop_name, host_slots, pure=False,
                                     priority=int(job.expected_s),  # long jobs first: a shorter makespan
                                     key=f"papers-run-{job.slug}-{job.profile}-{uuid.uuid4().hex[:6]}")  # fmt: skip
            futures[fut] = job
            if self.on_event:
                self.on_event(job, {"event": "submitted", "where": "dask"})
        self.running += len(jobs)
        self._futures = futures
        threading.Thread(target=self._collect, args=(futures,), daemon=True, name="dask-collect").start()

    def _collect(self, futures: dict) -> None:
        from distributed import as_completed

        for fut in as_completed(list(futures)):
            job = futures[fut]
            if fut.cancelled() or self._stop.is_set() and fut.status != "finished":
                self._done.put(Outcome(job, "interrupted", message="stopped"))
                continue
            try:
                outcome = self._receive(job, fut.result())
            except Exception as e:  # the task itself failed: worker died, lost connection, ...
                outcome = Outcome(job, "failed", "runner-error", f"dask task failed: {type(e).__name__}: {e}")
            self._done.put(outcome)

    def _receive(self, job: Job, reply: dict) -> Outcome:
        """Check every returned file against the hash the worker sent, then put them in a local staging folder."""
        outcome = Outcome(job, reply["status"], reply.get("failure"), reply.get("message", ""), reply.get("cell"),
                          reply.get("duration_s", 0.0), worker=reply.get("worker"))  # fmt: skip
        files, hashes = reply.get("files") or {}, reply.get("sha256") or {}
        bad = sorted(set(files) ^ set(hashes)) + [n for n, data in files.items() if sha256_bytes(data) != hashes.get(n)]
        if bad:
            return Outcome(job, "failed", "worker-mismatch", f"files from {outcome.worker} fail their hash check: {bad}",
                           duration_s=outcome.duration_s, worker=outcome.worker)  # fmt: skip
        if not files:
            return outcome
        staging = self.staging_for(job)
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        outcome.staging = staging
        return outcome

    def stop(self) -> None:
        super().stop()
        try:
            self._event.set()  # running tasks see it within a second and kill their notebooks
            self.client.cancel([f for f in self._futures if f.status == "pending"])
        except Exception:
            pass

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
