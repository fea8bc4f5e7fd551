"""`papers results`: one row per paper and claim, written to `results/index.json` and to the READMEs' generated tables.

The index is computed from the results files in the working tree and nothing else, so it is deterministic: the same
files give the same `index.json` byte for byte (no timestamps), and `papers results --check` can tell CI whether the
committed index and tables are current. "Stale" means the inputs a result recorded (`provenance.inputs_hash`) differ
from the paper's inputs now (`Paper.inputs_hash`): the code, parameters, data or environment lock changed since the run.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from shared import ROOT
from shared.claims import FIDELITIES, VERDICTS

INDEX_PATH = Path("results") / "index.json"
ROOT_MARKERS = ("<!-- verdicts:begin -->", "<!-- verdicts:end -->")
PAPER_MARKERS = ("<!-- results:begin -->", "<!-- results:end -->")
STATUSES = ("fresh", "stale", "unknown")
# where a catalog paper stands: results recorded, a folder without results yet, no folder
STATES = ("replicated", "in progress", "not started")
COLUMNS = ("paper", "claim", "paper's value", "ours", "n", "verdict", "fidelity", "checks", "profile", "device", "date",
           "commit", "status", "registration")  # fmt: skip
# `provenance.preregistration.status` (shared/preregistration.py) -> what readers see
REGISTRATIONS = {"preregistered": "pre-registered", "not-preregistered": "not pre-registered",
                 "exploratory": "exploratory", "violation": "pre-registration violated"}  # fmt: skip
# per-claim fields of results schema v2 that the index carries as recorded (absent in older records: None)
CLAIM_FIELDS = ("kind", "tolerance", "preconditions", "control", "decide", "paper_version", "paper_quote")


class MarkerError(ValueError):
    """A README lacks its generated-table markers (or has them twice, or in the wrong order)."""


# formatting shared by the terminal, the READMEs and the site


def fmt_number(x) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    return f"{x:.4g}"


def fmt_paper_value(row: dict) -> str:
    v = row["paper_value"]
    if v is None:
        return "-"
    unit = row.get("paper_unit") or ""
    # a unit only reads well after a number ("0 relative deviation"); a word ("brittle") stands alone
    return f"{fmt_number(v)} ({unit})" if unit and isinstance(v, int | float) else fmt_number(v)


def fmt_ours(ours: dict) -> str:
    if "value" not in ours:
        return "-"
    s = fmt_number(ours["value"])
    if "low" in ours:
        s += f" [{fmt_number(ours['low'])}, {fmt_number(ours['high'])}]"
    return s


def fmt_n(ours: dict) -> str:
    """`"8 documents"`: how many units the number rests on, and what they are."""
    n = ours.get("n")
    if n is None:
        return "-"
    return f"{n} {ours['n_unit']}" if ours.get("n_unit") else str(n)


def fmt_control(control: dict | None) -> str:
    if not control:
        return ""
    beaten = control.get("beaten")
    verb = {True: "beats", False: "does not beat", None: "undecided against"}[beaten]
    ours = control.get("ours") or {}
    return f"{verb} {control['name']} ({fmt_ours(ours)})" if "value" in ours else f"{verb} {control['name']}"


def fmt_preconditions(preconditions: list | None) -> str:
    if not preconditions:
        return ""
    failed = [p["id"] for p in preconditions if not p["passed"]]
    if failed:
        return f"precondition{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"
    return f"{len(preconditions)}/{len(preconditions)} precondition{'s' if len(preconditions) > 1 else ''} passed"


def fmt_checks(row: dict) -> str:
    """The control and the preconditions in one cell: `"beats random (0.8); 2/2 preconditions passed"`."""
    parts = [fmt_control(row.get("control")), fmt_preconditions(row.get("preconditions"))]
    return "; ".join(p for p in parts if p) or "-"


def fmt_registration(row: dict) -> str:
    return REGISTRATIONS.get(row.get("registration"), row.get("registration") or "-")


def fmt_scope(scope: dict) -> str:
    """`"3 of 5 tested"`, `"scope table missing"` or `"scope table malformed"`."""
    if scope["missing"]:
        return "scope table missing"
    if scope["error"]:
        return "scope table malformed"
    return f"{scope['tested']} of {scope['identified']} tested"


def fmt_commit(row: dict) -> str:
    commit = row["commit"] if row["commit"] == "unknown" else row["commit"][:10]
    return commit + ("*" if row["dirty"] else "")


def fmt_verdict_summary(row: dict) -> str:
    """A catalog row's verdicts in one phrase: `"3/5 reproduced, 1 partially, 1 inconclusive"` (`"-"` without results)."""
    v = row.get("verdict")
    if not v:
        return "-"
    short = {"partially reproduced": "partially"}
    rest = [f"{n} {short.get(k, k)}" for k, n in v.items() if n and k != "reproduced"]
    return ", ".join([f"{v.get('reproduced', 0)}/{row['claims']} reproduced", *rest])


