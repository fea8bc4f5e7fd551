"""`papers release vYYYY.MM.N`: refuse unless every result is valid, fresh and committed; then stamp and tag.

A release is what people cite, so it must only ever point at results that (1) pass the schema, (2) were produced by the
inputs now in the tree (not stale), (3) are committed, so the tag holds exactly what was checked, and (4) are neither
exploratory nor a pre-registration violation (`shared.preregistration.verify_record`), and (5) `make test-all`, which
re-executes every notebook (CI re-executes only a sample), passed at this very commit on a clean tree. It then writes
the version and date into `CITATION.cff`, regenerates `results/index.json`, commits those two files alone and puts an
annotated tag on that commit. `CITATION.cff` gets no `commit:` field: a file cannot hold the hash of the commit that
contains it, and the tag already names that commit.
"""

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from shared import ROOT
from shared.citation.gitrepo import GitError, changed_paths, git, require_repo, tags
from shared.cli import UsageError

TAG_RE = re.compile(r"^v\d+\.\d+\.\d+$")
# what must be committed before a release: the results and the citation file (results/index.json is regenerated and
# committed by the release itself, so a freshly written one does not block it)
RELEASE_PATHS = ["papers/*/results/*", "CITATION.cff"]


def problems(repo: Path = ROOT) -> list[str]:
    """Every reason not to release now, in words; empty when the results are valid, fresh and committed."""
    from shared.browse.index import freshness
    from shared.paper import discover
    from shared.preregistration import EXPLORATORY, VIOLATION, verify_record
    from shared.results import ResultsError, load

    out, unregistered = [], []
    papers = discover()
    if not papers:
        out.append("no papers: nothing to release")
    for paper in papers:
        files = sorted((paper.dir / "results").glob("*.json"))
        if not paper.results_path("default").exists():
            out.append(f"papers/{paper.slug}: no results/default.json (run it: `papers run {paper.slug}`)")
        for path in files:
            rel = path.relative_to(repo)
            try:
                record = load(path)
            except ResultsError as e:
                out.append(f"invalid: {e}")
                continue
            check = verify_record(paper, path)
            if check.status in (EXPLORATORY, VIOLATION):
                why = f": {check.reasons[0]}" if check.status == VIOLATION else ""
                unregistered.append(f"{rel} ({check.status}{why})")
            status, changed = freshness(paper, path.stem, record)
            if status != "fresh":
                why = f"; changed: {', '.join(changed[:6])}" + (" ..." if len(changed) > 6 else "") if changed else ""
                out.append(f"{status}: {rel} (rerun `papers run {paper.slug} --profile {path.stem}`{why})")
    if unregistered:
        out.append(f"not pre-registered: {', '.join(unregistered)} (rerun them with `papers run` from a tree whose "
                   "claims, code and parameters are committed)")  # fmt: skip
    from shared.runner.ciplan import test_all_problem

    untested = test_all_problem(repo)
    if untested:
        out.append(f"not tested: {untested}")
    dirty = changed_paths(repo, RELEASE_PATHS)
    if dirty:
        shown = ", ".join(dirty[:8]) + (f" and {len(dirty) - 8} more" if len(dirty) > 8 else "")
        out.append(f"uncommitted: {shown} (commit them: a tag must hold exactly the results that were checked)")
    return out


def stamp(text: str, version: str, date: str) -> str:
    """`CITATION.cff` text with `version` and `date-released` set; every other line is kept as it was."""
    for key, value in (("version", f'"{version}"'), ("date-released", date)):
        line = f"{key}: {value}"
        pattern = re.compile(rf"^{re.escape(key)}:.*$", re.M)
        text = pattern.sub(line, text, count=1) if pattern.search(text) else text.rstrip("\n") + f"\n{line}\n"
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", help="the new tag, vYEAR.MONTH.N (e.g. v2026.12.0)")
    p.add_argument("--date", help="release date, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--dry-run", action="store_true", help="run the checks and say what would happen; change nothing")


def main(args) -> int:
    import yaml

    from shared.browse.index import INDEX_PATH, collect
    from shared.results import write_json_atomic

    repo = ROOT
    require_repo(repo)
    if not TAG_RE.match(args.version):
        raise UsageError(f"version {args.version!r} is not of the form vYEAR.MONTH.N, e.g. v2026.12.0")
    existing = tags(repo)
    if args.version in existing:
        raise UsageError(f"tag {args.version} already exists; existing tags: {', '.join(existing[:10])}")
    date = args.date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise UsageError(f"--date {date!r} is not a date of the form YYYY-MM-DD") from None
    cff_path = repo / "CITATION.cff"
    if not cff_path.exists():
        raise UsageError("CITATION.cff is missing at the repository root: a release stamps its version there")

    found = problems(repo)
    if found:
        print(f"papers release: refusing to release {args.version}:", file=sys.stderr)
        for msg in found:
            print(f"  - {msg}", file=sys.stderr)
        return 1
    index = collect()
    c = index["counts"]
    summary = (f"{c['claims']} claims from {c['papers']} papers: "
               + ", ".join(f"{n} {k}" for k, n in c["verdict"].items()))  # fmt: skip
    if args.dry_run:
        print(f"would release {args.version} ({date}) at {git(repo, 'rev-parse', '--short=12', 'HEAD')}: {summary}")
        return 0

    new_cff = stamp(cff_path.read_text(encoding="utf-8"), args.version, date)
    if (yaml.safe_load(new_cff) or {}).get("version") != args.version:
        raise UsageError("CITATION.cff: could not set its version field; check that it is valid YAML")
    cff_path.write_text(new_cff, encoding="utf-8")
    write_json_atomic(repo / INDEX_PATH, index)
    paths = ["CITATION.cff", str(INDEX_PATH)]
    git(repo, "add", "--", *paths)
    try:
        git(repo, "commit", "--quiet", "-m", f"Release {args.version}", "-m", summary, "--", *paths)
    except GitError as e:
        raise GitError(f"{e} (CITATION.cff and {INDEX_PATH} are updated but not committed)") from None
    git(repo, "tag", "-a", args.version, "-m", f"Token Papers {args.version}\n\n{summary}")
    commit = git(repo, "rev-parse", "--short=12", "HEAD")
    print(f"released {args.version} ({date}) at {commit}: {summary}")
    print(f"publish it with: git push origin HEAD {args.version}")
    return 0
