"""Helpers for the runner tests: a sandbox project (see `shared.runner.sandbox`) with tiny papers that succeed, raise,
hang, blow their memory limit or kill their kernel, and ways to run the real `papers` command in it."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil

from shared.runner import sandbox

PAPERS = sandbox.bin_dir() / "papers"

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
    # slow_2024 sleeps while `hold` exists and records its kernel's pid: the interrupted-run test needs both
    add(root, "slow_2024", ["import os, time, pathlib\npathlib.Path('kernel.pid').write_text(str(os.getpid()))\n"
                            "while pathlib.Path('hold').exists():\n    time.sleep(0.2)"])  # fmt: skip
    (root / "papers" / "slow_2024" / "hold").touch()
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


def interrupt(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)
