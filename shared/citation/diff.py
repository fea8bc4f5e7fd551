"""`papers diff TAG_A [TAG_B]`: the claims whose value or verdict changed between two versions (B defaults to HEAD).

Both sides are read from git, so comparing two releases needs no checkout. A claim is matched by paper, profile and
claim id; one that exists on one side only is listed as added or removed.
"""

import argparse
import json
import sys
from pathlib import Path

from shared import ROOT
from shared.citation.gitrepo import resolve
from shared.citation.snapshot import Snapshot

FORMATS = ("text", "json", "markdown")


def compare(a: Snapshot, b: Snapshot, rtol: float = 0.0) -> list[dict]:
    """One dict per changed claim: paper, profile, claim, change (verdict|value|added|removed), before and after."""
    ra, rb = a.results(), b.results()
    out = []
    for key in sorted(set(ra) | set(rb)):
        slug, profile = key
        ca = {c["id"]: c for c in ra[key].record["claims"]} if key in ra else {}
        cb = {c["id"]: c for c in rb[key].record["claims"]} if key in rb else {}
        for cid in list(ca) + [i for i in cb if i not in ca]:
            before, after = ca.get(cid), cb.get(cid)
            if before is None or after is None:
                change = "added" if before is None else "removed"
            elif before["verdict"] != after["verdict"]:
                change = "verdict"
            elif _differs(before["ours"], after["ours"], rtol):
                change = "value"
            else:
                continue
            out.append({"paper": slug, "profile": profile, "claim": cid, "change": change,
                        "before": _side(before), "after": _side(after)})  # fmt: skip
    return out


def diff_versions(a: str, b: str | None = None, rtol: float = 0.0, repo: Path = ROOT):
    """Resolve two versions (B defaults to HEAD) and compare them: `(version_a, version_b, changes)`."""
    va, vb = resolve(repo, a), resolve(repo, b)
    return va, vb, compare(Snapshot(repo, va.commit, va.label), Snapshot(repo, vb.commit, vb.label), rtol)


def _differs(x: dict, y: dict, rtol: float) -> bool:
    for k in ("value", "low", "high"):
        u, v = x.get(k), y.get(k)
        if (u is None) != (v is None):
            return True
        if u is not None and abs(u - v) > rtol * max(abs(u), abs(v)):
            return True
    return x.get("n") != y.get("n")


def _side(c: dict | None) -> dict | None:
    if c is None:
        return None
    return {"value": c["ours"]["value"], "ours": c["ours"], "verdict": c["verdict"], "fidelity": c["fidelity"]}


def _show(side: dict | None) -> str:
    from shared.browse.index import fmt_ours

    return "-" if side is None else f"{fmt_ours(side['ours'])} ({side['verdict']})"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("version_a", metavar="TAG_A", help="the older version: a tag or commit")
    p.add_argument("version_b", metavar="TAG_B", nargs="?", default=None, help="the newer version (default: HEAD)")
    p.add_argument("--format", default="text", help=f"one of {', '.join(FORMATS)} (default: text)")
    p.add_argument("--rtol", type=float, default=0.0,
                   help="ignore value changes within this relative tolerance (default: 0, any change)")  # fmt: skip
    p.add_argument("--exit-code", action="store_true", help="exit 1 when something changed, like `git diff`")


def main(args) -> int:
    from shared.cli import UsageError

    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r}; valid: {', '.join(FORMATS)}")
    if args.rtol < 0:
        raise UsageError(f"--rtol must be >= 0, got {args.rtol}")
    va, vb, changes = diff_versions(args.version_a, args.version_b, args.rtol, repo=ROOT)
    if args.format == "json":
        doc = {"from": {"label": va.label, "commit": va.commit}, "to": {"label": vb.label, "commit": vb.commit},
               "changes": changes}  # fmt: skip
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        header = ["paper", "profile", "claim", "change", va.label, vb.label]
        rows = [[c["paper"], c["profile"], c["claim"], c["change"], _show(c["before"]), _show(c["after"])]
                for c in changes]  # fmt: skip
        if args.format == "markdown":
            print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
            for r in rows:
                print("| " + " | ".join(x.replace("|", r"\|") for x in r) + " |")
        elif rows:
            widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
            for r in [header, *rows]:
                print("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
        n = len(changes)
        print(f"{n} claim{'s' if n != 1 else ''} changed between {va.label} and {vb.label}"
              + ("" if n else " (same values and verdicts)"), file=sys.stderr if args.format != "text" else sys.stdout)  # fmt: skip
    return 1 if (args.exit_code and changes) else 0
