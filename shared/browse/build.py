"""Build the static results site: an index page with the verdict table, and one page per paper with its claims,
figures, executed notebook, abstract, scope and citation.

Everything a page loads lives under the output folder, so the site works from any static server, from `file://`, and
with no network at all. The only outside addresses are outbound links to the papers, which are never fetched on load.
"""

import datetime as dt
import re
import shutil
from pathlib import Path

from shared import ROOT

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
KATEX_DIR = Path("/usr/share/javascript/katex")  # Debian's libjs-katex (ci/system-packages.txt)
MARKER = ".token-papers-site"  # marks a folder this module built, so rebuilding may empty it
# the prose on what is replicated; the `## Scope` table (shared/scope.py) is shown as a table of its own
SCOPE_HEADINGS = ("what we replicate", "what was replicated")
DEVIATION_HEADINGS = ("deviations",)


class SiteError(ValueError):
    """The site cannot be built where asked (a folder that is not ours, say)."""


def slug_class(text: str) -> str:
    """`"partially reproduced"` -> `"partially-reproduced"`: a CSS class name."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


# a README section links to another paper's README (`../spectr_2023/README.md#a-heading`); on the site that paper is
# `../spectr_2023/index.html`, which has no README headings, so the anchor goes too
_README_LINK = re.compile(r'href="((?:\.\./[a-z0-9_]+/)?)README\.md(?:#[^"]*)?"')


def markdown_html(text: str) -> str:
    """Markdown to HTML the way Jupyter does it, leaving `$...$` math intact for KaTeX; links to paper READMEs point at
    the papers' site pages."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return _README_LINK.sub(lambda m: f'href="{m.group(1)}index.html"', markdown2html_mistune(text))


def readme_section(readme: Path, headings: tuple[str, ...]) -> str | None:
    """The body of the first `## ` section whose title starts with one of `headings` (case-insensitive)."""
    if not readme.exists():
        return None
    lines, body, inside = readme.read_text(encoding="utf-8").splitlines(), [], False
    for line in lines:
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip().lower().startswith(headings)
            continue
        if inside:
            body.append(line)
    text = "\n".join(body).strip()
    return text or None


def notebook_intro(notebook: Path) -> str | None:
    """The notebook's first markdown cell without its title line: it states what is and is not replicated."""
    import nbformat

    if not notebook.exists():
        return None
    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if cell is None:
        return None
    return "\n".join(line for line in cell.source.splitlines() if not line.startswith("# ")).strip() or None


def _empty_dir(out: Path) -> None:
    """Make `out` an empty folder, refusing to wipe one that this module did not build."""
    if out.exists():
        if not out.is_dir():
            raise SiteError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise SiteError(f"{out} is not empty and was not built by `papers site build`: choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by papers site build; the whole folder is replaced on rebuild\n")


def _copy_assets(out: Path) -> bool:
    """Copy the site's own CSS/JS and, when Debian's libjs-katex is installed, KaTeX. Returns whether math works."""
    assets = out / "assets"
    shutil.copytree(STATIC, assets)
    if not (KATEX_DIR / "katex.min.js").exists():
        return False
    dest = assets / "katex"
    dest.mkdir()
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copyfile(KATEX_DIR / name, dest / name)  # follows Debian's symlinks
    (dest / "contrib").mkdir()
    shutil.copyfile(KATEX_DIR / "contrib" / "auto-render.js", dest / "contrib" / "auto-render.js")
    (dest / "fonts").mkdir()
    for font in sorted((KATEX_DIR / "fonts").resolve().glob("KaTeX_*")):
        shutil.copyfile(font, dest / "fonts" / font.name)
    return True


def _build_info() -> dict:
    from shared.citation.gitrepo import git_bytes

    out = git_bytes(ROOT, "rev-parse", "--short=12", "HEAD")
    return {"commit": out.decode().strip() if out else "unknown",
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}  # fmt: skip


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["slug"] = slug_class
    return env


def _decorate(row_or_claim: dict, fallback_unit: str = "") -> dict:
    """A row of the index or a claim of a record, with the texts the templates show; fields that older records lack
    (control, preconditions, decide, ...) come out as None."""
    from shared.browse.index import CLAIM_FIELDS, fmt_checks, fmt_control, fmt_n, fmt_ours, fmt_paper_value

    d = dict(row_or_claim)
    for key in CLAIM_FIELDS:
        d.setdefault(key, None)
    d["paper_value_text"] = fmt_paper_value(d)
    d["ours_text"] = fmt_ours(d["ours"]) + (f" {d['ours']['unit']}" if d["ours"].get("unit") else "")
    # n = 1 without a unit is a single exact number: saying "n = 1" adds nothing
    d["n_text"] = fmt_n(d["ours"]) if d["ours"].get("n_unit") or d["ours"].get("n", 1) > 1 else None
    d["interval"] = d["ours"].get("interval")
    d["checks_text"] = fmt_checks(d)
    d["control_text"] = fmt_control(d["control"]) or None
    d["preconditions"] = [{**p, "ours_text": fmt_ours(p["ours"]) if "value" in (p.get("ours") or {}) else ""}
                          for p in d["preconditions"] or []]  # fmt: skip
    return d


