"""Which notebooks CI re-executes, so that CI time stays bounded as the number of papers grows.

Re-executing every notebook makes CI linear in papers (18 notebooks took 16 of CI's 24 minutes). The plan re-executes:

- **changed**: every paper whose own files changed against its committed default result (its notebook's code cells,
  `method.py`, `claims.py`, parameters), that has no result yet, or whose last run failed: always, however many;
- **shared**: papers stale only because of inputs they share with others (a `shared/` module, a data folder, a package
  version, the kernelspec): at most `cap` of them, chosen by rotation; the others stay *stale*, truthfully, in
  `papers status`, the README and the site, until `papers run --stale` or a verified `papers rekey` brings them back;
- **sample**: `sample` of the fresh papers, chosen by rotation, so that every notebook is re-executed regularly.

The rotation turns with the commit: `turn` is the number of commits in the history (`git rev-list --count HEAD`), and
turn t takes the k papers that start at position t*k (mod n) of the sorted slugs. Over n/k consecutive commits every
paper comes up once; the same commit always gives the same plan, on any machine.

A paper's other notebooks (the kvpress side-by-side of h2o_2023) follow their paper. Every paper, selected or not, is
also checked statically by the test suite: its record validates, its verdicts recompute from `claims.py`, its tagged
cells hold outputs, its folder keeps the contract, and the generated tables agree with `papers status`.

`make test` writes the plan (`papers ci-plan --out build/ci-plan.json`) and passes it to pytest, whose notebook
conftest skips the notebooks that are not in it; `make test-all` re-executes every notebook and records, on success,
the commit it passed at (`build/test-all.json`), which `papers release` requires.
"""

import argparse
import functools
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shared import ROOT
from shared.paper import Paper, discover
from shared.repro import git_commit

SAMPLE = 2  # fresh papers re-executed on each CI run
CAP = 4  # papers re-executed when a shared input stales many of them
PLAN_ENV = "TOKEN_PAPERS_CI_PLAN"
TEST_ALL_STAMP = Path("build") / "test-all.json"
CHANGED, SHARED, SAMPLED, SKIPPED = "changed", "shared", "sample", "skipped"


@dataclass
class Item:
    slug: str
    group: str  # CHANGED, SHARED, SAMPLED or SKIPPED
    why: str
    expected_s: float
    notebooks: list[dict] = field(default_factory=list)  # {"path": repo-relative, "kernel": kernelspec name}


def notebook_kernel(path: Path) -> str:
    """The kernelspec a notebook asks for (its metadata), `token-papers-cpu` when it names none."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, json.JSONDecodeError):
        return "token-papers-cpu"
    return (meta.get("kernelspec") or {}).get("name") or "token-papers-cpu"


def paper_notebooks(paper: Paper, root: Path = ROOT) -> list[dict]:
    """The paper's notebook first, then its other notebooks (benchmarks such as `kvpress_side_by_side.ipynb`)."""
    others = sorted(p for p in paper.dir.glob("*.ipynb") if p != paper.notebook)
    return [{"path": str(p.relative_to(root)), "kernel": notebook_kernel(p)} for p in [paper.notebook, *others]]


def local_change(paper: Paper, recorded: dict, current: dict) -> list[str]:
    """The paper's own inputs (files under `papers/<slug>/`, its notebook's code cells) that differ from the record."""
    prefix = f"papers/{paper.slug}/"
    keys = set(recorded) | set(current)
    return sorted(k for k in keys if k.startswith(prefix) and recorded.get(k) != current.get(k))


def rotation(slugs: list[str], k: int, turn: int) -> list[str]:
    """`k` of the sorted `slugs`, starting at position turn*k (mod n): consecutive turns walk through all of them."""
    slugs = sorted(slugs)
    if k <= 0 or not slugs:
        return []
    if k >= len(slugs):
        return slugs
    start = (turn * k) % len(slugs)
    return [slugs[(start + i) % len(slugs)] for i in range(k)]


def commit_turn(root: Path = ROOT) -> int:
    """The number of commits in the history of HEAD (0 outside a git repository)."""
    from shared.citation.gitrepo import git

    count = git(root, "rev-list", "--count", "HEAD", check=False)
    return int(count) if count.isdigit() else 0