# staleness


def freshness(paper, profile: str, record: dict) -> tuple[str, list[str]]:
    """`("fresh"|"stale"|"unknown", inputs that changed)`: recorded inputs hash against the paper's inputs now."""
    from shared.paper import PaperError

    try:
        now = paper.input_hashes(profile)
        current = paper.inputs_hash(profile)
    except (PaperError, OSError, ValueError, SyntaxError) as e:
        return "unknown", [f"cannot hash the inputs: {e}"]
    recorded = record["provenance"]
    if recorded["inputs_hash"] == current:
        return "fresh", []
    before = recorded.get("inputs") or {}
    changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    return "stale", changed


# pre-registration, from the record alone (shared/preregistration.py may say more, but the index does not need it)


def registration(record: dict) -> tuple[str, str]:
    """`(status, why)`, from the record alone: status is a key of `REGISTRATIONS`.

    The order of `shared.preregistration.verify_record`, without its git checks (so the index stays a function of the
    files): an exploratory run is `exploratory`; a `provenance.preregistration.status` of `clean` (the pre-registered
    files were committed when it ran) is `preregistered`, `uncommitted` is `not-preregistered`, and one of the
    statuses themselves is taken as it is; a record without that check (schema 1, or a run from a dirty tree) is
    `not-preregistered`, and so is any other record that says nothing about it.
    """
    prov = record["provenance"]
    pre = prov.get("preregistration")
    if prov.get("exploratory"):
        return "exploratory", "an exploratory run (papers run --exploratory): never the record of a release"
    if isinstance(pre, dict) and pre.get("status"):
        status = pre["status"]
        found = "; ".join(map(str, pre.get("problems") or pre.get("reasons") or []))
        if status == "clean":
            return "preregistered", "claims, code and parameters were committed before the run"
        if status == "uncommitted":
            return "not-preregistered", "run from a tree where " + (found or "pre-registered files were not committed")
        if status in REGISTRATIONS:
            return status, found or REGISTRATIONS[status]
        return "not-preregistered", f"unknown pre-registration status {status!r}"
    if record.get("schema_version", 1) < 2:
        return "not-preregistered", "recorded before pre-registration was checked (schema 1)"
    if prov.get("dirty"):
        return "not-preregistered", "run from a tree with uncommitted changes"
    return "not-preregistered", "the record carries no pre-registration check"


def scope_of(paper) -> dict:
    """The paper's scope table as the index stores it: counts and rows (without README line numbers)."""
    from shared.scope import summary

    s = summary(paper)
    s["rows"] = [{k: v for k, v in r.items() if k != "line"} for r in s["rows"]]
    return s


# the index


