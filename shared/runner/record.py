"""Put a finished run's files in place, or keep a failed run's notebook where people will look for it.

Nothing is ever written in place: a run writes into its staging folder (`.runner/staging/...`, the same file system as
the paper), and only a run that succeeded and whose result still describes the current inputs is moved into the paper
folder, one `os.replace` per file, the results file last (it is what makes the paper fresh). Ctrl-C is held back while
that happens, so an interrupted runner never leaves a paper half-updated.
"""

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

from shared.paper import Paper
from shared.runner.freshness import explain
from shared.runner.job import Outcome

_deferring = threading.local()


class Held:
    """The signals a `deferred_interrupts` block holds back, so that a long block can cut itself short."""

    def __init__(self):
        self.received: list[int] = []
        self.first_at: float | None = None  # time.monotonic() of the first

    def __call__(self, signum, frame) -> None:
        self.received.append(signum)
        if self.first_at is None:
            self.first_at = time.monotonic()

    def held_for(self, seconds: float) -> bool:
        """True once the first signal has waited `seconds`: time to stop what the block is doing."""
        return self.first_at is not None and time.monotonic() - self.first_at >= seconds


@contextlib.contextmanager
def deferred_interrupts():
    """Hold SIGINT and SIGTERM until the block is done, then raise KeyboardInterrupt if one came; yields the `Held`
    signals.

    Nested blocks leave the signals to the outermost one, so an inner block never cuts an outer one short.
    """
    outer = getattr(_deferring, "held", None)
    if outer is not None or threading.current_thread() is not threading.main_thread():
        yield outer or Held()
        return
    held = Held()
    old = {s: signal.signal(s, held) for s in (signal.SIGINT, signal.SIGTERM)}
    _deferring.held = held
    try:
        yield held
    finally:
        _deferring.held = None
        for s, handler in old.items():
            signal.signal(s, handler)
        if held.received:
            raise KeyboardInterrupt


def runs_dir(paper: Paper, profile: str) -> Path:
    return paper.dir / "runs" / profile


def failed_notebook_path(paper: Paper, profile: str) -> Path:
    return runs_dir(paper, profile) / f"FAILED-{paper.slug}.ipynb"


def verify(outcome: Outcome, paper: Paper, current_hash: str) -> Outcome:
    """A successful run is recorded only if its results file is valid and describes the inputs as they are now."""
    from shared.results import ResultsError, load

    job, path = outcome.job, outcome.staging / "results" / f"{outcome.job.profile}.json"

    def fail(kind: str, msg: str) -> Outcome:
        return Outcome(job, "failed", kind, msg, None, outcome.duration_s, outcome.staging, outcome.worker)

    try:
        record = load(path)
    except ResultsError as e:
        return fail("invalid-results", str(e).replace(str(path), f"results/{job.profile}.json"))
    if record["slug"] != job.slug or record["profile"] != job.profile:
        return fail("invalid-results", f"results file is for {record['slug']} [{record['profile']}], not {job.key}")
    recorded = record["provenance"]
    if recorded["inputs_hash"] != job.inputs_hash:
        why = "; ".join(explain(paper, job.inputs, recorded.get("inputs") or {}, changed="changed")) or "inputs differ"
        if outcome.worker:
            return fail("worker-mismatch", f"worker {outcome.worker} ran other inputs than this checkout's ({why})")
        return fail("inputs-changed", f"inputs changed during the run ({why}): not recorded, run it again")
    if current_hash != job.inputs_hash:
        return fail("inputs-changed", "inputs changed during the run: not recorded, run it again")
    return outcome


def _readable(path: Path) -> Path:
    """Staged files are created private (mkstemp); published ones get the usual permissions (umask applied)."""
    umask = os.umask(0)
    os.umask(umask)
    targets = [path, *path.rglob("*")] if path.is_dir() else [path]
    for p in targets:
        if p.exists():
            os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~umask)
    return path


def _replace_dir(src: Path, dst: Path) -> None:
    """`dst` becomes `src` (or disappears when there is no `src`): two renames, never a half-filled folder."""
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.rename(dst, old)
    if src.exists():
        os.rename(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def _log_with_kernel_warnings(staging: Path) -> Path:
    log = staging / "run.log"
    with open(log, "a", encoding="utf-8") as out:
        for w in sorted((staging / "kernel-logs").glob("*.log")):
            out.write(f"\n--- kernel warnings ({w.name}) ---\n{w.read_text(errors='replace')}")
    return log


def install(outcome: Outcome, paper: Paper) -> None:
    """Move a verified run's files into the paper folder; the results file goes last."""
    from shared.notebooks import clean_executed, read, write

    job, staging = outcome.job, outcome.staging
    out_dir = runs_dir(paper, job.profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir = paper.dir / "results"
    results_dir.mkdir(exist_ok=True)
    executed = out_dir / f"{paper.slug}.ipynb"
    staged = staging / "results"
    _readable(staging)
    with deferred_interrupts():
        os.replace(staging / "executed.ipynb", executed)
        os.replace(_log_with_kernel_warnings(staging), out_dir / f"{paper.slug}.log")
        _replace_dir(staged / job.profile, results_dir / job.profile)
        if job.profile == "default":  # the committed notebook carries the outputs of the default run
            write(clean_executed(read(executed)), paper.notebook)
            _readable(paper.notebook)
        os.replace(staged / f"{job.profile}.json", paper.results_path(job.profile))
        from shared.browse.metrics import sync as sync_metrics

        sync_metrics(paper)
        for stale in (failed_notebook_path(paper, job.profile), out_dir / f"FAILED-{paper.slug}.log"):
            stale.unlink(missing_ok=True)


def keep_failed(outcome: Outcome, paper: Paper) -> Path | None:
    """Keep the partial executed notebook (with a banner saying what failed) and the log; touch nothing else."""
    from shared.results import write_json_atomic

    staging, out_dir = outcome.staging, runs_dir(paper, outcome.job.profile)
    if staging is None or not staging.exists():
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = failed_notebook_path(paper, outcome.job.profile)
    with deferred_interrupts():
        if (staging / "run.log").exists():
            os.replace(_log_with_kernel_warnings(staging), out_dir / f"FAILED-{paper.slug}.log")
        executed = staging / "executed.ipynb"
        if not executed.exists():
            return None
        try:
            nb = json.loads(executed.read_text())
        except (OSError, json.JSONDecodeError):  # killed in the middle of papermill's save: keep the bytes as they are
            os.replace(executed, target)
            return target
        banner = (f"**FAILED ({outcome.failure})**: {outcome.message}.\n\nKept by `papers run` for debugging; the last "
                  f"good notebook and `results/` are untouched. Log: `FAILED-{paper.slug}.log` next to this file.")  # fmt: skip
        nb.setdefault("cells", []).insert(0, {"cell_type": "markdown", "metadata": {"tags": ["runner-failure"]},
                                              "source": banner})  # fmt: skip
        write_json_atomic(target, nb)
    return _readable(target)


def discard(outcome: Outcome) -> None:
    if outcome.staging is not None:
        shutil.rmtree(outcome.staging, ignore_errors=True)
