"""`papers list`: every paper with its catalog id, title, result status, last run and verdicts."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="default", metavar="NAME", help="whose results to show (default: default)")


def _when(utc: str | None) -> str:
    return (utc or "").replace("T", " ")[:16] or "-"


def main(args) -> int:
    import shutil

    from shared.paper import discover
    from shared.runner.freshness import FRESH, assess, verdict_summary
    from shared.runner.state import State

    state = State()
    rows = []
    for paper in discover():
        if args.profile not in paper.profiles():
            rows.append((paper.slug, str(paper.catalog_id), paper.title, f"no {args.profile} profile", "-", ""))
            continue
        attempt = state.get(paper.slug, args.profile)
        f = assess(paper, args.profile, attempt)
        record = f.record or {}
        last = _when((record.get("provenance") or {}).get("finished_utc"))
        if attempt and f.status != FRESH:
            last = _when(attempt.get("finished_utc"))
        rows.append((paper.slug, str(paper.catalog_id), paper.title, f.status, last, verdict_summary(record)))
    if not rows:
        print("no papers yet: create one with `papers new`")
        return 0
    head = ("paper", "id", "title", "status", "last run (UTC)", f"verdicts [{args.profile}]")
    fixed = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
    room = shutil.get_terminal_size((160, 20)).columns - sum(fixed) + fixed[2] - 10
    fixed[2] = max(20, min(fixed[2], room))
    for r in [head, *rows]:
        title = r[2] if len(r[2]) <= fixed[2] else r[2][: fixed[2] - 1] + "~"
        cells = [r[0], r[1], title, r[3], r[4], r[5]]
        print("  ".join(c.ljust(w) if i < 5 else c for i, (c, w) in enumerate(zip(cells, fixed))).rstrip())
    return 0