def collect(papers=None) -> dict:
    """Read and validate every results file; return the index (rows, counts) as a JSON-able dict.

    A results file that fails validation raises `ResultsError` naming the file and the field: an index that silently
    skipped it would understate what failed.
    """
    from shared.citation.snapshot import profile_order, sha256_bytes
    from shared.paper import discover
    from shared.results import load

    papers = discover() if papers is None else papers
    rows, listed, runs = [], [], {}
    for paper in papers:
        files = {p.stem: p for p in sorted((paper.dir / "results").glob("*.json"))}
        try:
            entry = paper.catalog
        except KeyError:
            entry = {}
        listed.append({"paper": paper.slug, "title": paper.title, "catalog_id": paper.catalog_id,
                       "category": entry.get("category", "unknown"), "profiles": profile_order(files),
                       "scope": scope_of(paper)})  # fmt: skip
        if not files:
            continue
        records = {profile: load(path) for profile, path in files.items()}
        fresh = {profile: freshness(paper, profile, record) for profile, record in records.items()}
        # the profile that counts in totals and summaries: the largest fresh one (a stale full run does not outrank a
        # fresh default), else default, else the preferred one
        headline = summary_profile({profile: {"status": status} for profile, (status, _) in fresh.items()})
        for profile in profile_order(files):
            path = files[profile]
            record = records[profile]
            prov = record["provenance"]
            status, changed = fresh[profile]
            reg, reg_why = registration(record)
            runs.setdefault(paper.slug, {})[profile] = {
                "status": status, "verdicts": Counter(c["verdict"] for c in record["claims"]),
                "fidelity": {c["fidelity"] for c in record["claims"]}}  # fmt: skip
            for claim in record["claims"]:
                rows.append({
                    "paper": paper.slug,
                    "title": record["title"],
                    "catalog_id": record["catalog_id"],
                    "category": entry.get("category", "unknown"),
                    "tier": entry.get("tier"),
                    "arxiv_id": record["arxiv_id"],
                    "claim": claim["id"],
                    "claim_text": claim["text"],
                    "paper_ref": claim["paper_ref"],
                    "paper_value": claim["paper_value"],
                    "paper_unit": claim["paper_unit"],
                    "ours": claim["ours"],
                    "rule": claim["rule"],
                    "reason": claim["reason"],
                    "verdict": claim["verdict"],
                    "fidelity": claim["fidelity"],
                    "profile": profile,
                    "headline": profile == headline,
                    "device": prov["device"],
                    "date": prov["finished_utc"][:10],
                    "commit": prov["commit"],
                    "dirty": prov["dirty"],
                    "status": status,
                    "stale_inputs": changed,
                    "results_file": path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path),
                    "results_sha256": sha256_bytes(path.read_bytes()),
                    **{k: claim.get(k) for k in CLAIM_FIELDS},
                    "registration": reg,
                    "registration_reason": reg_why,
                    "exploratory": bool(prov.get("exploratory")),
                    "rekeyed": bool(prov.get("rekey")),  # `papers rekey`: new inputs, verified by a rerun
                })  # fmt: skip
    return {"schema_version": 2, "generated_by": "papers results", "counts": {**counts(rows), "scope": scope_counts(listed)},
            "papers": listed, "rows": rows, "catalog": catalog_section(listed, runs)}  # fmt: skip


def summary_profile(runs: dict) -> str:
    """The profile a paper's catalog row summarises: its largest fresh one (gpu, then full, then default, then the
    rest by name), else `default`, else its headline profile."""
    from shared.citation.snapshot import profile_order

    order = profile_order(runs)
    fresh = [p for p in order if runs[p]["status"] == "fresh"]
    return fresh[0] if fresh else "default" if "default" in runs else order[0]