def render_notebook(notebook: Path, dest: Path, title: str) -> None:
    """The committed notebook (outputs of its default run) as HTML, with no CDN scripts."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="tokenpapers", extra_template_basedirs=[str(TEMPLATES / "nbconvert")])
    nb = nbformat.read(str(notebook), as_version=4)
    resources = {"tokenpapers": {"root": "../../", "katex": (dest.parent.parent.parent / "assets" / "katex").exists(),
                                 "title": title}}  # fmt: skip
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    dest.write_text(body, encoding="utf-8")


def _citation(slug: str) -> tuple[dict | None, str]:
    """The paper's BibTeX and APA at HEAD for its page, or why there is none (results not committed yet, say)."""
    from shared.citation.cite import citation, to_apa, to_bibtex
    from shared.cli import UsageError
    from shared.paper import PaperError
    from shared.results import ResultsError

    try:
        c = citation(slug)
    except (UsageError, PaperError, ResultsError) as e:
        return None, f"No committed results to cite yet ({e}). Commit them, then rebuild."
    return {"label": c["version"]["label"], "commit": c["version"]["commit"], "profile": c["result"]["profile"],
            "bibtex": to_bibtex(c), "apa": to_apa(c).split("\n\nReplicates:")[0]}, ""  # fmt: skip


def paper_context(paper, rows: list[dict], out_dir: Path, notebooks: bool) -> dict:
    """Everything the paper page shows, and copies its figures and results files into `out_dir`."""
    from shared.browse.index import REGISTRATIONS, fmt_commit, registration, scope_of
    from shared.citation.snapshot import profile_order
    from shared.claims import VERDICTS
    from shared.results import load

    meta = paper.meta
    try:
        entry = paper.catalog
    except KeyError:
        entry = {}
    authors = meta.get("authors")
    authors = ", ".join(authors) if isinstance(authors, list) else authors
    arxiv_id = meta.get("arxiv_id")
    runs = []
    files = {p.stem: p for p in (paper.dir / "results").glob("*.json")}
    for profile in profile_order(files):
        record = load(files[profile])
        prof_rows = [r for r in rows if r["profile"] == profile]
        (out_dir / "results").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files[profile], out_dir / "results" / f"{profile}.json")
        figures = []
        fig_dir = paper.dir / "results" / profile
        for png in sorted(fig_dir.glob("*.png")) + sorted(fig_dir.glob("*.svg")):
            dest = out_dir / "figures" / profile / png.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, dest)
            figures.append({"src": f"figures/{profile}/{png.name}", "name": png.stem.replace("_", " ")})
        first = prof_rows[0] if prof_rows else None
        reg, reg_why = registration(record)
        runs.append({
            "profile": profile,
            "headline": bool(first and first["headline"]),
            "status": first["status"] if first else "unknown",
            "stale_inputs": first["stale_inputs"] if first else [],
            "prov": record["provenance"],
            "commit_text": fmt_commit({"commit": record["provenance"]["commit"], "dirty": record["provenance"]["dirty"]}),
            "claims": [_decorate(c) for c in record["claims"]],
            "summary": record["summary"],
            "figures": figures,
            "results_href": f"results/{profile}.json",
            "registration": reg,
            "registration_label": REGISTRATIONS.get(reg, reg),
            "registration_reason": reg_why,
        })  # fmt: skip
    headline = next((r for r in runs if r["headline"]), runs[0] if runs else None)
    outcome = None
    if headline:
        outcome = {v: [c["id"] for c in headline["claims"] if c["verdict"] == v] for v in VERDICTS}
    readme = paper.dir / "README.md"
    scope = readme_section(readme, SCOPE_HEADINGS) or notebook_intro(paper.notebook)
    deviations = readme_section(readme, DEVIATION_HEADINGS)
    notebook_href = None
    if notebooks and paper.notebook.exists():
        render_notebook(paper.notebook, out_dir / "notebook.html", paper.title)
        notebook_href = "notebook.html"
    prov_rows = []
    if headline:
        p = headline["prov"]
        env = p.get("env", {})
        prov_rows = [
            ("profile", headline["profile"]), ("device", p["device"]), ("run commit", headline["commit_text"]),
            ("started / finished (UTC)", f"{p['started_utc']} / {p['finished_utc']}"), ("wall time", f"{p['wall_time_s']} s"),
            ("seeds", ", ".join(map(str, p["seeds"]))), ("inputs hash", p["inputs_hash"]), ("params hash", p["params_hash"]),
            ("data hash", p["data_hash"] or "none (no data/ inputs)"), ("python", env.get("python", "?")),
            ("packages", ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())),
            ("kernel", env.get("kernel", "?")), ("cpu", f"{env.get('cpu', '?')} × {env.get('cpu_count', '?')}"),
        ]  # fmt: skip
    cite, cite_error = _citation(paper.slug)
    return {
        "slug": paper.slug,
        "title": paper.title,
        "authors": authors,
        "venue": meta.get("venue"),
        "arxiv_id": arxiv_id,
        "paper_url": meta.get("url") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
        "catalog_id": paper.catalog_id,
        "category": entry.get("category", "unknown"),
        "tier": entry.get("tier", "?"),
        "abstract": entry.get("abstract"),
        "runs": runs,
        "headline": headline,
        "outcome": outcome,
        "scope_html": markdown_html(scope) if scope else None,
        "scope_table": scope_of(paper),
        "headline_ids": [c["id"] for c in headline["claims"]] if headline else [],
        "deviations_html": markdown_html(deviations) if deviations else None,
        "notebook_href": notebook_href,
        "provenance_rows": prov_rows,
        "first_claim": headline["claims"][0]["id"] if headline and headline["claims"] else None,
        "cite": cite,
        "cite_error": cite_error,
    }


