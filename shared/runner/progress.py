"""What `papers run` shows while it works.

On a terminal: one overall bar (papers done of total, ETA from recorded durations) and, under it, the current cell of
each running notebook, redrawn in place. Elsewhere (CI, a log file): one plain, timestamped line per event, so that a log
reads top to bottom. Both are fed from the executor's threads, hence the lock.
"""

import shutil
import sys
import threading
import time

from shared.runner.job import Job, Outcome


def fmt_s(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Plain lines; `TerminalProgress` redraws a live block instead. `slots`: how many jobs run at once (for the ETA)."""

    def __init__(self, jobs: list[Job], slots: int, out=None):
        self.out = out or sys.stdout
        self.jobs, self.slots = {j.key: j for j in jobs}, max(1, slots)
        self.total, self.done, self.failed = len(jobs), 0, 0
        self.running: dict[str, dict] = {}  # key -> {"t0", "cell", "of"}
        self.finished_keys: set[str] = set()
        self.t0 = time.monotonic()
        self.lock = threading.Lock()

    # fed by executors (any thread)
    def event(self, job: Job, event: dict) -> None:
        kind = event.get("event")
        with self.lock:
            if kind == "started" and job.key not in self.running:
                self.running[job.key] = {"t0": time.monotonic(), "cell": None, "of": None}
                self.started(job)
            elif kind == "cell" and job.key in self.running:
                self.running[job.key].update(cell=event.get("cell"), of=event.get("of"))

    def finished(self, outcome: Outcome, detail: str) -> None:
        with self.lock:
            self.running.pop(outcome.job.key, None)
            self.finished_keys.add(outcome.job.key)
            self.done += 1
            self.failed += outcome.status == "failed"
            self.line(self._finished_text(outcome, detail))

    def note(self, text: str) -> None:
        with self.lock:
            self.line(text)

    def close(self) -> None:
        pass

    # rendering
    def eta_s(self) -> float:
        now = time.monotonic()
        queued = [j.expected_s for k, j in self.jobs.items() if k not in self.running and k not in self.finished_keys]
        left = sum(queued) + sum(max(0.0, self.jobs[k].expected_s - (now - r["t0"])) for k, r in self.running.items())
        return left / self.slots

    def started(self, job: Job) -> None:
        n = self.done + len(self.running)
        self.line(f"start   {job.key} ({n}/{self.total}, expected {fmt_s(job.expected_s)})")

    @staticmethod
    def _finished_text(outcome: Outcome, detail: str) -> str:
        label = {"ok": "ok     ", "failed": "FAILED ", "interrupted": "stopped"}[outcome.status]
        return f"{label} {outcome.job.key} {outcome.duration_s:.1f} s: {detail}"

    def line(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.out, flush=True)


class TerminalProgress(Progress):
    """Plain lines for what finished, plus a live block below them, redrawn a few times a second."""

    def __init__(self, jobs: list[Job], slots: int, out=None):
        super().__init__(jobs, slots, out)
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="progress")
        self._thread.start()

    def started(self, job: Job) -> None:
        pass  # the live block shows it

    def line(self, text: str) -> None:
        self._clear()
        super().line(text)
        self._draw()

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            with self.lock:
                self._clear()
                self._draw()

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        bar_w = 24
        filled = int(bar_w * self.done / max(1, self.total))
        failed = f", {self.failed} failed" if self.failed else ""
        lines = [f"[{'#' * filled}{'.' * (bar_w - filled)}] {self.done}/{self.total} papers{failed}  "
                 f"elapsed {fmt_s(time.monotonic() - self.t0)}  ETA {fmt_s(self.eta_s())}"]  # fmt: skip
        now = time.monotonic()
        for key, r in sorted(self.running.items()):
            where = f"cell {r['cell']}/{r['of']}" if r["cell"] else "starting kernel"
            lines.append(f"  > {key:<40} {where:<16} {fmt_s(now - r['t0'])}")
        text = "\n".join(line[: width - 1] for line in lines)
        self.out.write(text + "\n")
        self.out.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        with self.lock:
            self._clear()
            self.out.flush()


def make(jobs: list[Job], slots: int, mode: str = "auto", out=None) -> Progress:
    """`mode`: `auto` (live display on a terminal, plain lines elsewhere), `plain` or `tty`."""
    out = out or sys.stdout
    tty = mode == "tty" or (mode == "auto" and out.isatty() and not _dumb())
    return (TerminalProgress if tty else Progress)(jobs, slots, out)


def _dumb() -> bool:
    import os

    return os.environ.get("TERM", "") in ("", "dumb") or bool(os.environ.get("CI"))