def catalog_section(listed: list[dict], runs: dict) -> dict:
    """One row per catalog paper, with where it stands (`STATES`), and the totals overall, per category and per tier.

    `listed` is the index's paper list and `runs` maps slug -> profile -> `{"status", "verdicts", "fidelity"}`. A
    catalog id with several folders shows the one with results (then the first by slug).
    """
    from shared.catalog import catalog
    from shared.citation.snapshot import profile_order

    folders: dict[int, list[str]] = {}
    for p in listed:
        folders.setdefault(p["catalog_id"], []).append(p["paper"])
    rows = []
    for cid, e in sorted(catalog().items()):
        slugs = sorted(folders.get(cid, []), key=lambda s: (s not in runs, s))
        slug = slugs[0] if slugs else None
        row = {"catalog_id": cid, "title": e["title"], "category": e["category"], "tier": e["tier"],
               "state": "replicated" if slug in runs else "in progress" if slug else "not started", "paper": slug,
               "profiles": [], "freshness": {}, "summary_profile": None, "status": None, "claims": 0, "verdict": None,
               "fidelity": []}  # fmt: skip
        if slug in runs:
            profiles = runs[slug]
            shown = summary_profile(profiles)
            run = profiles[shown]
            row.update({"profiles": profile_order(profiles), "summary_profile": shown, "status": run["status"],
                        "freshness": {p: profiles[p]["status"] for p in profile_order(profiles)},
                        "claims": sum(run["verdicts"].values()),
                        "verdict": {v: run["verdicts"].get(v, 0) for v in VERDICTS},
                        "fidelity": [f for f in FIDELITIES if f in run["fidelity"]]
                        + sorted(run["fidelity"] - set(FIDELITIES))})  # fmt: skip
        rows.append(row)
    return {"counts": catalog_counts(rows), "rows": rows}


def catalog_counts(rows: list[dict]) -> dict:
    """`{"papers": n, "state": {...}, "category": {name: {"papers", "state"}}, "tier": {...}}` over catalog rows."""

    def tally(sub: list[dict]) -> dict:
        c = Counter(r["state"] for r in sub)
        return {"papers": len(sub), "state": {s: c.get(s, 0) for s in STATES}}

    return {**tally(rows),
            **{key: {v: tally([r for r in rows if r[key] == v]) for v in sorted({r[key] for r in rows})}
               for key in ("category", "tier")}}  # fmt: skip


def scope_counts(listed: list[dict]) -> dict:
    """The denominators over all papers: headline results identified and tested, and how many papers have a table."""
    scopes = [p["scope"] for p in listed]
    return {
        "identified": sum(s["identified"] for s in scopes),
        "tested": sum(s["tested"] for s in scopes),
        "papers_with_table": sum(not s["missing"] and not s["error"] for s in scopes),
        "papers_missing": sum(s["missing"] for s in scopes),
        "papers_malformed": sum(bool(s["error"]) for s in scopes),
    }


def counts(rows: list[dict]) -> dict:
    """Counts over the headline rows only (one per paper and claim), so a paper run twice is not counted twice."""
    head = [r for r in rows if r["headline"]]
    by = {key: Counter(r[key] for r in head) for key in ("verdict", "fidelity", "status")}
    return {
        "claims": len(head),
        "papers": len({r["paper"] for r in head}),
        "verdict": {v: by["verdict"].get(v, 0) for v in VERDICTS},
        "fidelity": {f: by["fidelity"].get(f, 0) for f in FIDELITIES},
        "status": {s: by["status"].get(s, 0) for s in STATUSES},
    }


# markdown tables


