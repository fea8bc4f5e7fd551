"""Helpers for the runner tests: a sandbox project (see `shared.runner.sandbox`) with tiny papers that succeed, raise,
hang, blow their memory limit or kill their kernel, and ways to run the real `papers` command in it."""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from shared.runner import sandbox

PAPERS = sandbox.bin_dir() / "papers"
SLOW = ("slow_2024", "slow2_2024")
SLOW_CELL = """import os, pathlib, subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c", "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                           "time.sleep(600)"], start_new_session=True)
pathlib.Path("kernel.pid.tmp").write_text(f"{os.getpid()} {helper.pid}")
os.replace("kernel.pid.tmp", "kernel.pid")
while pathlib.Path("hold").exists():
    time.sleep(0.2)
helper.kill()"""

KV = """
from shared.fixture_base import BASE


def double(n):
    return BASE * n
"""


def build_project(root: Path) -> Path:
    sandbox.make_project(root)
    sandbox.write_module(root, "fixture_base", "BASE = 2\n")
    sandbox.write_module(root, "fixture_kv", KV)
    sandbox.write_module(root, "fixture_other", "UNUSED = 1\n")
    add = sandbox.add_paper
    add(root, "ok_2024", ["from shared.fixture_kv import double\nx = double(N)\nprint(x)"], parameters={"N": 3},
        profiles={"full": {"PROFILE": "full", "N": 30}}, value="x")  # fmt: skip
    add(root, "boom_2024", ['raise ValueError("boom")'], results=False)
    add(root, "hang_2024", ["import time\ntime.sleep(600)"], results=False, meta={"timeout_s": 40})
    add(root, "oom_2024", ["import numpy as np, time\nheld = []\nfor _ in range(120):\n"
                           "    held.append(np.ones(50_000_000, dtype=np.uint8))\n    time.sleep(0.02)"], results=False)  # fmt: skip
    add(root, "die_2024", ["import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"], results=False)
    add(root, "badparams_2024", ["pass"], results=False, profiles={"full": {"PROFILE": "full", "NOPE": 1}})
    # the slow papers sleep while `hold` exists, for the interrupted-run tests, with a helper process in a session of
    # its own that ignores SIGTERM (a server the notebook started, a worker stuck in native code): only the runner's
    # SIGKILL ends it. `kernel.pid` holds the pids of both.
    for slug in SLOW:
        add(root, slug, [SLOW_CELL])
        (root / "papers" / slug / "hold").touch()
    add(root, "after_2024", ["y = 1"])
    add(root, "third_2024", ["z = 1"])
    sandbox.run_quiet(["git", "add", "-A"], root)
    sandbox.run_quiet(["git", "commit", "-qm", "sandbox"], root)
    return root


def papers(root: Path, *args: str, timeout: float = 240, **env) -> subprocess.CompletedProcess:
    """Run the real `papers` command with `root` as the project."""
    return subprocess.run([str(PAPERS), *args], cwd=root, env=sandbox.env(root, **env), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def start_papers(root: Path, *args: str) -> subprocess.Popen:
    """`papers` in the background, as its own process group (like a foreground job a terminal sends Ctrl-C to)."""
    return subprocess.Popen([str(PAPERS), *args], cwd=root, env=sandbox.env(root), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip


def state(root: Path) -> dict:
    return json.loads((root / ".runner" / "state.json").read_text())


def processes_under(root: Path) -> list[psutil.Process]:
    """Processes whose working directory is inside `root`: kernels and papermill children that were left behind."""
    found = []
    for p in psutil.process_iter(["cwd", "pid"]):
        try:
            cwd = p.info["cwd"]
        except psutil.Error:
            continue
        if cwd and Path(cwd).is_relative_to(root) and p.pid != os.getpid():
            found.append(p)
    return found


class Lines(threading.Thread):
    """Collects a background process's output lines as they come, so a test can wait for one."""

    def __init__(self, proc: subprocess.Popen):
        super().__init__(daemon=True)
        self.proc, self.lines = proc, []
        self.start()

    def run(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines):
                return
            if self.proc.poll() is not None and not self.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line with {needle!r} within {timeout} s; output so far:\n" + self.text())

    def text(self) -> str:
        return "\n".join(self.lines)


class Descendants:
    """Every process below `pid` ever seen: a kernel whose papermill died is an orphan, found then only by memory."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}

    def alive(self) -> list[psutil.Process]:
        """Those still running (a zombie has ended: its parent, or PID 1, only has to reap it)."""
        for p in [self.root, *self.seen.values()]:
            try:
                for child in p.children(recursive=True):
                    self.seen.setdefault(child.pid, child)
            except psutil.Error:
                pass
        return [p for p in self.seen.values() if _running(p)]


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def time_to_exit(proc: subprocess.Popen, sig: int, limit: float = 60.0) -> tuple[float, list[psutil.Process]]:
    """Send `sig` to `proc`'s process group (a terminal's Ctrl-C, or `kill`); return the seconds until `proc` has
    exited and none of its descendants runs, and what still runs when `limit` passes first."""
    tree = Descendants(proc.pid)
    tree.alive()
    t0 = time.monotonic()
    os.killpg(proc.pid, sig)
    while True:
        left = tree.alive()
        elapsed = time.monotonic() - t0
        if proc.poll() is not None and not left or elapsed > limit:
            return elapsed, left
        time.sleep(0.05)


BURN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass"


@contextlib.contextmanager
def cpu_burners(n: int, seconds: float = 90.0):
    """`n` processes that keep a core busy each, for at most `seconds`: a loaded machine."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN, str(seconds)]) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()
