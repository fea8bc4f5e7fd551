"""What one notebook run needs (`Job`) and how it ended (`Outcome`): plain data, so both cross process and machine
boundaries (a Dask worker gets a `Job` as a dict and sends an `Outcome` back)."""

from dataclasses import asdict, dataclass, field
from pathlib import Path

# how a run can fail, in the words `papers status` and the closing summary use
FAILURES = {
    "cell-error": "a cell raised an exception",
    "timeout": "the run exceeded its wall-clock budget and was killed",
    "out-of-memory": "the run exceeded its memory limit (or raised MemoryError) and was killed",
    "kernel-died": "the kernel process died (crash, signal, or the system's out-of-memory killer)",
    "missing-kernel": "the paper's Jupyter kernel is not installed",
    "bad-parameters": "the profile's parameters were rejected (params file or start_run)",
    "bad-inputs": "the notebook or a module it imports cannot be read or parsed",
    "no-results": "the notebook finished without writing results/<profile>.json",
    "invalid-results": "the results file breaks the results contract",
    "inputs-changed": "inputs changed while the run was going on, so its result does not describe them",
    "worker-mismatch": "a remote worker's checkout differs from the submitting machine's",
    "runner-error": "the runner itself failed (see the log)",
}


@dataclass
class Job:
    """One paper under one profile, with everything needed to run it anywhere the checkout exists."""

    slug: str
    profile: str
    kernel: str
    parameters: dict
    timeout_s: float
    inputs_hash: str
    inputs: dict = field(default_factory=dict)  # per-file hashes: to name what differs on a mismatched worker
    memory_bytes: int | None = None  # None: decided where the job runs
    threads: int | None = None  # BLAS threads for the kernel; None: decided where the job runs
    expected_s: float = 60.0  # recorded duration, for the ETA and to start long jobs first

    @property
    def key(self) -> str:
        return f"{self.slug} [{self.profile}]"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(**d)


@dataclass
class Outcome:
    """How a job ended. `staging` holds its files (executed notebook, results, log) until they are recorded."""

    job: Job
    status: str  # "ok", "failed" or "interrupted"
    failure: str | None = None  # a key of FAILURES
    message: str = ""
    cell: int | None = None  # 1-based cell of the paper's notebook where it failed
    duration_s: float = 0.0
    staging: Path | None = None
    worker: str | None = None  # where it ran, for dask

    @property
    def ok(self) -> bool:
        return self.status == "ok"
