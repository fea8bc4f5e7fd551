"""Scope tables: the parser, its errors, and how `papers validate` treats them (missing: a warning; malformed: an error)."""

import argparse

import pytest

from shared import checks
from shared.checks import problems, warnings
from shared.paper import Paper
from shared.scaffold import create
from shared.scope import ScopeError, ScopeMissing, scope_table, summary

HEADER = "| Headline result | Where | Status | Claim / reason |\n|---|---|---|---|\n"
GOOD = """# A paper

## Claims and verdicts
<!-- results:begin -->
<!-- results:end -->

## Scope
Prose before the table is fine.

| Headline result | Where | Status | Claim / reason |
|:---|---|---|---|
| H2O matches the full cache at 20% | Abstract; Tab. 1 | tested | `h2o-matches-full`, `h2o-beats-local` |
| Heavy hitters follow a power law | Fig. 2 | Tested | heavy-hitters |
| 29x throughput \\| on an A100 | Abstract; Tab. 3 | not tested | needs a GPU and a 30B model |

And so is prose after it.

### A subsection stays inside

## What we replicate, what we do not, and why
| not | the | scope | table |
"""


def readme(tmp_path, text: str):
    path = tmp_path / "paper_2024" / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def scope_readme(tmp_path, rows: str, header: str = HEADER):
    return readme(tmp_path, f"# T\n\n## Scope\n{header}{rows}\n## Next\n")


def test_a_good_table_parses_row_by_row(tmp_path):
    rows = scope_table(readme(tmp_path, GOOD))
    assert [(r["status"], r["claims"], r["reason"]) for r in rows] == [
        ("tested", ["h2o-matches-full", "h2o-beats-local"], None),
        ("tested", ["heavy-hitters"], None),
        ("not tested", [], "needs a GPU and a 30B model"),
    ]
    assert rows[2]["result"] == "29x throughput | on an A100" and rows[0]["where"] == "Abstract; Tab. 1"
    assert [r["line"] for r in rows] == [12, 13, 14]
    s = summary(readme(tmp_path, GOOD))
    assert (s["identified"], s["tested"], s["not_tested"], s["missing"], s["error"]) == (3, 2, 1, False, None)


@pytest.mark.parametrize(("rows", "message"), [
    ("| a | Tab. 1 | tested |\n", r"paper_2024/README.md:6: a scope row needs 4 cells .* this one has 3"),
    ("| a | Tab. 1 | done | x |\n", "README.md:6: status 'done' is neither 'tested' nor 'not tested'"),
    ("| a | Tab. 1 | tested |  |\n", "README.md:6: a tested row names the claim id"),
    ("| a | Tab. 1 | tested | see Sec. 3 |\n", "README.md:6: 'see Sec. 3' is not a claim id"),
    ("| a | Tab. 1 | not tested | |\n", r"README.md:6: a not-tested row says why \(e.g. 'needs a 7B model'\)"),
    ("|  | Tab. 1 | tested | a |\n", "README.md:6: the headline result is empty"),
    ("| a |  | tested | a |\n", "README.md:6: say where the paper states 'a'"),
    ("", "the scope table has no rows"),
    ("| a | Tab. 1 | tested | x |\n\n| b | Tab. 2 | tested | y |\n", "more than one table"),
])  # fmt: skip
def test_malformed_rows_are_errors_that_say_where(tmp_path, rows, message):
    with pytest.raises(ScopeError, match=message) as e:
        scope_table(scope_readme(tmp_path, rows))
    assert not isinstance(e.value, ScopeMissing)
    s = summary(scope_readme(tmp_path, rows))
    assert s["identified"] == 0 and not s["missing"] and s["error"] == str(e.value)


