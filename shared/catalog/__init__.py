"""The 195-paper catalog (a copy of the project's reference catalog): ids, titles, abstracts, categories, tiers."""

import difflib
import functools
import json
from pathlib import Path

CATALOG_FILE = Path(__file__).with_name("papers.json")


@functools.cache
def catalog() -> dict[int, dict]:
    with open(CATALOG_FILE, encoding="utf-8") as f:
        return {int(p["id"]): p for p in json.load(f)}


def entry(catalog_id: int) -> dict:
    """One catalog entry; an unknown id raises a `KeyError` that names the nearest titles' ids."""
    try:
        cid = int(catalog_id)
    except (TypeError, ValueError):
        raise KeyError(f"catalog id must be an integer, got {catalog_id!r}") from None
    papers = catalog()
    if cid not in papers:
        raise KeyError(f"unknown catalog id {cid}: valid ids are {min(papers)}..{max(papers)} "
                       f"({len(papers)} papers; `papers catalog SEARCH` finds one by title)")  # fmt: skip
    return papers[cid]


def search(text: str, limit: int = 10) -> list[dict]:
    """Entries whose title contains `text` (case-insensitive), else the closest titles."""
    papers = list(catalog().values())
    hits = [p for p in papers if text.lower() in p["title"].lower()]
    if hits:
        return hits[:limit]
    titles = {p["title"]: p for p in papers}
    return [titles[t] for t in difflib.get_close_matches(text, titles, n=limit, cutoff=0.3)]
