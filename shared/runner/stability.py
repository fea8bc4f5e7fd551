"""`papers stability SLUG`: rerun a paper's profile under other seeds (or other documents, through its parameters) into a
scratch folder, and say which verdicts moved.

The evidence standard asks for it before a result is committed: a verdict that flips under other seeds was luck. The
rerun goes through the runner's own executor (`shared.runner.execute`: papermill in a subprocess, the paper's kernel, a
timeout and a memory limit), with the profile's parameters plus the overrides; its record is written to the scratch
folder (`TOKEN_PAPERS_OUTPUT_DIR`), never to `papers/<slug>/results/`, and is marked exploratory. Then the fresh record
is compared with the recorded `results/<profile>.json` claim by claim (`compare_records`). With the same seeds and
another `--threads`, the relative differences are the thread-count spread a reproduction tolerance must cover.
"""

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug", metavar="SLUG", help="the paper to rerun")
    p.add_argument("--profile", default="default", metavar="NAME", help="the profile to rerun (default: default)")
    p.add_argument(
        "--seeds",
        metavar="S1,S2,...",
        help="seeds for the rerun: the notebook's SEEDS parameter (a list), or SEED (the first value) if it has no SEEDS",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        dest="params",
        metavar="NAME=YAML_VALUE",
        help="set any parameter of the parameters cell (repeatable), e.g. -p 'DOCS=[\"kjv\"]' -p N_DOCS=40",
    )
    p.add_argument("--threads", type=int, metavar="N", help="BLAS and torch threads of the kernel (default: all cores)")
    p.add_argument("--out", metavar="DIR", help="scratch folder for the rerun (default: a new temporary folder)")
    p.add_argument("--json", metavar="FILE", help="also write the comparison as JSON to FILE")
    p.add_argument("--timeout", type=float, metavar="S", help="wall-clock limit in seconds (default: as `papers run`)")
    p.add_argument("--memory", type=float, metavar="GIB", help="memory limit in GiB (default: 90%% of RAM)")
    p.add_argument("--fail-on-move", action="store_true", help="exit 1 when any verdict moved (default: exit 0)")


def _rel_diff(a: float, d: float) -> float:
    if a:
        return d / abs(a)
    return 0.0 if d == 0 else math.inf


def compare_records(committed: dict, fresh: dict) -> list[dict]:
    """Two records of one paper and profile, claim by claim, in the committed record's order (then claims only the
    fresh one has).

    Returns one dict per claim: `id`, `committed_value`, `fresh_value`, `committed_verdict`, `fresh_verdict`,
    `abs_diff` and `rel_diff` (`|fresh - committed|`, and that over `|committed|`: `inf` when the committed value is 0
    and the fresh one is not; None when either value is missing) and `moved` (the verdicts differ, or the claim is in
    one record only).
    """
    old = {c["id"]: c for c in committed.get("claims", [])}
    new = {c["id"]: c for c in fresh.get("claims", [])}
    rows = []
    for cid in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(cid), new.get(cid)
        av = (a or {}).get("ours", {}).get("value")
        bv = (b or {}).get("ours", {}).get("value")
        d = abs(bv - av) if av is not None and bv is not None else None
        row = {
            "id": cid,
            "committed_value": av,
            "fresh_value": bv,
            "committed_verdict": a["verdict"] if a else None,
            "fresh_verdict": b["verdict"] if b else None,
            "abs_diff": d,
            "rel_diff": _rel_diff(av, d) if d is not None else None,
        }
        row["moved"] = row["committed_verdict"] != row["fresh_verdict"]
        rows.append(row)
    return rows


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return "inf" if math.isinf(x) else f"{x:.4g}"


def table(rows: list[dict]) -> str:
    """The comparison as aligned text: one line per claim, then "N of M verdicts moved"."""
    head = ["claim", "committed", "verdict", "rerun", "verdict", "rel. diff", "moved"]
    body = [[r["id"], _num(r["committed_value"]), r["committed_verdict"] or "-", _num(r["fresh_value"]),
             r["fresh_verdict"] or "-", _num(r["rel_diff"]), "MOVED" if r["moved"] else ""] for r in rows]  # fmt: skip
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in [head, *body]]
    moved = sum(r["moved"] for r in rows)
    return "\n".join([*lines, f"{moved} of {len(rows)} verdicts moved"])


def _finite(x):
    # JSON has no infinity: an undefined relative difference is written as null
    return None if isinstance(x, float) and not math.isfinite(x) else x


