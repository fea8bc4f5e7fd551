"""`papers catalog [SEARCH]`: find papers in the catalog, with their ids and whether they are replicated yet;
`--status` shows where every catalog paper stands (replicated, in progress, not started) with its verdicts."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", help="words from the title (default: list all)")
    p.add_argument("--id", type=int, help="show one entry in full")
    p.add_argument("--status", action="store_true",
                   help="where each paper stands: replicated (verdicts, fidelity, profiles, fresh or stale), "
                        "in progress or not started, with totals")  # fmt: skip
    p.add_argument("--category", help="only papers of this catalog category")
    p.add_argument("--tier", help="only papers of this tier (T1..T4)")
    p.add_argument("--state", help="only papers in this state: replicated, in progress, not started (implies --status)")


def _check_choices(args) -> None:
    from shared.browse.index import STATES, _check_choice
    from shared.catalog import catalog

    entries = catalog().values()
    _check_choice(args.category, sorted({e["category"] for e in entries}), "category")
    _check_choice(args.tier, sorted({e["tier"] for e in entries}), "tier")
    _check_choice(args.state, STATES, "state")


def main(args) -> int:
    import yaml

    from shared.catalog import catalog, entry, search
    from shared.paper import PAPERS_DIR

    _check_choices(args)
    if args.status or args.state:
        return print_status(args)
    done = {}
    for meta in PAPERS_DIR.glob("*/paper.yaml"):
        done[int((yaml.safe_load(meta.read_text()) or {}).get("catalog_id", -1))] = meta.parent.name
    if args.id is not None:
        e = entry(args.id)
        for key in ("id", "title", "category", "tier", "claim", "headline", "suggested_experiment"):
            print(f"{key}: {e.get(key)}")
        print(f"replicated in: papers/{done[e['id']]}" if e["id"] in done else "replicated in: not yet")
        return 0
    hits = search(args.search) if args.search else list(catalog().values())
    hits = [e for e in hits if args.category in (None, e["category"]) and args.tier in (None, e["tier"])]
    for e in hits:
        where = f"papers/{done[e['id']]}" if e["id"] in done else "-"
        print(f"{e['id']:>4}  {e['tier']:<3} {e['category']:<32} {where:<28} {e['title'][:90]}")
    return 0


COLUMNS = ("id", "tier", "category", "state", "paper", "verdicts", "fidelity", "profiles", "status", "title")


def fmt_totals(c: dict) -> str:
    """`"195 papers: 18 replicated, 0 in progress, 177 not started"`."""
    states = ", ".join(f"{n} {s}" for s, n in c["state"].items())
    return f"{c['papers']} paper{'s' if c['papers'] != 1 else ''}: {states}"


def status_cells(row: dict) -> list[str]:
    """One catalog row as the terminal shows it; the verdicts and status are those of the summarised profile."""
    from shared.browse.index import fmt_verdict_summary

    replicated = row["state"] == "replicated"
    return [str(row["catalog_id"]), row["tier"], row["category"], row["state"], row["paper"] or "-",
            fmt_verdict_summary(row) + (f" ({row['summary_profile']})" if replicated else ""),
            ", ".join(row["fidelity"]) or "-", ", ".join(row["profiles"]) or "-", row["status"] or "-",
            row["title"] if len(row["title"]) <= 60 else row["title"][:59] + "…"]  # fmt: skip


def print_status(args) -> int:
    from shared.browse.index import catalog_counts, collect
    from shared.catalog import search

    section = collect()["catalog"]
    rows = section["rows"]
    if args.id is not None or args.search:
        from shared.catalog import entry

        wanted = {entry(args.id)["id"]} if args.id is not None else {e["id"] for e in search(args.search)}
        rows = [r for r in rows if r["catalog_id"] in wanted]
    rows = [r for r in rows if args.category in (None, r["category"]) and args.tier in (None, r["tier"])
            and args.state in (None, r["state"])]  # fmt: skip
    cells = [status_cells(r) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(COLUMNS)]
    print("  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    shown = catalog_counts(rows)
    filtered = len(rows) != len(section["rows"])
    print(f"\n{'Shown' if filtered else 'Catalog'}: {fmt_totals(shown)}."
          + (f" Whole catalog: {fmt_totals(section['counts'])}." if filtered else ""))  # fmt: skip
    if len(shown["category"]) > 1:
        width = max(map(len, shown["category"]))
        for name, c in shown["category"].items():
            print(f"  {name.ljust(width)}  {fmt_totals(c)}")
    return 0
