"""`papers validate`: the structural contract of every paper folder, used by the test suite and the command line."""

import argparse

from shared.catalog import entry
from shared.notebooks import pair_status, read, tagged_cells
from shared.paper import REQUIRED_FILES, SLUG_RE, Paper, PaperError, discover
from shared.results import ResultsError, load


def problems(paper: Paper) -> list[str]:
    """Everything wrong with one paper folder, in words; empty when it keeps the contract."""
    out = []
    if not SLUG_RE.match(paper.slug):
        out.append(f"slug {paper.slug!r} is not importable snake_case ending in a year")
    for name in (*REQUIRED_FILES, paper.notebook.name):
        if not (paper.dir / name).exists():
            out.append(f"missing {name}")
    try:
        entry(paper.catalog_id)
    except (KeyError, PaperError) as e:
        out.append(str(e))
    if not paper.notebook.exists():
        return out
    nb = read(paper.notebook)
    if nb.metadata.get("kernelspec", {}).get("name") != paper.kernel:
        out.append(f"{paper.notebook.name}: kernelspec is {nb.metadata.get('kernelspec', {}).get('name')!r}, "
                   f"expected {paper.kernel!r}")  # fmt: skip
    if (err := pair_status(paper.notebook)) is not None:
        out.append(err)
    try:
        defaults = paper.parameters()
        if next(iter(defaults), None) != "PROFILE" or defaults["PROFILE"] != "default":
            out.append('the parameters cell must start with PROFILE = "default"')
        for profile in paper.profiles():
            paper.profile_params(profile)
    except PaperError as e:
        out.append(str(e))
    tagged = tagged_cells(nb)
    if not tagged:
        out.append(f"{paper.notebook.name}: no cell is tagged nbval-check-output, so CI compares no result")
    for i, cell in tagged:
        if cell.cell_type != "code" or not cell.get("outputs"):
            out.append(f"{paper.notebook.name}: tagged cell {i} has no stored output (nbval would pass it vacuously)")
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr"):
                out.append(f"{paper.notebook.name}: cell {i} stores an error or stderr output")
    results = paper.results_path("default")
    if not results.exists():
        out.append("results/default.json is missing: run the default profile and commit its results")
    for path in sorted((paper.dir / "results").glob("*.json")):
        try:
            record = load(path)
        except ResultsError as e:
            out.append(str(e))
            continue
        if record["catalog_id"] != paper.catalog_id or record["slug"] != paper.slug:
            out.append(f"{path.name}: catalog_id/slug do not match paper.yaml")
        if record["profile"] != path.stem:
            out.append(f"{path.name}: profile field is {record['profile']!r}")
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", help="papers to check (default: all)")


def main(args) -> int:
    from shared.paper import get

    papers = [get(s) for s in args.slugs] if args.slugs else discover()
    bad = 0
    for paper in papers:
        found = problems(paper)
        bad += bool(found)
        print(f"{paper.slug}: {'ok' if not found else 'FAILED'}")
        for msg in found:
            print(f"  - {msg}")
    print(f"{len(papers) - bad} ok, {bad} failed")
    return 1 if bad else 0
