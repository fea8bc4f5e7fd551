"""The scope table of a paper's README: the paper's headline results, each tested (by claim ids) or not (with a reason).

These rows are the denominators: `papers results` and the site show how many of a paper's headline results were put to
the test. The format (documented in `papers/README.md`):

    ## Scope
    | Headline result | Where | Status | Claim / reason |
    |---|---|---|---|
    | H2O with a 20% cache matches the full cache | Abstract; Tab. 1 | tested | `h2o-matches-full` |
    | 29x throughput over DeepSpeed Zero-Inference | Abstract; Tab. 3 | not tested | needs a GPU and a 30B model |

Prose may stand before or after the table; the section ends at the next `## ` heading.
"""

import re
from pathlib import Path

HEADING = "## Scope"
COLUMNS = ("Headline result", "Where", "Status", "Claim / reason")
STATUSES = ("tested", "not tested")
CLAIM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # as `shared.claims.Claim` allows
# a cell still holding the template's text, like `<headline result, as the abstract states it>`
PLACEHOLDER = re.compile(r"^<[^>]*>$")


class ScopeError(ValueError):
    """A scope table that cannot be read; the message names the README and the line."""


class ScopeMissing(ScopeError):
    """The README has no `## Scope` section (a warning for now: the existing papers are being given theirs)."""


def _readme(paper_or_path) -> Path:
    return Path(paper_or_path) if isinstance(paper_or_path, str | Path) else paper_or_path.dir / "README.md"


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row; `\\|` is a literal bar inside a cell."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _claim_ids(cell: str) -> list[str]:
    """`` `a`, `b` `` or `a, b` or `a; b` -> `["a", "b"]`."""
    return [w.strip().strip("`").strip() for w in re.split(r"[,;]|\s+and\s+", cell) if w.strip().strip("`").strip()]


def scope_table(paper_or_path) -> list[dict]:
    """The rows of the README's `## Scope` table, in order.

    Each row is `{"result", "where", "status", "claims", "reason", "line"}`: `status` is `"tested"` or `"not tested"`,
    `claims` the claim ids of a tested row (empty otherwise), `reason` why a row is not tested (None when tested), and
    `line` the row's line number in the README.

    Args:
        paper_or_path: a `shared.paper.Paper`, or the path of a README.

    Raises:
        ScopeMissing: the README (or its `## Scope` section) does not exist.
        ScopeError: the section exists but its table is malformed; the message says where and how to fix it.
    """
    readme = _readme(paper_or_path)
    name = f"{readme.parent.name}/README.md"
    if not readme.exists():
        raise ScopeMissing(f"{name} does not exist, so it has no {HEADING} table")
    lines = readme.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.rstrip().lower() == HEADING.lower()]
    if not starts:
        raise ScopeMissing(f"{name} has no {HEADING!r} section listing the paper's headline results "
                           "(format: papers/README.md)")  # fmt: skip
    if len(starts) > 1:
        raise ScopeError(f"{name}: {len(starts)} {HEADING!r} sections (lines "
                         f"{', '.join(str(i + 1) for i in starts)}): keep one")  # fmt: skip
    start = starts[0] + 1
    end = next((i for i in range(start, len(lines)) if re.match(r"#{1,2} ", lines[i])), len(lines))
    first = next((i for i in range(start, end) if lines[i].lstrip().startswith("|")), None)
    if first is None:
        raise ScopeError(f"{name}: the {HEADING!r} section has no table; start it with the header row "
                         f"| {' | '.join(COLUMNS)} |")  # fmt: skip
    last = first
    while last + 1 < end and lines[last + 1].lstrip().startswith("|"):
        last += 1
    if any(lines[i].lstrip().startswith("|") for i in range(last + 1, end)):
        raise ScopeError(f"{name}: the {HEADING!r} section has more than one table (a blank or text line splits it "
                         f"at line {last + 2}): keep one")  # fmt: skip
    header = _cells(lines[first])
    if [h.lower() for h in header] != [c.lower() for c in COLUMNS]:
        raise ScopeError(f"{name}:{first + 1}: the scope table's header is | {' | '.join(header)} |; expected "
                         f"| {' | '.join(COLUMNS)} |")  # fmt: skip
    if first + 1 > last or not all(re.fullmatch(r":?-{3,}:?", c) for c in _cells(lines[first + 1])):
        raise ScopeError(
            f"{name}:{first + 2}: the scope table needs a separator row |---|---|---|---| under its header"
        )
    rows = []
    for i in range(first + 2, last + 1):
        where = f"{name}:{i + 1}"
        cells = _cells(lines[i])
        if len(cells) != len(COLUMNS):
            raise ScopeError(f"{where}: a scope row needs {len(COLUMNS)} cells ({', '.join(COLUMNS)}), "
                             f"this one has {len(cells)}: {lines[i].strip()}")  # fmt: skip
        result, ref, status, last_cell = cells
        if not result:
            raise ScopeError(f"{where}: the headline result is empty")
        if not ref:
            raise ScopeError(f"{where}: say where the paper states {result!r} (e.g. 'Abstract; Tab. 1')")
        status = " ".join(status.strip("`*_ ").lower().split())
        if status not in STATUSES:
            raise ScopeError(f"{where}: status {cells[2]!r} is neither 'tested' nor 'not tested'")
        if status == "tested":
            ids = _claim_ids(last_cell)
            if not ids:
                raise ScopeError(f"{where}: a tested row names the claim id(s) from claims.py that test it")
            bad = [w for w in ids if not CLAIM_ID.match(w)]
            if bad:
                raise ScopeError(f"{where}: {bad[0]!r} is not a claim id: a tested row lists claim ids from claims.py, "
                                 "comma-separated (e.g. `h2o-matches-full`, `h2o-beats-local`)")  # fmt: skip
            rows.append({"result": result, "where": ref, "status": status, "claims": ids, "reason": None,
                         "line": i + 1})  # fmt: skip
        else:
            if not last_cell:
                raise ScopeError(f"{where}: a not-tested row says why (e.g. 'needs a 7B model')")
            rows.append({"result": result, "where": ref, "status": status, "claims": [], "reason": last_cell,
                         "line": i + 1})  # fmt: skip
    if not rows:
        raise ScopeError(f"{name}: the scope table has no rows: list the paper's headline results, one per row")
    return rows


