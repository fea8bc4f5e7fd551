"""`papers catalog [SEARCH]`: find papers in the catalog, with their ids and whether they are replicated yet."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", help="words from the title (default: list all)")
    p.add_argument("--id", type=int, help="show one entry in full")


def main(args) -> int:
    import yaml

    from shared.catalog import catalog, entry, search
    from shared.paper import PAPERS_DIR

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
    for e in hits:
        where = f"papers/{done[e['id']]}" if e["id"] in done else "-"
        print(f"{e['id']:>4}  {e['tier']:<3} {e['category']:<32} {where:<28} {e['title'][:90]}")
    return 0
