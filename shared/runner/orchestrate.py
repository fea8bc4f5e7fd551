"""`papers run` from selection to summary: pick papers, skip fresh ones, execute the rest, record, report.

Order of work, all under the run lock: clear what a killed runner left in staging; decide what is stale; start jobs
(longest recorded duration first, which shortens the whole run); record each outcome as it arrives (results moved in
place, or the failed notebook kept); on Ctrl-C kill what runs and record what already finished; finally record the
finished stages in DVC with one `dvc commit`, and print the summary.

Ctrl-C or SIGTERM ends the runner within `STOP_WAIT_S` plus a few seconds, its papermill processes and kernels with
it: running notebooks get SIGTERM, then SIGKILL after a short grace (`shared.runner.execute`), and what has not come
back after `STOP_WAIT_S` is killed from here. An interrupted run does not start `dvc commit`, whose DVC start-up alone
can take seconds on a loaded machine: the next `papers run` records those stages (see `_record_in_dvc`).
"""

import contextlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared import ROOT
from shared.cli import UsageError
from shared.paper import KERNELS, PAPERS_DIR, Paper, PaperError, discover, get
from shared.runner import dvcstages, progress
from shared.runner.execute import GiB
from shared.runner.freshness import FRESH, Freshness, assess, read_record, verdict_summary
from shared.runner.job import Job, Outcome
from shared.runner.record import deferred_interrupts, discard, install, keep_failed, verify
from shared.runner.state import RunLock, State, clear_staging, staging_root

DEFAULT_TIMEOUT_S = {"default": 1800.0}  # any other profile: FULL_TIMEOUT_S
FULL_TIMEOUT_S = 24 * 3600.0
STOP_WAIT_S = 5.0  # after Ctrl-C, how long stopped jobs may take to come back before their processes are SIGKILLed
DVC_STOP_GRACE_S = 3.0  # how long a `dvc commit` under way may go on after Ctrl-C before it is stopped


@dataclass
class Options:
    profile: str = "default"
    jobs: int = 1
    executor: str = "local"
    scheduler: str | None = None
    force: bool = False
    timeout_s: float | None = None
    memory_gb: float | None = None
    dvc: bool = True
    dry_run: bool = False
    progress: str = "auto"


@dataclass
class Report:
    """What one `papers run` did: outcomes in the order they finished, the papers it skipped, and DVC's answer."""

    outcomes: list[tuple[Outcome, str]] = field(default_factory=list)  # (outcome, verdicts or reason)
    skipped: list[Freshness] = field(default_factory=list)
    planned: list[Freshness] = field(default_factory=list)  # what a dry run would run
    interrupted: bool = False
    dvc_error: str | None = None
    dvc_recorded: int = 0  # stages recorded with `dvc commit`
    dvc_deferred: int = 0  # finished stages left for the next run to record in DVC (the run was interrupted)
    dvc_unrecorded: list[str] = field(default_factory=list)  # fresh results DVC cannot record (no executed notebook)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        failed = any(o.status == "failed" for o, _ in self.outcomes)
        return 1 if failed or self.dvc_error else 0


def select(slugs: list[str], everything: bool, profile: str, papers_dir: Path = PAPERS_DIR) -> list[Paper]:
    """The papers a command names; an unknown slug or a profile a named paper lacks is an error listing valid ones."""
    if slugs:
        papers = [get(s, papers_dir) for s in slugs]
        for paper in papers:
            if profile not in paper.profiles():
                raise PaperError(f"{paper.slug} has no profile {profile!r}; valid: {', '.join(paper.profiles())}")
        return papers
    if not everything:
        valid = ", ".join(p.slug for p in discover(papers_dir)) or "none yet"
        raise UsageError(f"name the papers to run, or use --all or --stale; papers: {valid}")
    papers = discover(papers_dir)
    having = [p for p in papers if profile in p.profiles()]
    if papers and not having:
        known = sorted({name for p in papers for name in p.profiles()})
        raise PaperError(f"no paper has a profile {profile!r}; profiles in use: {', '.join(known)}")
    return having


def timeout_for(paper: Paper, profile: str, override: float | None) -> float:
    """`--timeout`, else `timeout_s` in paper.yaml (a number, or one per profile), else the profile's default."""
    if override:
        return float(override)
    declared = paper.meta.get("timeout_s")
    if isinstance(declared, dict):
        declared = declared.get(profile)
    return float(declared or DEFAULT_TIMEOUT_S.get(profile, FULL_TIMEOUT_S))


def make_job(f: Freshness, opts: Options) -> Job:
    paper, profile = f.paper, f.profile
    params = paper.profile_params(profile)  # PaperError: bad parameters, reported as this paper's failure
    kernel = KERNELS["gpu"] if profile == "gpu" else paper.kernel
    memory = int(opts.memory_gb * GiB) if opts.memory_gb else None
    return Job(paper.slug, profile, kernel, params, timeout_for(paper, profile, opts.timeout_s), f.inputs_hash,
               f.inputs or {}, memory_bytes=memory, expected_s=f.expected_s)  # fmt: skip