def check_claims(rows: list[dict], claim_ids, name: str = "README.md") -> list[str]:
    """What disagrees between the scope rows and the claims of claims.py: unknown ids, claims no row names."""
    known = list(claim_ids)
    out = []
    for r in rows:
        for cid in r["claims"]:
            if cid not in known:
                out.append(f"{name}:{r['line']}: scope row names claim {cid!r}, which claims.py does not define "
                           f"(its claims: {', '.join(known) or 'none'})")  # fmt: skip
    named = {cid for r in rows for cid in r["claims"]}
    missing = [cid for cid in known if cid not in named]
    if missing:
        out.append(f"{name}: claim{'s' if len(missing) > 1 else ''} {', '.join(missing)} of claims.py "
                   f"{'are' if len(missing) > 1 else 'is'} in no tested row of the scope table")  # fmt: skip
    return out


def placeholders(rows: list[dict]) -> list[int]:
    """Line numbers of rows that still hold the template's `<...>` text."""
    return [r["line"] for r in rows
            if any(PLACEHOLDER.match(c or "") for c in (r["result"], r["where"], r["reason"]))]  # fmt: skip


def summary(paper_or_path) -> dict:
    """Counts for `papers results` and the site, never raising:
    `{"identified", "tested", "not_tested", "missing", "error", "rows"}`.

    A missing section counts 0 identified (`missing` true); a malformed one counts 0 too, with `error` saying why.
    """
    try:
        rows = scope_table(paper_or_path)
    except ScopeMissing:
        return {"identified": 0, "tested": 0, "not_tested": 0, "missing": True, "error": None, "rows": []}
    except (ScopeError, OSError, UnicodeDecodeError) as e:
        return {"identified": 0, "tested": 0, "not_tested": 0, "missing": False, "error": str(e), "rows": []}
    tested = sum(r["status"] == "tested" for r in rows)
    return {"identified": len(rows), "tested": tested, "not_tested": len(rows) - tested, "missing": False,
            "error": None, "rows": rows}  # fmt: skip
