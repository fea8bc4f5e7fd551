"""`papers validate`: the structural contract of every paper folder, used by the test suite and the command line.

`problems(paper)` are errors (validation fails); `warnings(paper)` are printed but pass: for now a README without a
`## Scope` table is a warning, since the existing papers are still being given theirs, while a malformed one is an error.
"""

import argparse
import importlib
import importlib.util

from shared.catalog import entry
from shared.notebooks import pair_status, read, tagged_cells
from shared.paper import PAPERS_DIR, REQUIRED_FILES, SLUG_RE, Paper, PaperError, discover
from shared.results import ResultsError, load
from shared.scope import ScopeError, ScopeMissing, check_claims, placeholders, scope_table


def claim_ids(paper: Paper) -> list[str]:
    """The ids of `CLAIMS` in the paper's claims.py, in order (imports it; raises what the import raises)."""
    path = paper.dir / "claims.py"
    if paper.root.resolve() == PAPERS_DIR.resolve():
        module = importlib.import_module(f"papers.{paper.slug}.claims")
    else:  # a folder outside the project's papers/ (tests, scratch roots): load the file under a private name
        spec = importlib.util.spec_from_file_location(f"_token_papers_claims_{paper.slug}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return [c.id for c in module.CLAIMS]


def scope_problems(paper: Paper) -> list[str]:
    """Errors in the README's scope table: malformed rows, unknown claim ids, claims no tested row names.

    A missing `## Scope` section is not an error (see `warnings`)."""
    try:
        rows = scope_table(paper)
    except ScopeMissing:
        return []
    except ScopeError as e:
        return [str(e)]
    if not (paper.dir / "claims.py").exists():
        return []  # reported as a missing file already
    try:
        ids = claim_ids(paper)
    except Exception as e:  # noqa: BLE001 - any error in claims.py is the author's to see, in one line
        return [f"claims.py cannot be imported to check the scope table: {type(e).__name__}: {e}"]
    return check_claims(rows, ids, f"{paper.slug}/README.md")


def warnings(paper: Paper) -> list[str]:
    """What `papers validate` prints but does not fail on: a README without a scope table, template placeholders."""
    try:
        rows = scope_table(paper)
    except ScopeMissing as e:
        return [str(e)]
    except ScopeError:
        return []  # an error, reported by `problems`
    lines = placeholders(rows)
    if lines:
        many = len(lines) > 1
        return [f"{paper.slug}/README.md: scope row{'s' if many else ''} at line{'s' if many else ''} "
                f"{', '.join(map(str, lines))} still hold{'' if many else 's'} the template's <...> text"]  # fmt: skip
    return []


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
        return out + scope_problems(paper)
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
    out += scope_problems(paper)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", help="papers to check (default: all)")


def main(args) -> int:
    from shared.paper import get

    papers = [get(s) for s in args.slugs] if args.slugs else discover()
    bad = warned = 0
    for paper in papers:
        found, notes = problems(paper), warnings(paper)
        bad += bool(found)
        warned += bool(notes)
        print(f"{paper.slug}: {'ok' if not found else 'FAILED'}"
              + (f" ({len(notes)} warning{'s' if len(notes) > 1 else ''})" if notes else ""))  # fmt: skip
        for msg in found:
            print(f"  - {msg}")
        for msg in notes:
            print(f"  warning: {msg}")
    print(f"{len(papers) - bad} ok, {bad} failed" + (f", {warned} with warnings" if warned else ""))
    return 1 if bad else 0