def classify(paper: Paper, profile: str = "default") -> tuple[str, str, float]:
    """(group, why, expected seconds) of one paper, from the freshness of its `profile` result."""
    from shared.runner.freshness import FRESH, NEVER, assess

    f = assess(paper, profile)
    if f.status == FRESH:
        return SAMPLED, "fresh", f.expected_s
    if f.status == NEVER or not f.record:
        return CHANGED, f.describe(), f.expected_s
    recorded = (f.record.get("provenance") or {}).get("inputs") or {}
    own = local_change(paper, recorded, f.inputs or {})
    if own:
        shown = ", ".join(k.removeprefix(f"papers/{paper.slug}/") for k in own[:4]) + (" ..." if len(own) > 4 else "")
        return CHANGED, f"its own files changed: {shown}", f.expected_s
    return SHARED, f.describe(), f.expected_s


def plan(papers: list[Paper] | None = None, turn: int | None = None, sample: int = SAMPLE, cap: int = CAP,
         everything: bool = False, root: Path = ROOT) -> dict:  # fmt: skip
    """The CI plan: which papers' notebooks are re-executed and why (see the module docstring)."""
    papers = discover() if papers is None else papers
    turn = commit_turn(root) if turn is None else turn
    items = {}
    for paper in papers:
        group, why, expected = classify(paper)
        items[paper.slug] = Item(paper.slug, group, why, round(expected, 1), paper_notebooks(paper, root))
    if everything:
        chosen = set(items)
    else:
        fresh = [s for s, it in items.items() if it.group == SAMPLED]
        shared = [s for s, it in items.items() if it.group == SHARED]
        chosen = {s for s, it in items.items() if it.group == CHANGED}
        chosen |= set(rotation(shared, cap, turn)) | set(rotation(fresh, sample, turn))
    for slug, it in items.items():
        if slug not in chosen:
            if it.group == SHARED:
                it.why = f"not in this turn's capped sample, stays {it.why}"
            it.group = SKIPPED
    notebooks = [nb for s in sorted(chosen) for nb in items[s].notebooks]
    return {
        "commit": git_commit(root)[0],
        "turn": turn,
        "sample": sample,
        "cap": cap,
        "everything": everything,
        "papers": len(items),
        "notebooks": notebooks,
        "expected_s": round(sum(items[s].expected_s for s in chosen), 1),
        "items": [asdict(items[s]) for s in sorted(items)],
        "selected": sorted(chosen),
    }


def describe(p: dict) -> list[str]:
    """The plan in a few lines, as CI prints it."""
    by = {g: [it for it in p["items"] if it["slug"] in p["selected"] and it["group"] == g] for g in (CHANGED, SHARED)}
    sampled = [it for it in p["items"] if it["slug"] in p["selected"] and it["group"] == SAMPLED]
    left = [it for it in p["items"] if it["slug"] not in p["selected"]]
    stale_left = [it for it in left if not it["why"].startswith("fresh")]
    head = "every notebook (make test-all)" if p["everything"] else f"turn {p['turn']}"
    out = [f"CI plan at {p['commit'][:10] or '(no commit)'}, {head}: {len(p['selected'])} of {p['papers']} papers "
           f"re-executed ({len(p['notebooks'])} notebooks, about {p['expected_s']:.0f} s of recorded run time)"]  # fmt: skip
    for it in by[CHANGED]:
        out.append(f"  changed  {it['slug']}: {it['why']}")
    for it in by[SHARED]:
        out.append(f"  shared   {it['slug']} (capped sample of {p['cap']}): {it['why']}")
    if sampled:
        out.append(f"  sample   {', '.join(it['slug'] for it in sampled)} (rotating, {p['sample']} per commit)")
    if stale_left:
        out.append(f"  {len(stale_left)} stale papers not re-executed this turn: they stay stale until "
                   "`papers run --stale` or `papers rekey` (first: " + ", ".join(it["slug"] for it in stale_left[:5])
                   + ")")  # fmt: skip
    out.append(f"  {len(left)} papers checked statically only (record, verdicts from claims.py, tagged outputs, "
               "folder contract, generated tables)")  # fmt: skip
    return out