def overrides(paper, seeds: str | None, params: list[str]) -> dict:
    """The parameters `--seeds` and `-p` set, checked against the parameters cell (`shared.paper.check_params`)."""
    import yaml

    from shared.cli import UsageError
    from shared.paper import check_params

    defaults = paper.parameters()
    out = {}
    if seeds is not None:
        try:
            values = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise UsageError(f"--seeds must be comma-separated integers, e.g. 11,12,13; got {seeds!r}") from None
        if not values:
            raise UsageError("--seeds names no seed")
        if "SEEDS" in defaults:
            out["SEEDS"] = values
        elif "SEED" in defaults:
            out["SEED"] = values[0]
        else:
            raise UsageError(f"{paper.slug} has neither a SEEDS nor a SEED parameter; set its parameters with -p")
    for item in params:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-p takes NAME=YAML_VALUE, got {item!r}")
        try:
            out[name.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"-p {item!r}: the value is not valid YAML: {e}") from None
    if "PROFILE" in out:
        raise UsageError("choose the profile with --profile, not -p PROFILE=...")
    check_params(paper, out, source="papers stability")
    return out


def rerun(paper, profile: str, changes: dict, out: Path, *, threads: int | None = None, timeout: float | None = None,
          memory_gib: float | None = None):  # fmt: skip
    """Execute `paper`'s `profile` with `changes` to its parameters into the scratch folder `out`, through the runner's
    executor (its kernel, timeout and memory limit; `threads` None: as `papers run`).

    Returns the `Outcome` and the path of the fresh record (`out/results/<profile>.json`, there when the run is ok).
    """
    from shared.paper import KERNELS
    from shared.preregistration import ENV_EXPLORATORY
    from shared.runner.execute import GiB, execute
    from shared.runner.job import Job
    from shared.runner.orchestrate import timeout_for

    base = paper.profile_params(profile)
    kernel = KERNELS["gpu"] if profile == "gpu" else paper.kernel
    job = Job(paper.slug, profile, kernel, {**base, **changes}, timeout_for(paper, profile, timeout),
              paper.inputs_hash(profile), memory_bytes=int(memory_gib * GiB) if memory_gib else None,
              threads=threads)  # fmt: skip
    # the rerun is never the record: its result is marked exploratory, and a CI rerun contract does not apply to it
    saved = {k: os.environ.get(k) for k in (ENV_EXPLORATORY, "TOKEN_PAPERS_RERUN_CONTRACT")}
    os.environ[ENV_EXPLORATORY] = "1"
    os.environ.pop("TOKEN_PAPERS_RERUN_CONTRACT", None)
    try:
        outcome = execute(job, out, papers_dir=paper.root)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return outcome, out / "results" / f"{profile}.json"


def main(args) -> int:
    from shared.cli import UsageError
    from shared.paper import get
    from shared.runner.freshness import assess

    paper = get(args.slug)
    paper.profile_params(args.profile)  # PaperError for an unknown profile, with the valid ones
    changes = overrides(paper, args.seeds, args.params)
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    recorded = paper.results_path(args.profile)
    if not recorded.exists():
        raise UsageError(f"{paper.slug} has no results/{args.profile}.json to compare with: "
                         f"run `papers run {paper.slug} --profile {args.profile}` first")  # fmt: skip
    out = Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix=f"stability-{paper.slug}-"))
    if out.is_relative_to((paper.dir / "results").resolve()):
        raise UsageError(f"--out {out} is inside {paper.slug}'s results folder: a stability rerun never writes there")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty: give a new or empty folder")
    committed = json.loads(recorded.read_text(encoding="utf-8"))

    shown = ", ".join(f"{k}={v!r}" for k, v in changes.items()) or "no overrides (a plain rerun)"
    threads = f"{args.threads} threads" if args.threads else "threads: as `papers run`"
    print(f"stability: {paper.slug} [{args.profile}] with {shown}; {threads}; into {out}", flush=True)
    if not assess(paper, args.profile).fresh:
        print(f"note: results/{args.profile}.json is stale: differences may come from changed inputs, not only from "
              "the overrides", flush=True)  # fmt: skip

    outcome, fresh_path = rerun(paper, args.profile, changes, out, threads=args.threads, timeout=args.timeout,
                                memory_gib=args.memory)  # fmt: skip
    if not outcome.ok:
        print(f"papers stability: the rerun failed: {outcome.message} (log: {out / 'run.log'})", file=sys.stderr)
        return 1
    rows = compare_records(committed, json.loads(fresh_path.read_text(encoding="utf-8")))
    print(table(rows), flush=True)
    print(f"rerun: {fresh_path} (executed notebook: {out / 'executed.ipynb'})")
    if args.json:
        report = {"slug": paper.slug, "profile": args.profile, "overrides": changes, "threads": args.threads,
                  "out": str(out), "committed": str(recorded), "fresh": str(fresh_path),
                  "moved": sum(r["moved"] for r in rows), "claims": len(rows),
                  "rows": [{k: _finite(v) for k, v in r.items()} for r in rows]}  # fmt: skip
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 1 if args.fail_on_move and any(r["moved"] for r in rows) else 0
