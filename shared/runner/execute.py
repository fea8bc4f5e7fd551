"""Run one notebook in its own papermill subprocess and kernel, and say how it ended.

The subprocess (`shared.runner.child`) starts in a new session, so a Ctrl-C at the terminal reaches only the runner,
which then kills what it started. Jupyter starts the kernel in a session of its own, so "the process group" is really
the process tree: every descendant seen while the run goes on is remembered and killed with its group, even one whose
parent died first (a kernel orphaned by a crashed papermill, papermill#125).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from shared.paper import PAPERS_DIR
from shared.runner.job import Job, Outcome

POLL_S = 0.1  # how often the supervisor looks at the clock and the stop flag
MEMORY_POLL_S = 0.25  # how often it sums the tree's resident memory
GiB = 1024**3


def default_threads(slots: int) -> int:
    """BLAS threads per kernel: the cores divided between the jobs that run at once, so they never oversubscribe.

    `TOKEN_PAPERS_THREADS` in the runner's (or a Dask worker's) environment wins: the machine's owner knows best.
    """
    explicit = os.environ.get("TOKEN_PAPERS_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    return max(1, (os.cpu_count() or 1) // max(1, slots))


def default_memory_bytes(slots: int) -> int:
    """Memory limit per run: 90% of this machine's RAM divided between the jobs that run at once."""
    return int(psutil.virtual_memory().total * 0.9 / max(1, slots))


class ProcessTree:
    """Every process below `root`, remembered once seen, so that orphans can still be found and killed."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {pid: self.root}

    def refresh(self) -> list[psutil.Process]:
        try:
            for p in self.root.children(recursive=True):
                self.known.setdefault(p.pid, p)
        except psutil.NoSuchProcess:
            pass
        return [p for p in self.known.values() if _alive(p)]

    def rss(self) -> int:
        total = 0
        for p in self.refresh():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def kill(self) -> None:
        """SIGKILL every process of the tree and the process groups they lead (kernels start their own)."""
        procs = self.refresh()
        own = os.getpgrp()
        for p in procs:
            try:
                pgid = os.getpgid(p.pid)
                if pgid != own and pgid == p.pid:
                    os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)

    def leftovers(self) -> list[psutil.Process]:
        return [p for p in self.known.values() if p is not self.root and _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class EventReader(threading.Thread):
    """Reads the child's JSON-lines events; remembers the current cell and passes each event on."""

    def __init__(self, fd: int, job: Job, on_event: Callable | None):
        super().__init__(daemon=True, name=f"events-{job.slug}")
        self.fd, self.job, self.on_event = fd, job, on_event
        self.cell: int | None = None

    def run(self) -> None:
        with os.fdopen(self.fd, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event.get("event") == "cell":
                    self.cell = event.get("cell")
                if self.on_event:
                    self.on_event(self.job, event)


def child_env(job: Job, staging: Path, event_fd: int, slots: int) -> dict:
    env = dict(os.environ)
    env.update(
        TOKEN_PAPERS_THREADS=str(job.threads or default_threads(slots)),
        TOKEN_PAPERS_OUTPUT_DIR=str(staging / "results"),
        TOKEN_PAPERS_LOG_DIR=str(staging / "kernel-logs"),
        TOKEN_PAPERS_EVENT_FD=str(event_fd),
        PYTHONUNBUFFERED="1",
    )
    return env


def execute(job: Job, staging: Path, *, papers_dir: Path = PAPERS_DIR, on_event: Callable | None = None,
            should_stop: Callable[[], bool] = lambda: False, slots: int = 1) -> Outcome:  # fmt: skip
    """Run `job` with its files in `staging` (created here): `executed.ipynb`, `results/`, `run.log`, `outcome.json`.

    Returns when the child has ended and nothing it started is left running.
    """
    paper_dir = papers_dir / job.slug
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "results").mkdir(exist_ok=True)
    spec = {
        "input": str(paper_dir / f"{job.slug}.ipynb"),
        "output": str(staging / "executed.ipynb"),
        "outcome": str(staging / "outcome.json"),
        "parameters": job.parameters,
        "kernel": job.kernel,
        "cwd": str(paper_dir),
        "start_timeout": 120,
    }
    (staging / "spec.json").write_text(json.dumps(spec, indent=1))
    limit = job.memory_bytes or default_memory_bytes(slots)
    read_fd, write_fd = os.pipe()
    t0 = time.monotonic()
    with open(staging / "run.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.runner.child", str(staging / "spec.json")],
            cwd=paper_dir, env=child_env(job, staging, write_fd, slots), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, pass_fds=(write_fd,), start_new_session=True,
        )  # fmt: skip
    os.close(write_fd)
    reader = EventReader(read_fd, job, on_event)
    reader.start()
    tree = ProcessTree(proc.pid)
    try:
        reason, peak = supervise(proc, tree, job.timeout_s, limit, should_stop, t0)
    except BaseException:
        tree.kill()
        proc.wait()
        raise
    if reason:
        tree.kill()
    proc.wait()
    if tree.leftovers():  # a kernel whose papermill died without shutting it down
        tree.kill()
    reader.join(timeout=5)
    outcome = classify(job, staging, reason, reader.cell, proc.returncode, peak, limit)
    outcome.duration_s = round(time.monotonic() - t0, 2)
    outcome.staging = staging
    return outcome