def catalog_page(env, section: dict, katex: bool, build_info: dict) -> str:
    """The catalog page: every catalog paper with where it stands, filterable by category, tier and state."""
    from shared.browse.index import STATES, fmt_verdict_summary

    rows = [{**r, "verdict_text": fmt_verdict_summary(r),
             # sorts the verdicts column by the share reproduced; rows without results sort last
             "reproduced_share": r["verdict"]["reproduced"] / r["claims"] if r["verdict"] and r["claims"] else ""}
            for r in section["rows"]]  # fmt: skip
    c = section["counts"]
    return env.get_template("catalog.html.j2").render(
        root="", katex=katex, build=build_info, rows=rows, counts=c, states=STATES, categories=list(c["category"]),
        tiers=list(c["tier"]),
    )  # fmt: skip


def build(out: Path, notebooks: bool = True, papers=None, log=print) -> dict:
    """Write the whole site into `out` (emptied first). Returns `{"pages": [...], "katex": bool}`."""
    from shared.browse.index import STATUSES, collect, fmt_commit
    from shared.catalog import catalog
    from shared.claims import FIDELITIES, VERDICTS
    from shared.paper import discover
    from shared.results import write_json_atomic

    papers = discover() if papers is None else papers
    index = collect(papers)
    out = Path(out)
    _empty_dir(out)
    katex = _copy_assets(out)
    if not katex:
        log(f"note: {KATEX_DIR} not found (Debian package libjs-katex): math shows as TeX source")
    write_json_atomic(out / "results" / "index.json", index)
    env = _env()
    build_info = _build_info()
    from shared.browse.index import fmt_registration, fmt_scope

    rows = [{**_decorate(r), "commit_text": fmt_commit(r), "registration_label": fmt_registration(r)}
            for r in index["rows"]]  # fmt: skip
    with_rows = {r["paper"] for r in rows}
    head = {r["paper"]: r for r in rows if r["headline"]}
    paper_list = [{**p, "scope_text": fmt_scope(p["scope"]), "claims": sum(r["headline"] and r["paper"] == p["paper"]
                                                                           for r in rows),
                   "registration": head[p["paper"]]["registration"] if p["paper"] in head else None,
                   "registration_label": head[p["paper"]]["registration_label"] if p["paper"] in head else None,
                   "registration_reason": head[p["paper"]]["registration_reason"] if p["paper"] in head else None}
                  for p in index["papers"]]  # fmt: skip
    page = env.get_template("index.html.j2").render(
        root="", katex=katex, build=build_info, counts=index["counts"], rows=rows, catalog_size=len(catalog()),
        categories=sorted({p["category"] for p in index["papers"]}), verdicts=VERDICTS, fidelities=FIDELITIES,
        statuses=STATUSES, unrun=[p for p in index["papers"] if p["paper"] not in with_rows], papers=paper_list,
        checks_column=any(r["control"] or r["preconditions"] for r in rows),
    )  # fmt: skip
    (out / "index.html").write_text(page, encoding="utf-8")
    (out / "catalog.html").write_text(catalog_page(env, index["catalog"], katex, build_info), encoding="utf-8")
    pages = ["index.html", "catalog.html"]
    template = env.get_template("paper.html.j2")
    for paper in papers:
        paper_dir = out / "papers" / paper.slug
        paper_dir.mkdir(parents=True, exist_ok=True)
        ctx = paper_context(paper, [r for r in index["rows"] if r["paper"] == paper.slug], paper_dir, notebooks)
        (paper_dir / "index.html").write_text(template.render(root="../../", katex=katex, build=build_info, p=ctx),
                                              encoding="utf-8")  # fmt: skip
        pages.append(f"papers/{paper.slug}/index.html")
        if ctx["notebook_href"]:
            pages.append(f"papers/{paper.slug}/notebook.html")
    return {"pages": pages, "katex": katex, "counts": index["counts"]}