@functools.cache
def selected_paths(plan_file: Path) -> frozenset[str]:
    """The repo-relative notebook paths a plan file selects (read once per process)."""
    return frozenset(nb["path"] for nb in json.loads(Path(plan_file).read_text())["notebooks"])


def record_test_all(root: Path = ROOT) -> Path:
    """After `make test-all` passed: write the commit it passed at, and whether tracked files were clean."""
    commit, dirty = git_commit(root)
    path = root / TEST_ALL_STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"commit": commit, "clean": not dirty}, indent=1) + "\n")
    return path


def test_all_problem(root: Path = ROOT) -> str | None:
    """Why the tree at HEAD lacks a green `make test-all` (None when it has one)."""
    path = root / TEST_ALL_STAMP
    if not path.exists():
        return "`make test-all` has not passed on this machine (it re-executes every notebook; run it at this commit)"
    stamp, head = json.loads(path.read_text()), git_commit(root)[0]
    if stamp.get("commit") != head:
        return f"`make test-all` last passed at {str(stamp.get('commit'))[:10]}, not at HEAD {head[:10]}: run it again"
    if not stamp.get("clean"):
        return "`make test-all` passed on a tree with uncommitted changes: commit, then run it again"
    return None


def site_sample(papers: list[Paper] | None = None, k: int = 4) -> list[Paper]:
    """The papers whose pages the real-site tests build and crawl in Chromium (minutes per paper at 200 papers): all
    of them under `make test-all` (a plan with `everything`), else `k` of them by the CI plan's rotation."""
    papers = discover() if papers is None else papers
    plan_file = os.environ.get(PLAN_ENV)
    plan_ = json.loads(Path(plan_file).read_text()) if plan_file and Path(plan_file).exists() else {}
    if plan_.get("everything"):
        return papers
    turn = plan_.get("turn", commit_turn())
    chosen = set(rotation([p.slug for p in papers], k, turn))
    # a sampled page that links to another paper's page (`../spectr_2023/...` in a README) needs that page built too
    slugs = {p.slug for p in papers}
    for p in papers:
        readme = p.dir / "README.md"
        if p.slug in chosen and readme.exists():
            chosen |= {s for s in re.findall(r"\.\./([a-z0-9_]+)/", readme.read_text()) if s in slugs}
    return [p for p in papers if p.slug in chosen]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="write the plan as JSON to this file (CI passes it to pytest)")
    p.add_argument("--all", action="store_true", help="select every notebook (what `make test-all` runs)")
    p.add_argument("--sample", type=int, default=SAMPLE, help=f"fresh papers per turn (default {SAMPLE})")
    p.add_argument("--cap", type=int, default=CAP, help=f"shared-stale papers per turn (default {CAP})")
    p.add_argument("--turn", type=int, help="rotation turn (default: the number of commits of HEAD)")
    p.add_argument("--plan", type=Path, help="read this plan file instead of computing one")
    p.add_argument("--kernel", metavar="NAME", help="print only the selected notebooks that run in this kernel")
    p.add_argument("--passed-all", action="store_true", help="record that `make test-all` passed at HEAD")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")


def main(args) -> int:
    from shared.cli import UsageError

    if args.passed_all:
        print(f"recorded: make test-all passed at HEAD ({record_test_all().relative_to(ROOT)})")
        return 0
    if args.sample < 0 or args.cap < 0:
        raise UsageError("--sample and --cap must be 0 or more")
    if args.plan:
        if not args.plan.exists():
            raise UsageError(f"no plan file {args.plan} (write one with `papers ci-plan --out {args.plan}`)")
        p = json.loads(args.plan.read_text())
    else:
        p = plan(turn=args.turn, sample=args.sample, cap=args.cap, everything=args.all)
    if args.kernel:
        for nb in p["notebooks"]:
            if nb["kernel"] == args.kernel:
                print(nb["path"])
        return 0
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(p, indent=1) + "\n")
    if args.json:
        json.dump(p, sys.stdout, indent=1)
        print()
    else:
        print("\n".join(describe(p)))
    return 0