def _md_cell(text) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _md_table(header: list[str], body: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def _counts_md(c: dict) -> str:
    verdicts = _md_table(["", *VERDICTS], [["claims", *c["verdict"].values()]])
    fidelity = _md_table(["", *FIDELITIES], [["claims", *c["fidelity"].values()]])
    return f"By verdict:\n\n{verdicts}\n\nBy fidelity:\n\n{fidelity}"


NOTE = "<!-- generated by `papers results` from papers/*/results/*.json: edits between the markers are overwritten -->"


def scope_line(c: dict, n_papers: int) -> str:
    """The denominators in one sentence: headline results tested of those identified, and where tables are missing."""
    sc = c["scope"]
    have = sc["papers_with_table"]
    line = (f"**Scope: {sc['tested']} of {sc['identified']} headline results tested**, from the scope tables of {have} "
            f"of {n_papers} paper{'s' if n_papers != 1 else ''}")  # fmt: skip
    gaps = [f"{sc['papers_missing']} ha{'ve' if sc['papers_missing'] != 1 else 's'} none yet" if sc["papers_missing"] else "",
            f"{sc['papers_malformed']} malformed" if sc["papers_malformed"] else ""]  # fmt: skip
    gaps = [g for g in gaps if g]
    return line + (f" ({', '.join(gaps)})" if gaps else "") + "."


def root_block(index: dict) -> str:
    """The project README's tables: the counts, the denominators per paper, then one row per paper and claim
    (headline profile)."""
    c = index["counts"]
    if not c["claims"]:
        return f"{NOTE}\nNo results yet: run a paper (`papers run <slug>`), then `papers results`."
    s = c["status"]
    intro = (f"**{c['claims']} claims from {c['papers']} paper{'s' if c['papers'] != 1 else ''}**: "
             f"{s['fresh']} fresh, {s['stale']} stale" + (f", {s['unknown']} unknown" if s["unknown"] else "") + "."
             + (" A stale result's inputs (code, parameters, data, lock) changed since its run: rerun it."
                if s["stale"] else ""))  # fmt: skip
    head = {r["paper"]: r for r in index["rows"] if r["headline"]}
    per_paper = []
    for p in index["papers"]:
        sc, r = p["scope"], head.get(p["paper"])
        identified = (
            "scope table missing" if sc["missing"] else "scope table malformed" if sc["error"] else sc["identified"]
        )
        per_paper.append([f"[{p['paper']}](papers/{p['paper']}/)", identified,
                          sc["tested"] if isinstance(identified, int) else "-",
                          sum(x["paper"] == p["paper"] and x["headline"] for x in index["rows"]),
                          fmt_registration(r) if r else "not run"])  # fmt: skip
    papers = _md_table(["Paper", "Headline results", "Tested", "Claims", "Headline record"], per_paper)
    head_rows = [r for r in index["rows"] if r["headline"]]
    checks = any(r.get("control") or r.get("preconditions") for r in head_rows)  # the column once a claim has them
    body = [[f"[{r['paper']}](papers/{r['paper']}/)", r["claim"], fmt_paper_value(r), fmt_ours(r["ours"]),
             fmt_n(r["ours"]), r["verdict"], r["fidelity"], *([fmt_checks(r)] if checks else []), r["profile"],
             r["device"], r["date"], fmt_commit(r), fmt_status(r)] for r in head_rows]  # fmt: skip
    table = _md_table(["Paper", "Claim", "Paper's value", "Ours", "n", "Verdict", "Fidelity",
                       *(["Control, preconditions"] if checks else []), "Profile", "Device", "Date", "Commit", "Status"],
                      body)  # fmt: skip
    legend = ("Headline results: the rows of the paper README's scope table (its abstract's and main tables' results); "
              "tested: those a claim tests. Headline record: whether the claims were pre-registered (committed before "
              "the run) for the profile the table shows. Commit: the commit the run started from; `*`: the tree had "
              "uncommitted changes.")  # fmt: skip
    return (
        f"{NOTE}\n{intro}\n\n{scope_line(c, len(index['papers']))}\n\n{_counts_md(c)}\n\nBy paper:\n\n{papers}"
        f"\n\n{table}\n\n{legend}"
    )


def paper_block(index: dict, slug: str) -> str:
    """A paper README's "Claims and verdicts" table: every profile, headline first."""
    rows = [r for r in index["rows"] if r["paper"] == slug]
    if not rows:
        return f"{NOTE}\nNot run yet: `papers run {slug}`."
    checks = any(r.get("control") or r.get("preconditions") for r in rows)  # the column once a claim has them
    body = [[f"**{r['claim']}**: {r['claim_text']} ({r['paper_ref']})", fmt_paper_value(r), fmt_ours(r["ours"]),
             fmt_n(r["ours"]), r["verdict"], r["fidelity"], *([fmt_checks(r)] if checks else []), r["profile"],
             fmt_status(r)] for r in rows]  # fmt: skip
    table = _md_table(["Claim", "Paper", "Ours", "n", "Verdict", "Fidelity",
                       *(["Control, preconditions"] if checks else []), "Profile", "Status"], body)  # fmt: skip
    decide = [f"- **{r['claim']}** ({r['profile']}): {r['decide']}" for r in rows
              if r["verdict"] == "inconclusive" and r.get("decide")]  # fmt: skip
    runs = []
    for profile in dict.fromkeys(r["profile"] for r in rows):
        r = next(x for x in rows if x["profile"] == profile)
        runs.append(f"- `{profile}`: {r['device']}, {r['date']}, commit {fmt_commit(r)}, {fmt_registration(r)}, "
                    f"[results/{profile}.json](results/{profile}.json)"
                    + (f"; stale: {', '.join(r['stale_inputs'][:5])} changed" if r["status"] == "stale" else ""))  # fmt: skip
    sc = next((p["scope"] for p in index["papers"] if p["paper"] == slug), None)
    if sc is None or sc["missing"]:
        scope = "Scope: scope table missing."
    elif sc["error"]:
        scope = "Scope: scope table malformed (`papers validate` says why)."
    else:
        scope = f"Scope: {sc['tested']} of the paper's {sc['identified']} headline results tested (see Scope)."
    return (
        f"{NOTE}\n{scope}\n\n{table}\n\n"
        + ("What would decide the inconclusive claims:\n" + "\n".join(decide) + "\n\n" if decide else "")
        + "Runs:\n"
        + "\n".join(runs)
    )


def replace_between(text: str, markers: tuple[str, str], content: str, source: str) -> str:
    """`text` with everything between the two marker lines replaced by `content`; the rest is left byte for byte."""
    begin, end = markers
    nb, ne = text.count(begin), text.count(end)
    if nb == 0 or ne == 0:
        raise MarkerError(f"{source} has no {begin} ... {end} markers: put both lines where the generated table "
                          f"belongs; nothing was written there")  # fmt: skip
    if nb > 1 or ne > 1:
        raise MarkerError(f"{source} has {nb} {begin} and {ne} {end} markers: keep exactly one of each")
    i, j = text.index(begin) + len(begin), text.index(end)
    if j < i:
        raise MarkerError(f"{source}: {end} comes before {begin}")
    return text[:i] + "\n" + content.strip("\n") + "\n" + text[j:]


def update_file(path: Path, markers: tuple[str, str], content: str, write: bool = True) -> bool:
    """Fill the marker block of `path`; return whether it changed. Raises `MarkerError` if the markers are missing."""
    text = path.read_text(encoding="utf-8")
    new = replace_between(text, markers, content, str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def index_json(index: dict) -> str:
    return json.dumps(index, indent=2, ensure_ascii=False) + "\n"


# the command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paper", action="append", metavar="SLUG", help="only these papers (repeatable)")
    p.add_argument("--verdict", help=f"only this verdict: {', '.join(VERDICTS)}")
    p.add_argument("--fidelity", help=f"only this fidelity: {', '.join(FIDELITIES)}")
    p.add_argument("--category", help="only papers of this catalog category")
    p.add_argument("--status", help=f"only {', '.join(STATUSES)} results")
    p.add_argument("--all-profiles", action="store_true", help="one row per profile, not just the headline run")
    p.add_argument("--json", action="store_true", help="print the index as JSON instead of a table")
    p.add_argument("--no-write", action="store_true", help="print only; leave results/index.json and READMEs alone")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if results/index.json or a README table is out of date")  # fmt: skip


def _check_choice(value, valid, what: str):
    from shared.cli import UsageError

    if value is not None and value not in valid:
        raise UsageError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def main(args) -> int:
    from shared.catalog import catalog
    from shared.paper import get

    _check_choice(args.verdict, VERDICTS, "verdict")
    _check_choice(args.fidelity, FIDELITIES, "fidelity")
    _check_choice(args.status, STATUSES, "status")
    _check_choice(args.category, sorted({e["category"] for e in catalog().values()}), "category")
    selected = [get(s) for s in args.paper] if args.paper else None
    index = collect()
    stale = write_outputs(index, write=not (args.no_write or args.check))
    rows = [r for r in index["rows"] if (args.all_profiles or r["headline"])
            and (selected is None or r["paper"] in {p.slug for p in selected})
            and args.verdict in (None, r["verdict"]) and args.fidelity in (None, r["fidelity"])
            and args.category in (None, r["category"]) and args.status in (None, r["status"])]  # fmt: skip
    if args.json:
        sys.stdout.write(index_json({**index, "rows": rows}))
    else:
        shown = {p.slug for p in selected} if selected is not None else None
        print_table(rows, index["counts"], [p for p in index["papers"] if shown is None or p["paper"] in shown])
    if args.check:
        for what in stale:
            print(f"out of date: {what} (run `papers results` and commit it)", file=sys.stderr)
        return 1 if stale else 0
    return 0


def write_outputs(index: dict, write: bool = True, root: Path = ROOT) -> list[str]:
    """Write `results/index.json`, each paper's DVC metrics files, the project README's table and each paper README's
    table.

    Returns what was (or, with `write=False`, would be) changed. Missing markers are reported on stderr and listed,
    never guessed at: a README without them is left exactly as it is.
    """
    changed = []
    path = root / INDEX_PATH
    text = index_json(index)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        changed.append(str(INDEX_PATH))
        if write:
            from shared.results import write_json_atomic

            write_json_atomic(path, index)
    from shared.browse.metrics import sync as sync_metrics
    from shared.paper import Paper

    for p in index["papers"]:
        changed += [str(f.relative_to(root)) for f in sync_metrics(Paper(p["paper"], root / "papers"), write=write)]
    targets = [(root / "README.md", ROOT_MARKERS, root_block(index))]
    targets += [(root / "papers" / p["paper"] / "README.md", PAPER_MARKERS, paper_block(index, p["paper"]))
                for p in index["papers"]]  # fmt: skip
    for readme, markers, block in targets:
        rel = readme.relative_to(root)
        if not readme.exists():
            print(f"note: {rel} does not exist; its generated table was not written", file=sys.stderr)
            continue
        try:
            if update_file(readme, markers, block, write=write):
                changed.append(str(rel))
        except MarkerError as e:
            print(f"warning: {e}", file=sys.stderr)
            changed.append(f"{rel} (markers missing)")
    return changed


def fmt_status(row: dict) -> str:
    """fresh or stale; a fresh result whose inputs `papers rekey` moved after a verifying rerun says so."""
    return "fresh (re-keyed, verified)" if row["status"] == "fresh" and row.get("rekeyed") else row["status"]


def print_table(rows: list[dict], c: dict, papers: list[dict] | None = None) -> None:
    """A plain-text table for the terminal, with the counts and the denominators (scope tables) below it."""
    cells = [[r["paper"], r["claim"], fmt_paper_value(r), fmt_ours(r["ours"]), fmt_n(r["ours"]), r["verdict"],
              r["fidelity"], fmt_checks(r), r["profile"], r["device"], r["date"], fmt_commit(r), r["status"],
              fmt_registration(r)] for r in rows]  # fmt: skip
    cells = [[c_ if len(c_) <= 28 else c_[:27] + "…" for c_ in row] for row in cells]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(COLUMNS)]
    print("  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    v = ", ".join(f"{n} {k}" for k, n in c["verdict"].items())
    f = ", ".join(f"{n} {k}" for k, n in c["fidelity"].items())
    s = ", ".join(f"{n} {k}" for k, n in c["status"].items() if n or k != "unknown")
    print(f"\n{c['claims']} claims from {c['papers']} paper{'s' if c['papers'] != 1 else ''} (headline profile of each). "
          f"By verdict: {v}. By fidelity: {f}. {s}.")  # fmt: skip
    if papers is not None and "scope" in c:
        sc = c["scope"]
        print(f"Scope: {sc['tested']} of {sc['identified']} headline results tested, from {sc['papers_with_table']} "
              f"scope table{'s' if sc['papers_with_table'] != 1 else ''}"
              + (f"; {sc['papers_missing']} paper{'s' if sc['papers_missing'] != 1 else ''} without one"
                 if sc["papers_missing"] else "")
              + (f"; {sc['papers_malformed']} malformed" if sc["papers_malformed"] else "") + ".")  # fmt: skip
        for p in papers:
            print(f"  {p['paper']}: {fmt_scope(p['scope'])}")
