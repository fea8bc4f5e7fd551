"""The metrics DVC shows: one compact file per paper and profile, `papers/<slug>/metrics/<profile>.json`.

`dvc metrics show` lists them (per claim: value, number of units, verdict; the verdict counts: the interval and everything else stay in
the record), and
`dvc metrics diff A B` shows the claims whose value or verdict changed between two commits. They are generated from
the results records, never edited by hand: the runner writes a paper's after each run, `papers results` rewrites any
that drifted, and `papers results --check` (run by CI) fails when one is out of date. The records themselves,
with their provenance, stay in `results/<profile>.json` (DVC tracks them as uncached outputs).
"""

import json
from pathlib import Path

from shared.paper import Paper
from shared.results import ResultsError, load, write_json_atomic


def metrics(record: dict) -> dict:
    """The compact view of one results record: per claim its value, number of units and verdict; the counts."""
    out = {}
    for c in record["claims"]:
        ours = c.get("ours") or {}
        out[c["id"]] = {"value": ours.get("value"), "n": ours.get("n"), "verdict": c["verdict"]}
    return {"claims": out, "summary": dict(record["summary"])}


def metrics_path(paper: Paper, profile: str) -> Path:
    return paper.dir / "metrics" / f"{profile}.json"


def sync(paper: Paper, write: bool = True) -> list[Path]:
    """Write each profile's metrics file from its record and drop those whose record is gone; return the files that
    were (with `write=False`: would be) changed."""
    changed, wanted = [], set()
    for path in sorted((paper.dir / "results").glob("*.json")):
        try:
            record = load(path)
        except ResultsError:
            continue  # an invalid record is `papers validate`'s to report; no metrics are made up for it
        target = metrics_path(paper, path.stem)
        wanted.add(target)
        body = metrics(record)
        if not target.exists() or json.loads(target.read_text(encoding="utf-8")) != body:
            changed.append(target)
            if write:
                write_json_atomic(target, body)
    for extra in sorted((paper.dir / "metrics").glob("*.json")):
        if extra not in wanted:
            changed.append(extra)
            if write:
                extra.unlink()
    return changed