@pytest.mark.parametrize(("text", "message"), [
    ("# T\n\n## Scope\nNothing here yet.\n\n## Next\n", "the '## Scope' section has no table"),
    ("# T\n\n## Scope\n| Result | Where | Status | Claims |\n|---|---|---|---|\n| a | b | tested | c |\n",
     r"header is \| Result \| Where \| Status \| Claims \|; expected \| Headline result \| Where"),
    ("# T\n\n## Scope\n| Headline result | Where | Status | Claim / reason |\n| a | b | tested | c |\n",
     "needs a separator row"),
    ("# T\n\n## Scope\n" + HEADER + "| a | b | tested | c |\n\n## Scope\n", r"2 '## Scope' sections \(lines 3, 8\)"),
])  # fmt: skip
def test_malformed_sections_are_errors(tmp_path, text, message):
    with pytest.raises(ScopeError, match=message):
        scope_table(readme(tmp_path, text))


def test_a_missing_section_or_readme_is_scope_missing(tmp_path):
    with pytest.raises(ScopeMissing, match="has no '## Scope' section"):
        scope_table(readme(tmp_path, "# T\n\n## What we replicate\n- all\n"))
    with pytest.raises(ScopeMissing, match="does not exist"):
        scope_table(tmp_path / "nope_2024" / "README.md")
    s = summary(tmp_path / "nope_2024" / "README.md")
    assert (s["identified"], s["tested"], s["missing"], s["error"]) == (0, 0, True, None)


def _scope_of(paper: Paper, rows: str | None) -> None:
    """Replace the scaffolded README's scope section with `rows` under the header (None: no section at all)."""
    path = paper.dir / "README.md"
    text = path.read_text()
    head, rest = text.split("## Scope\n")
    tail = rest[rest.index("## What we replicate") :]
    path.write_text(head + (f"## Scope\n{HEADER}{rows}\n" if rows is not None else "") + tail)


def _scope_messages(found: list[str]) -> list[str]:
    return [m for m in found if "README.md" in m or "claims.py" in m]


def test_validate_checks_claim_ids_both_ways(papers_root):
    create("foo_2024", 87, root=papers_root)
    paper = Paper("foo_2024", papers_root)  # claims.py defines one claim, `main`
    _scope_of(paper, "| a | Abstract | tested | main |\n| b | Tab. 2 | not tested | needs a 7B model |\n")
    assert _scope_messages(problems(paper)) == [] and warnings(paper) == []

    _scope_of(paper, "| a | Abstract | tested | main, nope |\n")
    assert _scope_messages(problems(paper)) == [
        "foo_2024/README.md:15: scope row names claim 'nope', which claims.py does not define (its claims: main)"
    ]

    _scope_of(paper, "| a | Abstract | not tested | needs a 7B model |\n")
    assert _scope_messages(problems(paper)) == [
        "foo_2024/README.md: claim main of claims.py is in no tested row of the scope table"
    ]

    _scope_of(paper, "| a | Abstract | maybe | main |\n")
    assert _scope_messages(problems(paper)) == [
        "foo_2024/README.md:15: status 'maybe' is neither 'tested' nor 'not tested'"
    ]
    assert warnings(paper) == []


def test_a_missing_scope_section_is_a_warning_not_a_problem(papers_root, monkeypatch, capsys):
    create("foo_2024", 87, root=papers_root)
    paper = Paper("foo_2024", papers_root)
    _scope_of(paper, None)
    assert _scope_messages(problems(paper)) == []
    assert warnings(paper) == ["foo_2024/README.md has no '## Scope' section listing the paper's headline results "
                               "(format: papers/README.md)"]  # fmt: skip
    monkeypatch.setattr(checks, "discover", lambda: [paper])
    checks.main(argparse.Namespace(slugs=[]))
    out = capsys.readouterr().out
    assert "foo_2024: FAILED (1 warning)" in out  # failed for the scaffold's missing outputs, not for the scope
    assert "  warning: foo_2024/README.md has no '## Scope' section" in out
    assert out.rstrip().endswith("0 ok, 1 failed, 1 with warnings")


def test_claims_py_that_does_not_import_is_reported(papers_root):
    create("foo_2024", 87, root=papers_root)
    paper = Paper("foo_2024", papers_root)
    (paper.dir / "claims.py").write_text("raise RuntimeError('broken on purpose')\n")
    assert _scope_messages(problems(paper)) == [
        "claims.py cannot be imported to check the scope table: RuntimeError: broken on purpose"
    ]
