"""The rerun contract: a re-executed notebook must give the committed verdicts, and values within each claim's
declared reproduction tolerance.

CI re-executes notebooks under nbval; their tagged cells print only what must be identical on every machine (the
claims and rules, sanity outcomes, verdicts). The numbers are checked here instead: `Run.finish` compares its fresh
record with the committed `results/<profile>.json` claim by claim when `TOKEN_PAPERS_RERUN_CONTRACT` is set, and a
breach fails the cell with a message that names the paper, the claim, both values and both verdicts. Timing claims
depend on the machine: they are reported, never failed on.
"""

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.claims import Tolerance

ENV = "TOKEN_PAPERS_RERUN_CONTRACT"


class RerunContractError(AssertionError):
    """A re-execution broke the rerun contract; the message lists every breach."""


@dataclass
class Row:
    """One claim compared: the committed and fresh value and verdict, and whether the contract holds."""

    claim: str
    kind: str
    committed_value: float | None
    fresh_value: float | None
    committed_verdict: str | None
    fresh_verdict: str | None
    abs_diff: float | None
    rel_diff: float | None
    tolerance: str
    status: str  # "ok", "reported" (timing), or "breach"
    why: str = ""

    @property
    def moved(self) -> bool:
        return self.committed_verdict != self.fresh_verdict


def _diff(a: float | None, b: float | None) -> tuple[float | None, float | None]:
    if a is None or b is None:
        return None, None
    d = abs(b - a)
    return d, (d / abs(a) if a else (0.0 if d == 0 else float("inf")))


def compare(committed: dict, fresh: dict, claims=None) -> list[Row]:
    """Compare two records of the same paper and profile, claim by claim.

    `claims` (the paper's `CLAIMS`) supplies each claim's kind and tolerance; without it they are read from the fresh
    record (engine v2 records carry both).

    An `interval` tolerance counts one width of the committed interval; a committed value with no interval (one unit,
    as in a one-seed default) gives that term nothing, so only the claim's `abs` and `rel` bound the move, and a claim
    that declares neither is a breach (its tolerance cannot bound anything).
    """
    by_id = {c.id: c for c in claims} if claims is not None else {}
    old = {c["id"]: c for c in committed.get("claims", [])}
    rows = []
    for c in fresh.get("claims", []):
        cid = c["id"]
        claim = by_id.get(cid)
        kind = claim.kind if claim is not None else c.get("kind", "noisy")
        tol = claim.tolerance if claim is not None else None
        tol_dict = tol.to_dict() if tol is not None else c.get("tolerance")
        before = old.get(cid)
        fv = c["ours"]["value"]
        if before is None:
            rows.append(Row(cid, kind, None, fv, None, c["verdict"], None, None, "-", "breach",
                            "no committed result for this claim"))  # fmt: skip
            continue
        cv = before["ours"]["value"]
        d, rel = _diff(cv, fv)
        width = _width(before["ours"])
        tol_text = _describe(tol_dict, width)
        problems = []
        if before["verdict"] != c["verdict"]:
            problems.append(f"verdict moved: {before['verdict']} -> {c['verdict']}")
        if tol_dict is None:
            problems.append("no reproduction tolerance declared in claims.py")
        elif tol_dict.get("interval") and width is None and not (tol_dict.get("abs") or tol_dict.get("rel")):
            problems.append("the tolerance is a multiple of the committed interval's width, but the committed value "
                            "has no interval and the claim declares no absolute or relative part to fall back on")  # fmt: skip
        elif d > Tolerance.from_dict(tol_dict).bound(cv, width) + 1e-12:
            problems.append(f"value moved by {d:.4g} ({rel:.2%}), more than the tolerance {tol_text}")
        if kind == "timing":
            status = "reported"
        else:
            status = "breach" if problems else "ok"
        rows.append(Row(cid, kind, cv, fv, before["verdict"], c["verdict"], d, rel, tol_text, status,
                        "; ".join(problems)))  # fmt: skip
    for cid in old.keys() - {c["id"] for c in fresh.get("claims", [])}:
        rows.append(Row(cid, "-", old[cid]["ours"]["value"], None, old[cid]["verdict"], None, None, None, "-",
                        "breach", "claim is committed but the rerun did not produce it"))  # fmt: skip
    return rows


