"""The instruction/answer pool of the data-selection wave (issue 17): rows of `data/instruct/evals/rows.jsonl` (built by
`papers data build` from the `evals` wheel's registry data; see `shared/data/sources.py`, `extract_evals`), each with
its task family (the eval's folder), as a `Pool` the engine's selectors and tasks work on.

A document is one rendered example: the chat input, one line per message (`role: content`), then `answer: <the first
ideal answer>`. The family is the document's domain, so `make_task(pool, family, ...)` makes one task family the target.
"""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from shared.dataselect.pool import Pool

EVALS = Path("instruct/evals/rows.jsonl")


def load_evals(families=None, data_dir: Path | None = None) -> list[dict]:
    """The rows (`id`, `family`, `file`, `input` messages, `ideal` answers), in file order; only `families` if given."""
    from shared.data.manifest import DATA_DIR

    path = (data_dir or DATA_DIR) / EVALS
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make data` (or `papers data build evals`)")
    keep = set(families) if families is not None else None
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [r for r in rows if keep is None or r["family"] in keep]


def render(row: dict) -> str:
    """One example as text: each input message on a line (`role: content`), then `answer: <first ideal>`."""
    lines = [f"{m['role']}: {m['content']}" for m in row["input"]]
    return "\n".join(lines + [f"answer: {row['ideal'][0]}"]) + "\n"


def instruct_pool(min_rows: int = 50, max_per_family: int | None = 100, families=None, seed: int = 0,
                  data_dir: Path | None = None) -> Pool:  # fmt: skip
    """Families with at least `min_rows` rows, each capped at `max_per_family` rows drawn by `seed` (kept in file order),
    families sorted by name. Deterministic for given arguments."""
    by = defaultdict(list)
    for r in load_evals(families, data_dir):
        by[r["family"]].append(r)
    names = tuple(sorted(f for f, rows in by.items() if len(rows) >= min_rows))
    if not names:
        raise ValueError(f"no family has {min_rows} rows or more")
    texts, labels = [], []
    for i, fam in enumerate(names):
        rows = by[fam]
        if max_per_family is not None and len(rows) > max_per_family:
            keep = np.sort(np.random.default_rng([seed, i]).choice(len(rows), max_per_family, replace=False))
            rows = [rows[j] for j in keep]
        texts += [render(r) for r in rows]
        labels += [i] * len(rows)
    return Pool(texts, np.array(labels, dtype=np.int64), names)
