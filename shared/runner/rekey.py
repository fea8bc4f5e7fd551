"""`papers rekey [SLUG ...] [--all]`: after a behaviour-preserving change to shared code, data or the lock, show that
a paper's results still hold and only then record them as the results of today's inputs.

Such a change makes every result that imports the changed code stale, and rerunning every profile costs hours. Rekey
reruns one cheap profile instead (`default`, or `--check-profile`) into a scratch folder, as `papers stability` does
(same seeds and parameters, threads as `papers run`), and holds the fresh record to the committed one with the rerun
contract (`shared.rerun.breaches`: every verdict the same, every value within its claim's tolerance). Only when that
holds does it re-key the paper's records: `provenance.inputs` and `inputs_hash` (and `data_hash`, if the data changed)
become today's, and `provenance.rekey` says what verified it (profile, commit, time, the comparison, which inputs changed); the claims, numbers and
`provenance.commit` stay as the run wrote them. A record of another profile is re-keyed too when its only changed
inputs are the same changes the rerun covered (the same key, from the same recorded hash to the same current one).

A paper whose own pre-registered files changed (`claims.py`, its `.py` files, params files, the notebook's code cells)
is refused: that is no refactor of shared code, and `verify_record` checks those files' recorded hashes at
`provenance.commit`, which rekey therefore never changes.
"""

