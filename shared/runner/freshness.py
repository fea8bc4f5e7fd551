"""Is a paper's recorded result still the result of its current inputs? And if not, why not, in words.

A result is fresh when `provenance.inputs_hash` in `results/<profile>.json` equals the hash of the paper's inputs
now (`Paper.inputs_hash`: the notebook's code cells, the paper's Python files and the project modules they import, all
normalized; the profile's params; the data folders it declares; the pinned versions of the packages it imports; its
kernelspec). The per-input hashes recorded next to it turn a mismatch into reasons, by kind: "code: shared/kv.py
changed since the recorded run", "environment: package torch changed (2.13.0 -> 2.14.1)".
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from shared.paper import Paper, PaperError

FRESH, STALE, NEVER, FAILED = "fresh", "stale", "never run", "failed"
DEFAULT_EXPECTED_S = 60.0


@dataclass
class Freshness:
    paper: Paper
    profile: str
    status: str  # FRESH, STALE, NEVER or FAILED
    reasons: list[str] = field(default_factory=list)
    record: dict | None = None  # the results file, when it could be read
    attempt: dict | None = None  # the runner's last attempt (`.runner/state.json`)
    inputs: dict | None = None  # the current per-file input hashes
    inputs_hash: str | None = None

    @property
    def fresh(self) -> bool:
        return self.status == FRESH

    @property
    def ran_it(self) -> bool:
        """True when the runner's last attempt is what produced the recorded result (so its timing is the run's)."""
        return bool(
            self.attempt and self.attempt.get("status") == "ok" and self.attempt.get("inputs_hash") == self.inputs_hash
        )

    @property
    def expected_s(self) -> float:
        """How long a run should take: the last attempt's duration, else the recorded wall time."""
        if self.attempt and self.attempt.get("status") == "ok" and self.attempt.get("duration_s"):
            return float(self.attempt["duration_s"])
        if self.record:
            return float(self.record.get("provenance", {}).get("wall_time_s") or DEFAULT_EXPECTED_S)
        return DEFAULT_EXPECTED_S

    def describe(self) -> str:
        """One line: the status and why."""
        if self.status == FRESH:
            prov = self.record.get("provenance", {})
            when = (prov.get("finished_utc") or "").replace("T", " ").rstrip("Z")
            took = self.attempt.get("duration_s") if self.ran_it else prov.get("wall_time_s")
            return f"fresh: inputs unchanged since the run of {when} UTC ({took} s)"
        if self.status == FAILED:
            return f"failed: {self.attempt.get('message', '')}"
        return (f"{self.status}: " + "; ".join(self.reasons)) if self.reasons else self.status


def read_record(path: Path) -> dict | None:
    """The results file as JSON (no schema validation: the hot path of a no-op run only needs its provenance)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        return {}


def short(paper: Paper, key: str) -> str:
    """A paper's own files by their path in the paper folder (`params/full.yaml`); other inputs as they are."""
    prefix = f"papers/{paper.slug}/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def explain(paper: Paper, recorded: dict, current: dict, changed: str = "changed since the recorded run",
            new: str = "is a new input (not in the recorded run)", gone: str = "is no longer an input") -> list[str]:  # fmt: skip
    """Why `recorded` input hashes differ from `current` ones, one phrase per input."""
    out = []
    for key in current:
        name = f"{category(key)}: {short(paper, key)}"
        if key.endswith("(code cells)") and key in recorded and recorded[key] != current[key]:
            out.append(f"code: the notebook's code cells {changed}")
        elif key not in recorded:
            out.append(f"{name} {new}")
        elif recorded[key] != current[key]:
            versions = f" ({recorded[key]} -> {current[key]})" if key.startswith("package ") else ""
            out.append(f"{name} {changed}{versions}")
    out += [f"{category(k)}: {short(paper, k)} {gone}" for k in recorded if k not in current]
    return out


def category(key: str) -> str:
    """What kind of input a key of `provenance.inputs` is: code, parameters, data or environment."""
    if key.startswith("package ") or key.startswith("kernels/") or key in ("requirements.lock", "data.dvc"):
        return "environment" if key != "data.dvc" else "data"
    if key.startswith("data/"):
        return "data"
    if "/params/" in key or key.endswith(".yaml"):
        return "parameters"
    return "code"


def assess(paper: Paper, profile: str, attempt: dict | None = None) -> Freshness:
    """Compare the recorded result of `paper` under `profile` with its inputs now."""
    f = Freshness(paper, profile, NEVER, attempt=attempt)
    try:
        f.inputs = paper.input_hashes(profile)
    except (OSError, PaperError, SyntaxError, ValueError) as e:
        f.status, f.reasons = STALE, [f"its inputs cannot be read: {e}"]
        return f
    from shared.provenance import sha256_json

    f.inputs_hash = sha256_json(f.inputs)
    f.record = read_record(paper.results_path(profile))
    failed_now = attempt and attempt.get("status") != "ok" and attempt.get("inputs_hash") == f.inputs_hash
    if f.record is None:
        f.reasons = [f"no results/{profile}.json yet"]
    elif not f.record:
        f.status, f.reasons = STALE, [f"results/{profile}.json is unreadable"]
    else:
        prov = f.record.get("provenance") or {}
        if prov.get("inputs_hash") == f.inputs_hash:
            f.status = FRESH
            return f
        f.status = STALE
        f.reasons = explain(paper, prov.get("inputs") or {}, f.inputs) or ["its inputs changed (no per-file record)"]
    if failed_now and attempt.get("status") == "failed":
        f.status = FAILED
    elif attempt and attempt.get("status") == "interrupted" and attempt.get("inputs_hash") == f.inputs_hash:
        f.reasons.append("the last attempt was interrupted")
    return f


def verdict_summary(record: dict | None) -> str:
    """`4/5 reproduced (1 partially)` from a results file's summary; empty when there is none."""
    summary = (record or {}).get("summary") or {}
    total = sum(summary.values())
    if not total:
        return ""
    others = [f"{summary[k]} {label}" for k, label in (("partially reproduced", "partially"),
              ("not reproduced", "not"), ("inconclusive", "inconclusive")) if summary.get(k)]  # fmt: skip
    return f"{summary.get('reproduced', 0)}/{total} reproduced" + (f" ({', '.join(others)})" if others else "")
