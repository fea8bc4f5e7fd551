"""Run one notebook in its own papermill subprocess and kernel, and say how it ended.

The subprocess (`shared.runner.child`) starts in a new session, so a Ctrl-C at the terminal reaches only the runner,
which then kills what it started. Jupyter starts the kernel in a session of its own, so "the process group" is really
the process tree: every descendant seen while the run goes on is remembered and killed with its group, even one whose
parent died first (a kernel orphaned by a crashed papermill, papermill#125). A kill is bounded in time: SIGTERM, then
SIGKILL after `TERM_GRACE_S`, and no wait for an orphan's zombie to be reaped (a container's PID 1 may take its time).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from shared.paper import PAPERS_DIR
from shared.runner import IPC_DIR_ENV
from shared.runner.job import Job, Outcome

POLL_S = 0.1  # how often the supervisor looks at the clock and the stop flag
MEMORY_POLL_S = 0.25  # how often it sums the tree's resident memory
TERM_GRACE_S = 2.0  # after SIGTERM, how long a tree may take to exit before SIGKILL
KILL_WAIT_S = 1.0  # after SIGKILL, how long to wait for the processes to be gone (more only in uninterruptible I/O)
GiB = 1024**3

# the trees of the runs going on in this process, for `kill_running`
_running: set["ProcessTree"] = set()
_running_lock = threading.Lock()


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
        self._lock = threading.Lock()  # the supervising thread and a runner's last-resort kill may both look

    def refresh(self) -> list[psutil.Process]:
        try:
            children = self.root.children(recursive=True)
        except psutil.Error:
            children = []
        with self._lock:
            for p in children:
                self.known.setdefault(p.pid, p)
            procs = list(self.known.values())
        return [p for p in procs if _alive(p)]

    def rss(self) -> int:
        total = 0
        for p in self.refresh():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def freeze(self) -> list[psutil.Process]:
        """SIGSTOP the tree, again until no new process shows up: a stopped process starts no other, so a kill that
        follows cannot miss a kernel that papermill launched a moment before (and that its death would orphan)."""
        stopped: set[int] = set()
        for _ in range(10):
            new = [p for p in self.refresh() if p.pid not in stopped]
            if not new:
                break
            _signal(new, signal.SIGSTOP)
            stopped.update(p.pid for p in new)
        return self.refresh()

    def kill(self, grace_s: float = TERM_GRACE_S) -> None:
        """Stop every process of the tree and of the process groups they lead (kernels start their own): SIGTERM,
        then SIGKILL to what is left after `grace_s` (at once if 0). Returns within about `grace_s + KILL_WAIT_S`."""
        try:
            procs = self.freeze()
            if grace_s > 0 and procs:
                _signal(procs, signal.SIGTERM)
                _signal(procs, signal.SIGCONT)  # a stopped process acts on SIGTERM only once it runs again
                _wait_gone(procs, grace_s)
        finally:
            procs = self.freeze()  # whatever a SIGTERM handler started meanwhile
            _signal(procs, signal.SIGKILL)
        _wait_gone(procs, KILL_WAIT_S)

    def leftovers(self) -> list[psutil.Process]:
        return [p for p in self.refresh() if p is not self.root]


def kill_running() -> None:
    """SIGKILL every run this process has going, all at once: the last resort of a runner that must exit now."""
    with _running_lock:
        trees = list(_running)
    procs = [p for tree in trees for p in tree.freeze()]
    _signal(procs, signal.SIGKILL)
    _wait_gone(procs, KILL_WAIT_S)


def _signal(procs: list[psutil.Process], sig: int) -> None:
    """`sig` to each process, and to each process group one of them leads (its members not seen yet included); never
    to the runner's own group."""
    own = os.getpgrp()
    for p in procs:
        try:
            pgid = os.getpgid(p.pid)
            if pgid == p.pid and pgid != own:
                os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.send_signal(sig)
        except psutil.Error:
            pass


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to `timeout` for `procs` to end (a zombie has ended); return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _alive(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


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


def child_env(job: Job, staging: Path, event_fd: int, slots: int, ipc_dir: str = "") -> dict:
    env = dict(os.environ)
    # a run records results; only CI's notebook tests hold a re-execution to the committed record (shared.rerun)
    env.pop("TOKEN_PAPERS_RERUN_CONTRACT", None)
    env.update(
        TOKEN_PAPERS_THREADS=str(job.threads or default_threads(slots)),
        TOKEN_PAPERS_OUTPUT_DIR=str(staging / "results"),
        TOKEN_PAPERS_LOG_DIR=str(staging / "kernel-logs"),
        TOKEN_PAPERS_EVENT_FD=str(event_fd),
        PYTHONUNBUFFERED="1",
    )
    if ipc_dir:
        env[IPC_DIR_ENV] = ipc_dir
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
    # the kernel's Unix sockets (shared.runner.kernels) live here, short enough for a socket path, and go with it
    ipc_dir = tempfile.mkdtemp(prefix="tpk-run-")
    t0 = time.monotonic()
    try:
        with open(staging / "run.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "shared.runner.child", str(staging / "spec.json")],
                cwd=paper_dir, env=child_env(job, staging, write_fd, slots, ipc_dir), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,), start_new_session=True,
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        raise
    os.close(write_fd)
    reader = EventReader(read_fd, job, on_event)
    reader.start()
    tree = ProcessTree(proc.pid)
    with _running_lock:
        _running.add(tree)
    try:
        try:
            reason, peak = supervise(proc, tree, job.timeout_s, limit, should_stop, t0)
        except BaseException:
            tree.kill()
            _reap(proc)
            raise
        if reason:
            # over its memory limit a run may take the machine down within a grace period: no SIGTERM first
            tree.kill(grace_s=0 if reason == "memory" else TERM_GRACE_S)
            _reap(proc)
        else:
            proc.wait()
            if tree.leftovers():  # a kernel whose papermill died without shutting it down
                tree.kill()
    finally:
        with _running_lock:
            _running.discard(tree)
        shutil.rmtree(ipc_dir, ignore_errors=True)
    # after a kill, the cell reached is known already: do not wait long for the end of the event pipe
    reader.join(timeout=1 if reason else 5)
    outcome = classify(job, staging, reason, reader.cell, proc.returncode, peak, limit)
    outcome.duration_s = round(time.monotonic() - t0, 2)
    outcome.staging = staging
    return outcome


def _reap(proc: subprocess.Popen) -> None:
    try:
        proc.wait(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:  # stuck in uninterruptible I/O even after SIGKILL: reaped when it ends
        pass


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


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # papermill's own log lines (see `shared.runner.child`)


def kernel_last_words(log: Path, limit: int = 240) -> str:
    """The last line a kernel wrote to stderr before it died at start (`ZMQError: Address already in use`, a bad
    setting): the run log's last line that is neither papermill's logging nor a traceback frame. Empty if none."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        text = line.strip()
        if text and not _LOG_LINE.match(line) and not line.startswith((" ", "\t", "Traceback ")) and text != "^":
            return text[:limit]
    return ""


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
        if at is None and (said := kernel_last_words(staging / "run.log")):
            hint += f"; its last words: {said}"
        return fail("kernel-died", f"kernel died {_in_cell(at)}{hint}", at)
    if status == "timeout":
        return fail("timeout", f"timeout {_in_cell(at)}: {result.get('message', '')}".rstrip(": "), at)
    if status == "missing-kernel":
        return fail("missing-kernel", f"{result['message']}: install the project kernels with `make setup` "
                    "(jupyter kernelspec install --sys-prefix kernels/<name>)", None)  # fmt: skip
    return fail("runner-error", f"{result.get('ename', 'error')}: {result.get('evalue', '')} {_in_cell(at)}", at)