import argparse
import copy
import json
import math
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LABEL = "re-keyed (verified)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="the papers to re-key")
    p.add_argument("--all", action="store_true", help="every paper with a stale result")
    p.add_argument("--check-profile", default="default", metavar="NAME",
                   help="the cheap profile to re-execute and hold to its committed record (default: default)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="say what would be re-executed and re-keyed; run nothing")


def rekey_label(record: dict | None) -> str | None:
    """`re-keyed (verified)` for a record that `papers rekey` re-keyed (it has `provenance.rekey`), else None."""
    return LABEL if ((record or {}).get("provenance") or {}).get("rekey") else None


def own(paper, key: str) -> bool:
    """Is the input `key` one of the paper's own files (claims, code, params, the notebook's code cells)?"""
    return key.startswith(f"papers/{paper.slug}/")


def same_content(paper, key: str, recorded: str | None) -> bool:
    """Does the paper's own file `key` still have the content the run read? Records made before inputs were normalized
    hold a plain text hash: the same file then has another hash now, and `verify_record` accepts both."""
    from shared.preregistration import CODE_CELLS, _digests

    path = paper.dir / key.removesuffix(CODE_CELLS)[len(f"papers/{paper.slug}/") :]
    if recorded is None or not path.is_file():
        return False
    kind = "notebook" if key.endswith(CODE_CELLS) else "code" if path.suffix == ".py" else "params"
    return recorded in _digests(path.read_bytes(), kind)


def changes(recorded: dict, current: dict) -> dict[str, tuple]:
    """`{key: (recorded hash, current hash)}` for each input that differs (None on the side where it is absent)."""
    keys = [*current, *(k for k in recorded if k not in current)]
    return {k: (recorded.get(k), current.get(k)) for k in keys if recorded.get(k) != current.get(k)}


@dataclass
class Target:
    """One stale record to re-key: its profile, the record as committed, the inputs now, and what changed."""

    profile: str
    record: dict
    inputs: dict
    inputs_hash: str
    changed: dict[str, tuple]


@dataclass
class Plan:
    """What rekey will do for one paper: refuse (`refusal`), do nothing (`nothing`), or rerun and re-key `targets`."""

    paper: object
    profile: str
    refusal: str | None = None
    nothing: str | None = None
    targets: list[Target] = field(default_factory=list)  # the cheap profile first
    left: list[str] = field(default_factory=list)  # other stale profiles that this rerun cannot vouch for, and why


def _current(paper, profile: str) -> tuple[dict, str]:
    from shared.provenance import sha256_json

    inputs = paper.input_hashes(profile)
    return inputs, sha256_json(inputs)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def plan(paper, profile: str) -> Plan:
    """Decide, without running anything, whether `paper` can be re-keyed by a rerun of `profile`, and which records."""
    from shared.paper import PaperError
    from shared.runner.freshness import explain

    out = Plan(paper, profile)
    run_it = f"run `papers run {paper.slug} --profile {profile}`"
    if profile not in paper.profiles():
        out.refusal = f"it has no profile {profile!r}"
        return out
    path = paper.results_path(profile)
    if not path.exists():
        out.refusal = f"no committed results/{profile}.json to hold a rerun to: {run_it}"
        return out
    record = _read(path)
    recorded = ((record or {}).get("provenance") or {}).get("inputs")
    if not recorded:
        out.refusal = f"results/{profile}.json has no per-input hashes: it cannot say what changed; {run_it}"
        return out
    try:
        inputs, inputs_hash = _current(paper, profile)
    except (OSError, PaperError, SyntaxError, ValueError) as e:
        out.refusal = f"its inputs cannot be read: {e}"
        return out
    if record["provenance"].get("inputs_hash") == inputs_hash:
        out.nothing = f"results/{profile}.json is fresh"
    else:
        changed = changes(recorded, inputs)
        mine = {k: v for k, v in changed.items() if own(paper, k) and not same_content(paper, k, v[0])}
        if mine:
            why = explain(paper, {k: v[0] for k, v in mine.items() if v[0] is not None},
                          {k: v[1] for k, v in mine.items() if v[1] is not None})  # fmt: skip
            out.refusal = (
                f"its own pre-registered files changed ({'; '.join(why)}): not a refactor of shared code; {run_it}"
            )
            return out
        out.targets.append(Target(profile, record, inputs, inputs_hash, changed))

    verified = out.targets[0].changed if out.targets else {}
    for other in paper.profiles():
        if other == profile or not paper.results_path(other).exists():
            continue
        rec = _read(paper.results_path(other))
        rec_inputs = ((rec or {}).get("provenance") or {}).get("inputs")
        redo = f"run `papers run {paper.slug} --profile {other}`"
        try:
            now, now_hash = _current(paper, other)
        except (OSError, PaperError, SyntaxError, ValueError) as e:
            out.left.append(f"{other}: its inputs cannot be read: {e}")
            continue
        if rec and rec.get("provenance", {}).get("inputs_hash") == now_hash:
            continue
        if not rec_inputs:
            out.left.append(f"{other}: its record has no per-input hashes; {redo}")
            continue
        diff = changes(rec_inputs, now)
        mine = sorted(k for k, v in diff.items() if own(paper, k) and not same_content(paper, k, v[0]))
        shared_ = {k: v for k, v in diff.items() if not own(paper, k)}
        if mine:
            out.left.append(f"{other}: its own files changed ({', '.join(mine)}); {redo}")
        elif not out.targets:
            out.left.append(f"{other}: {profile} is fresh, so no rerun of {profile} covers its changes; {redo}")
        elif any(verified.get(k) != v for k, v in shared_.items()):
            unverified = sorted(k for k, v in shared_.items() if verified.get(k) != v)
            out.left.append(f"{other}: {', '.join(unverified)} changed otherwise than in the {profile} record the "
                            f"rerun covers; {redo}")  # fmt: skip
        else:
            out.targets.append(Target(other, rec, now, now_hash, diff))
    if out.nothing and not out.left:
        out.nothing = "nothing is stale"
    return out


def _finite(x):
    # JSON has no infinity: an undefined relative difference is written as null
    return None if isinstance(x, float) and not math.isfinite(x) else x


def rekeyed(target: Target, paper, verified_by: dict) -> dict:
    """The record of `target` re-keyed to today's inputs, `provenance.rekey` added; claims, numbers and commit kept."""
    from shared.runner.freshness import category

    record = copy.deepcopy(target.record)
    prov = record["provenance"]
    earlier = prov.get("rekey")
    rekey = {
        "verified_by": {
            **verified_by,
            # an own file of the paper is here only with its content unchanged (`same_content`): its hash was recorded
            # in the older, plain-text form
            "changed": [
                {"input": k, "category": "hash format" if own(paper, k) else category(k), "recorded": a, "current": b}
                for k, (a, b) in target.changed.items()
            ],
        },
        "previous_inputs_hash": prov.get("inputs_hash"),
    }
    data_hash = paper.data_hash(target.profile)
    if prov.get("data_hash") != data_hash:
        rekey["previous_data_hash"] = prov.get("data_hash")
        prov["data_hash"] = data_hash
    if earlier:
        rekey["earlier"] = [*earlier.get("earlier", []), {k: v for k, v in earlier.items() if k != "earlier"}]
    prov["inputs"] = target.inputs
    prov["inputs_hash"] = target.inputs_hash
    prov["rekey"] = rekey
    return record


def verify(p: Plan) -> tuple[str | None, list[str], dict | None, Path]:
    """Rerun `p.profile` into a scratch folder and hold it to the committed record.

    Returns what went wrong in a few words (None when the contract holds), the breaches or the failure as lines, the
    `verified_by` evidence when it holds, and the scratch folder.
    """
    import datetime as dt
    import importlib

    from shared import ROOT
    from shared.repro import git_commit
    from shared.rerun import breaches, compare
    from shared.runner.stability import rerun

    paper, target = p.paper, p.targets[0]
    out = Path(tempfile.mkdtemp(prefix=f"rekey-{paper.slug}-"))
    outcome, fresh_path = rerun(paper, p.profile, {}, out)
    if not outcome.ok:
        return (
            "the rerun failed",
            [f"{paper.slug} [{p.profile}]: {outcome.message} (log: {out / 'run.log'})"],
            None,
            out,
        )
    fresh = json.loads(fresh_path.read_text(encoding="utf-8"))
    if (fresh.get("provenance") or {}).get("inputs_hash") != target.inputs_hash:
        return "inputs changed while the rerun went on: run rekey again", [], None, out
    try:
        claims = importlib.import_module(f"papers.{paper.slug}.claims").CLAIMS
    except ModuleNotFoundError as e:
        if e.name != f"papers.{paper.slug}.claims":
            raise
        claims = None  # kinds and tolerances come from the fresh record (engine v2 records carry both)
    failures = breaches(paper.slug, p.profile, target.record, fresh, claims)
    if failures:
        return f"the rerun contract broke ({len(failures)} breach(es))", failures, None, out
    commit, dirty = git_commit(ROOT)
    rows = [{"claim": r.claim, "kind": r.kind, "committed_value": r.committed_value, "fresh_value": r.fresh_value,
             "committed_verdict": r.committed_verdict, "fresh_verdict": r.fresh_verdict,
             "rel_diff": _finite(r.rel_diff), "tolerance": r.tolerance, "status": r.status}
            for r in compare(target.record, fresh, claims)]  # fmt: skip
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None, [], {"profile": p.profile, "commit": commit, "dirty": dirty, "when": when, "rows": rows}, out


def apply(p: Plan, verified_by: dict) -> list[str]:
    """Write the re-keyed records of `p`, all validated before the first is written; return their profiles."""
    from shared.results import validate, write_json_atomic

    records = [(t, rekeyed(t, p.paper, verified_by)) for t in p.targets]
    for t, rec in records:
        validate(rec, f"{p.paper.slug} results ({t.profile}, re-keyed)")
    for t, rec in records:
        write_json_atomic(p.paper.results_path(t.profile), rec)
    return [t.profile for t in p.targets]


def select(args) -> list:
    from shared.cli import UsageError
    from shared.paper import discover, get
    from shared.runner.freshness import STALE, assess

    if args.all and args.slugs:
        raise UsageError("name papers or give --all, not both")
    if args.slugs:
        return [get(s) for s in args.slugs]
    if not args.all:
        raise UsageError("name the papers to re-key, or give --all for every paper with a stale result")
    return [p for p in discover() if any(assess(p, prof).status == STALE for prof in p.profiles())]


def main(args) -> int:
    from shared import ROOT
    from shared.runner.state import RunLock, RunnerBusy

    papers = select(args)
    if not papers:
        print("rekey: no paper has a stale result")
        return 0
    if args.dry_run:
        plans = [plan(p, args.check_profile) for p in papers]
        print("\n".join(_line(p, dry_run=True) for p in plans))
        return 1 if any(p.refusal for p in plans) else 0
    try:
        with RunLock(ROOT):  # results are written: no `papers run` at the same time
            summary, bad = run(papers, args.check_profile)
    except RunnerBusy as e:
        print(f"papers rekey: {e}", file=sys.stderr)
        return 3
    print("\n".join(summary))
    return 1 if bad else 0


def run(papers: list, profile: str) -> tuple[list[str], bool]:
    """Plan, verify and re-key each paper in turn; the summary lines, and whether any paper was refused or broke."""
    summary, bad = [], False
    for paper in papers:
        p = plan(paper, profile)
        if p.refusal or not p.targets:
            summary.append(_line(p))
            bad |= p.refusal is not None
            continue
        print(f"rekey: {paper.slug}: re-executing [{profile}] to hold it to its committed record", flush=True)
        problem, lines, verified_by, out = verify(p)
        if problem:
            if lines:
                print("\n".join(lines), file=sys.stderr)
            summary.append(_line(p, failed=f"{problem}; the results stay stale (rerun kept in {out})"))
            bad = True
            continue
        shutil.rmtree(out, ignore_errors=True)
        summary.append(_line(p, done=apply(p, verified_by)))
    return summary, bad


def _line(p: Plan, dry_run: bool = False, done: list[str] | None = None, failed: str | None = None) -> str:
    slug = p.paper.slug
    if p.refusal:
        text = f"{slug}: refused: {p.refusal}"
    elif failed:
        text = f"{slug}: not re-keyed: {failed}"
    elif not p.targets:
        text = f"{slug}: nothing to re-key: {p.nothing}"
    elif dry_run:
        text = (f"{slug}: would re-execute [{p.profile}] into a scratch folder and, if the rerun contract holds, "
                f"re-key {', '.join(t.profile for t in p.targets)}")  # fmt: skip
    else:
        text = f"{slug}: re-keyed {', '.join(done or [])} (verified by a rerun of [{p.profile}])"
    return "\n".join([text, *(f"    not re-keyed: {why}" for why in p.left)])