def make_executor(opts: Options, root: Path, papers_dir: Path, on_event):
    from shared.runner.executors import DaskExecutor, LocalExecutor

    if opts.executor == "dask":
        try:
            return DaskExecutor(staging_root(root), papers_dir, opts.scheduler, opts.jobs, on_event)
        except (OSError, TimeoutError) as e:
            raise UsageError(f"cannot reach the Dask scheduler at {opts.scheduler}: {e}") from None
    if opts.scheduler:
        raise UsageError("--scheduler needs --executor dask")
    return LocalExecutor(staging_root(root), papers_dir, opts.jobs, on_event)


class Runner:
    """One `papers run`: holds the lock, the state file and the executor for its duration."""

    def __init__(self, opts: Options, root: Path = ROOT, papers_dir: Path = PAPERS_DIR, out=None):
        self.opts, self.root, self.papers_dir, self.out = opts, root, papers_dir, out
        self.report = Report()
        self.state: State | None = None
        self.display: progress.Progress | None = None

    def run(self, papers: list[Paper]) -> Report:
        with RunLock(self.root), sigterm_as_interrupt():
            clear_staging(self.root)
            self.state = State(self.root)
            plan = [assess(p, self.opts.profile, self.state.get(p.slug, self.opts.profile)) for p in papers]
            todo = [f for f in plan if self.opts.force or f.status != FRESH]
            self.report.skipped = [f for f in plan if f not in todo]
            jobs, rejected = self._jobs(todo)
            if self.opts.dry_run:
                self.report.planned = todo
                return self.report
            if not jobs and not rejected:  # the no-op: nothing is started, not even an executor
                self._record_in_dvc()
                return self.report
            executor = None
            if jobs:
                executor = make_executor(self.opts, self.root, self.papers_dir, lambda j, e: self.display.event(j, e))
            self.display = progress.make(jobs, executor.slots if executor else 1, self.opts.progress, self.out)
            try:
                for outcome, _ in rejected:
                    self._handle(outcome)
                if executor:
                    self._execute(executor, jobs)
            finally:
                if executor:
                    executor.close()
                self.display.close()
            try:
                self._record_in_dvc()
            except KeyboardInterrupt:
                self.report.interrupted = True
        return self.report

    def _jobs(self, todo: list[Freshness]) -> tuple[list[Job], list[tuple[Outcome, str]]]:
        jobs, rejected = [], []
        for f in todo:
            stub = Job(f.paper.slug, f.profile, "", {}, 0, f.inputs_hash or "", f.inputs or {})
            if f.inputs_hash is None:  # a syntax error in an imported module, an unreadable notebook
                rejected.append((Outcome(stub, "failed", "bad-inputs", "; ".join(f.reasons)), ""))
                continue
            try:
                jobs.append(make_job(f, self.opts))
            except PaperError as e:
                rejected.append((Outcome(stub, "failed", "bad-parameters", f"bad parameters: {e}"), ""))
        jobs.sort(key=lambda j: -j.expected_s)  # longest first
        return jobs, rejected

    def _execute(self, executor, jobs: list[Job]) -> None:
        try:
            executor.start(jobs)
            while executor.running > 0:
                # Ctrl-C waits until the outcomes taken from the executor are recorded: a finished run is never lost
                with deferred_interrupts():
                    for outcome in executor.outcomes(0.2):
                        self._handle(outcome)
        except KeyboardInterrupt:
            # a second Ctrl-C must not leave kernels behind; the run is stopping already, within the same bound
            with contextlib.suppress(KeyboardInterrupt), deferred_interrupts():
                self.report.interrupted = True
                self.display.note("interrupted: stopping the running notebooks (their kernels are killed)")
                executor.stop()
                self._collect(executor, STOP_WAIT_S)
                if executor.running > 0:  # a job that did not come back in time: kill its processes from here
                    executor.kill()
                    self._collect(executor, 1.0)
        done = {o.job.key for o, _ in self.report.outcomes}
        for job in jobs:
            if job.key not in done:
                self._handle(Outcome(job, "interrupted", message="not started"))

    def _collect(self, executor, seconds: float) -> None:
        """Record outcomes as they come back, for up to `seconds` or until no job is left."""
        deadline = time.monotonic() + seconds
        while executor.running > 0 and time.monotonic() < deadline:
            for outcome in executor.outcomes(min(0.2, max(0.0, deadline - time.monotonic()))):
                self._handle(outcome)

    def _handle(self, outcome: Outcome) -> None:
        """Record one finished job: install its files or keep the failed notebook, update the state, report it."""
        paper = Paper(outcome.job.slug, self.papers_dir)
        detail = ""
        try:
            if outcome.ok:
                outcome = verify(outcome, paper, paper.inputs_hash(outcome.job.profile))
            if outcome.ok:
                install(outcome, paper)
                detail = verdict_summary(read_record(paper.results_path(outcome.job.profile)))
            elif outcome.status == "failed":
                kept = keep_failed(outcome, paper)
                detail = outcome.message + (f" (notebook: {kept.relative_to(self.root)})" if kept else "")
            else:
                detail = outcome.message
        except OSError as e:
            outcome = Outcome(outcome.job, "failed", "runner-error", f"recording failed: {e}", None,
                              outcome.duration_s, outcome.staging)  # fmt: skip
            detail = outcome.message
        finally:
            discard(outcome)
        self.state.put(outcome.job.slug, outcome.job.profile, {
            "status": outcome.status, "failure": outcome.failure, "message": outcome.message, "cell": outcome.cell,
            "duration_s": outcome.duration_s, "inputs_hash": outcome.job.inputs_hash, "worker": outcome.worker,
        })  # fmt: skip
        self.report.outcomes.append((outcome, detail))
        self.display.finished(outcome, detail)

    def _record_in_dvc(self) -> None:
        """One `dvc commit` for the stages that just ran, and for fresh results DVC has no record of yet (a result
        recorded before its paper had a dvc.yaml, a dvc.lock lost in a merge).

        Not after Ctrl-C: the next run finds those results newer than their dvc.lock and records them then. A Ctrl-C
        during the commit lets it go on for `DVC_STOP_GRACE_S`, then stops it with the dvc.lock files as they were.
        """
        if not self.opts.dvc or dvcstages.inside_dvc() or not dvcstages.enabled(self.root):
            return
        if self.report.interrupted:
            self.report.dvc_deferred = sum(o.ok for o, _ in self.report.outcomes)
            return
        done = [(o.job.slug, o.job.profile) for o, _ in self.report.outcomes if o.ok]
        behind = [(f.paper.slug, f.profile) for f in self.report.skipped if dvcstages.unrecorded(f.paper, f.profile)]
        for slug, profile in behind:
            if dvcstages.recordable(Paper(slug, self.papers_dir), profile):
                done.append((slug, profile))
            else:
                self.report.dvc_unrecorded.append(slug)
        if not done:
            return
        for slug in sorted({slug for slug, _ in done}):
            dvcstages.sync(Paper(slug, self.papers_dir))
        targets = [dvcstages.target(Paper(slug, self.papers_dir), profile, self.root) for slug, profile in done]
        error = None
        try:
            with deferred_interrupts() as held:  # dvc.lock is written whole or not at all
                error = dvcstages.commit(targets, self.root, should_stop=lambda: held.held_for(DVC_STOP_GRACE_S))
        except KeyboardInterrupt:  # held back until the commit ended or was stopped
            self.report.interrupted = True
        if error == dvcstages.STOPPED:
            self.report.dvc_deferred = len(targets)
        elif error:
            self.report.dvc_error = error
        else:
            self.report.dvc_recorded = len(targets)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (a CI job cancelled, `kill`) stops the run the way Ctrl-C does: kernels killed, finished work kept."""

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def summary(report: Report, profile: str, listed_skipped: bool) -> str:
    """The closing table: each paper run, with status, duration and verdicts (or why it failed)."""
    lines = [f"would run {f.paper.slug} [{f.profile}]: {f.describe()}" for f in report.planned]
    if report.outcomes:
        width = max(len(o.job.key) for o, _ in report.outcomes)
        lines.append(f"{'paper':<{width}}  {'status':<15}  {'time':>8}  verdicts / reason")
        for o, detail in sorted(report.outcomes, key=lambda x: x[0].job.key):
            status = o.failure if o.status == "failed" else o.status  # the failure class: timeout, cell-error, ...
            lines.append(f"{o.job.key:<{width}}  {status:<15}  {o.duration_s:>6.1f} s  {detail}")
    if listed_skipped and report.skipped:
        names = ", ".join(f.paper.slug for f in report.skipped[:8]) + (" ..." if len(report.skipped) > 8 else "")
        lines.append(f"{len(report.skipped)} fresh [{profile}], skipped: {names}")
    counts = {}
    for o, _ in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    parts = [f"{n} {s if s != 'ok' else 'succeeded'}" for s, n in sorted(counts.items())]
    if report.planned:
        parts.append(f"{len(report.planned)} would run (dry run)")
    parts.append(f"{len(report.skipped)} fresh")
    lines.append(
        "papers run: " + ", ".join(parts) + (" (interrupted: run again to resume)" if report.interrupted else "")
    )
    if report.dvc_recorded:
        lines.append(f"papers run: recorded {report.dvc_recorded} stage(s) in DVC (dvc.lock)")
    if report.dvc_deferred:
        lines.append(f"papers run: {report.dvc_deferred} finished stage(s) not recorded in DVC yet (interrupted): the "
                     "next `papers run` of these papers records them")  # fmt: skip
    if report.dvc_error:
        lines.append(f"papers run: recording in DVC failed: {report.dvc_error}")
    if report.dvc_unrecorded:
        names = " ".join(sorted(set(report.dvc_unrecorded)))
        lines.append(f"papers run: DVC has no record of {len(report.dvc_unrecorded)} fresh result(s) made outside "
                     f"`papers run`; record them with `papers run --force --profile {profile} {names}`")  # fmt: skip
    return "\n".join(lines)
