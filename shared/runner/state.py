"""What the runner remembers between runs, and the lock that keeps two runners apart.

Results themselves live in `papers/<slug>/results/<profile>.json` (committed) and say which inputs they came from;
`.runner/state.json` (not committed) adds what a result file cannot: the last *attempt*, failed or interrupted,
with its duration and failure class, so that `papers status` can say "failed: timeout in cell 7 after 120 s".
"""

import datetime as dt
import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

from shared import ROOT


def runner_dir(root: Path = ROOT) -> Path:
    return root / ".runner"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    """`.runner/state.json`: `{"<slug>/<profile>": {status, failure, message, duration_s, finished_utc, ...}}`.

    Only the process holding the run lock writes it, always whole and atomically.
    """

    def __init__(self, root: Path = ROOT):
        self.path = runner_dir(root) / "state.json"
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            self.data = {}

    def get(self, slug: str, profile: str) -> dict | None:
        return self.data.get(f"{slug}/{profile}")

    def put(self, slug: str, profile: str, attempt: dict) -> None:
        self.data[f"{slug}/{profile}"] = {**attempt, "finished_utc": utc_now()}
        from shared.results import write_json_atomic

        write_json_atomic(self.path, self.data)


class RunnerBusy(Exception):
    """Another runner holds the lock on this checkout."""


class RunLock:
    """An exclusive `flock` on `.runner/lock`; the holder writes who it is into the file, for the message others get.

    The kernel drops the lock when the holder dies, however it dies, so a crashed runner never blocks the next one.
    """

    def __init__(self, root: Path = ROOT):
        self.path = runner_dir(root) / "lock"
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunnerBusy(
                f"another runner is working in this checkout ({holder}); wait for it to finish or stop it, "
                f"then run again (lock: {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {utc_now()}: {' '.join(sys.argv[:1] + sys.argv[1:])}".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def staging_root(root: Path = ROOT) -> Path:
    return runner_dir(root) / "staging"


def clear_staging(root: Path = ROOT) -> None:
    """Remove what an earlier, killed runner left half-done. Called only while holding the lock."""
    shutil.rmtree(staging_root(root), ignore_errors=True)