def supervise(proc, tree: ProcessTree, timeout_s: float, limit: int, should_stop, t0: float) -> tuple[str | None, int]:
    """Wait for the child; return why it must be killed (`timeout`, `memory`, `stop`) or None, and the peak memory."""
    peak, next_memory_check = 0, 0.0
    while proc.poll() is None:
        now = time.monotonic()
        if should_stop():
            return "stop", peak
        if now - t0 > timeout_s:
            return "timeout", peak
        if now >= next_memory_check:
            rss = tree.rss()
            peak = max(peak, rss)
            if rss > limit:
                return "memory", peak
            next_memory_check = now + MEMORY_POLL_S
        time.sleep(POLL_S)
    return None, peak


def _in_cell(cell: int | None) -> str:
    return f"in cell {cell}" if cell else "before the first cell (kernel start)"


def classify(job: Job, staging: Path, reason: str | None, cell: int | None, returncode: int, peak: int,
             limit: int) -> Outcome:  # fmt: skip
    """Turn how the child ended into one of `FAILURES`, with a message that says where and why."""

    def fail(kind: str, msg: str, at: int | None = cell) -> Outcome:
        return Outcome(job, "failed", kind, msg, at)

    if reason == "stop":
        return Outcome(job, "interrupted", None, f"interrupted {_in_cell(cell)}", cell)
    if reason == "timeout":
        return fail("timeout", f"timeout {_in_cell(cell)} after {job.timeout_s:g} s")
    if reason == "memory":
        return fail(
            "out-of-memory", f"out of memory {_in_cell(cell)}: {peak / GiB:.2f} GiB > limit {limit / GiB:.2f} GiB"
        )
    try:
        result = json.loads((staging / "outcome.json").read_text())
    except (OSError, json.JSONDecodeError):
        how = f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        return fail("runner-error", f"papermill process ended ({how}) without saying how the run went; see its log")
    status, at = result["status"], result.get("cell", cell)
    if status == "ok":
        if not (staging / "results" / f"{job.profile}.json").exists():
            return fail("no-results", f"the notebook finished without writing results/{job.profile}.json "
                        "(its last cell must call run.finish)", None)  # fmt: skip
        return Outcome(job, "ok")
    if status == "cell-error":
        ename, evalue = result.get("ename", "Exception"), (result.get("evalue") or "").strip().splitlines()
        detail = f"{ename}: {evalue[0]}" if evalue else ename
        if ename == "PaperError":
            return fail("bad-parameters", f"bad parameters {_in_cell(at)}: {detail}", at)
        if ename == "MemoryError":
            return fail("out-of-memory", f"out of memory {_in_cell(at)}: {detail}", at)
        return fail("cell-error", f"cell error {_in_cell(at)}: {detail}", at)
    if status == "kernel-died":
        hint = f"; memory had reached {peak / GiB:.2f} GiB of {limit / GiB:.2f}" if peak > 0.8 * limit else ""
        return fail("kernel-died", f"kernel died {_in_cell(at)}{hint}", at)
    if status == "timeout":
        return fail("timeout", f"timeout {_in_cell(at)}: {result.get('message', '')}".rstrip(": "), at)
    if status == "missing-kernel":
        return fail("missing-kernel", f"{result['message']}: install the project kernels with `make setup` "
                    "(jupyter kernelspec install --sys-prefix kernels/<name>)", None)  # fmt: skip
    return fail("runner-error", f"{result.get('ename', 'error')}: {result.get('evalue', '')} {_in_cell(at)}", at)
