"""Truthful status: the README tables and results/index.json say what `papers status` says about the tree they are
committed in. CI fails when they do not."""

from shared.browse.index import collect, write_outputs
from shared.citation.sandbox import run_papers
from shared.paper import Paper
from shared.runner.freshness import assess


def test_the_committed_tables_and_index_are_current():
    stale = write_outputs(collect(), write=False)
    assert not stale, f"out of date: {stale}; run `papers results` and commit what it writes"


def test_every_row_of_the_index_agrees_with_papers_status():
    index = collect()
    for row in index["rows"]:
        f = assess(Paper(row["paper"]), row["profile"])
        assert row["status"] == ("fresh" if f.fresh else "stale"), f"{row['paper']} [{row['profile']}]: {f.describe()}"


def test_a_planted_stale_row_fails_the_check(sb):
    assert run_papers(sb, "results").returncode == 0
    assert run_papers(sb, "results", "--check").returncode == 0
    readme = sb / "README.md"
    text = readme.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| [alpha_2024]") and "| fresh |" in line)
    readme.write_text(text.replace(row, row.replace("| fresh |", "| stale |")))
    r = run_papers(sb, "results", "--check")
    assert r.returncode == 1 and "out of date: README.md" in r.stderr
    # and the other way round: a code edit makes the recorded result stale, while the table still says fresh
    assert run_papers(sb, "results").returncode == 0
    method = next((sb / "papers" / "alpha_2024").glob("method.py"))
    method.write_text(method.read_text() + "\nCHANGED = 1\n")
    r = run_papers(sb, "results", "--check")
    assert r.returncode == 1 and "README.md" in r.stderr