def _width(ours: dict) -> float | None:
    """The width of a recorded value's interval, or None where it has none."""
    low, high = ours.get("low"), ours.get("high")
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    return high - low


def _describe(tol: dict | None, width: float | None = None) -> str:
    if tol is None:
        return "none"
    parts = [f"±{tol['rel']:.2g} rel"] if tol["rel"] else []
    parts += [f"±{tol['abs']:.2g} abs"] if tol["abs"] else []
    if tol.get("interval"):
        of = f" = {tol['interval'] * width:.3g}" if width is not None else " (none committed: 0)"
        parts += [f"±{tol['interval']:.2g} x interval width{of}"]
    return " + ".join(parts) or "exact"


def breaches(slug: str, profile: str, committed: dict, fresh: dict, claims=None) -> list[str]:
    """The contract's failures as lines naming paper, claim, both values and both verdicts; empty when it holds."""
    out = []
    if committed.get("params") != fresh.get("params"):
        changed = sorted(k for k in set(committed.get("params", {})) | set(fresh.get("params", {}))
                         if committed.get("params", {}).get(k) != fresh.get("params", {}).get(k))  # fmt: skip
        out.append(f"{slug} [{profile}]: the committed result was made with other parameters ({', '.join(changed)}): "
                   f"it is stale; run `papers run {slug} --profile {profile}`")  # fmt: skip
    for r in compare(committed, fresh, claims):
        if r.status == "breach":
            out.append(f"{slug} [{profile}] claim {r.claim}: committed {r.committed_value} ({r.committed_verdict}), "
                       f"rerun {r.fresh_value} ({r.fresh_verdict}): {r.why}")  # fmt: skip
    return out


def check(paper, profile: str, fresh: dict, claims=None, report_dir: Path | None = None) -> list[Row]:
    """Hold a fresh record of `paper` to its committed one; raise `RerunContractError` on a breach.

    Writes the comparison as `rerun-<slug>-<profile>.json` into `report_dir` (for CI's summary) when given.
    """
    path = paper.results_path(profile)
    if not path.exists():
        raise RerunContractError(f"{paper.slug} [{profile}]: no committed result to hold the rerun to ({path})")
    committed = json.loads(path.read_text())
    if committed.get("schema_version", 1) < 2:
        # judged by the v1 engine, with no tolerances: nothing to hold the rerun to until the profile is re-run (the
        # index labels such a record not pre-registered); the report says so, the notebook itself still has to run
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            (report_dir / f"rerun-{paper.slug}-{profile}.json").write_text(json.dumps(
                {"slug": paper.slug, "profile": profile, "rows": [], "breaches": [], "legacy": True}))  # fmt: skip
        return []
    rows = compare(committed, fresh, claims)
    failures = breaches(paper.slug, profile, committed, fresh, claims)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / f"rerun-{paper.slug}-{profile}.json").write_text(json.dumps(
            {"slug": paper.slug, "profile": profile, "rows": [asdict(r) for r in rows], "breaches": failures},
            indent=1))  # fmt: skip
    if failures:
        raise RerunContractError("rerun contract broken:\n" + "\n".join(failures))
    return rows


def enabled() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def summary_lines(report_dir: Path) -> list[str]:
    """One line per re-executed notebook, from the reports `check` wrote: for the end of a CI run."""
    lines = []
    for f in sorted(report_dir.glob("rerun-*.json")):
        rep = json.loads(f.read_text())
        if rep.get("legacy"):
            lines.append(
                f"{rep['slug']} [{rep['profile']}]: not held (its committed record predates engine v2: re-run it)"
            )
            continue
        rows = rep["rows"]
        rels = [r["rel_diff"] for r in rows if r["rel_diff"] is not None and r["status"] == "ok"]
        timing = [r for r in rows if r["status"] == "reported"]
        state = "BROKEN" if rep["breaches"] else "holds"
        worst = f", largest relative change {max(rels):.2e}" if rels else ""
        extra = f", {len(timing)} timing claim(s) reported" if timing else ""
        lines.append(f"{rep['slug']} [{rep['profile']}]: contract {state} ({len(rows)} claims{worst}{extra})")
    return lines
