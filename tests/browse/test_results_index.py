"""`papers results`: the index rows and counts, the README blocks (and nothing outside them), staleness, bad input."""

import json

import pytest

from shared.browse.index import MarkerError, replace_between
from shared.citation.sandbox import git, run_papers

MARKERS = ("<!-- verdicts:begin -->", "<!-- verdicts:end -->")


def test_replace_between_touches_only_the_block():
    text = "# T\n\nbefore  \n<!-- verdicts:begin -->\nold\n<!-- verdicts:end -->\nafter\r\nend"
    out = replace_between(text, MARKERS, "new table", "README.md")
    assert out == "# T\n\nbefore  \n<!-- verdicts:begin -->\nnew table\n<!-- verdicts:end -->\nafter\r\nend"
    assert replace_between(out, MARKERS, "new table", "README.md") == out
    with pytest.raises(MarkerError, match="README.md has no <!-- verdicts:begin --> ... <!-- verdicts:end --> markers"):
        replace_between("# no markers\n", MARKERS, "x", "README.md")
    with pytest.raises(MarkerError, match="keep exactly one of each"):
        replace_between(text + "\n<!-- verdicts:begin -->", MARKERS, "x", "README.md")
    with pytest.raises(MarkerError, match="comes before"):
        replace_between("<!-- verdicts:end -->\n<!-- verdicts:begin -->", MARKERS, "x", "README.md")


def test_results_writes_index_and_readme_tables(sb):
    readme_before = (sb / "README.md").read_text()
    r = run_papers(sb, "results")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["paper", "claim", "paper's", "value", "ours", "verdict", "fidelity", "profile",
                                "device", "date", "commit", "status"]  # fmt: skip
    assert len([line for line in lines[1:] if line.strip() and not line.startswith("4 claims")]) == 4
    assert "4 claims from 3 papers" in r.stdout

    index = json.loads((sb / "results/index.json").read_text())
    assert index["counts"]["verdict"] == {"reproduced": 1, "partially reproduced": 1, "not reproduced": 1,
                                          "inconclusive": 1}  # fmt: skip
    assert index["counts"]["fidelity"] == {"faithful": 1, "scaled-down": 2, "analogue": 1}
    assert len(index["rows"]) == 5 and sum(r_["headline"] for r_ in index["rows"]) == 4  # beta has two profiles
    beta = [r_ for r_ in index["rows"] if r_["paper"] == "beta_2023"]
    assert [(r_["profile"], r_["headline"]) for r_ in beta] == [("full", True), ("default", False)]
    row = index["rows"][0]
    for key in ("paper", "claim", "paper_value", "ours", "verdict", "fidelity", "profile", "device", "date", "commit",
                "status", "category", "results_file", "results_sha256"):  # fmt: skip
        assert key in row, key
    assert {r_["status"] for r_ in index["rows"]} == {"fresh"}

    readme = (sb / "README.md").read_text()
    head, tail = readme_before.split("<!-- verdicts:begin -->")[0], readme_before.split("<!-- verdicts:end -->")[1]
    assert readme.startswith(head + "<!-- verdicts:begin -->") and readme.endswith("<!-- verdicts:end -->" + tail)
    assert (
        "| [alpha_2024](papers/alpha_2024/) | a2 | 1 (ratio) | 0.2 [0.1, 0.3] | not reproduced | faithful |" in readme
    )
    paper_readme = (sb / "papers/beta_2023/README.md").read_text()
    assert "| **b1**: Claim b1 holds (Sec. 1) | 1 (ratio) | 0.7 [0.6, 0.8] | partially reproduced |" in paper_readme
    assert "## What we replicate, what we do not, and why" in paper_readme  # the rest of the README is kept

    # the output is deterministic, so --check passes right after writing and fails once a result changes
    assert run_papers(sb, "results", "--check").returncode == 0
    method = sb / "papers/alpha_2024/method.py"
    method.write_text(method.read_text() + "\nVALUE = 3\n")
    r = run_papers(sb, "results", "--check", "--json", "--status", "stale")
    assert r.returncode == 1 and "out of date: results/index.json" in r.stderr
    stale = json.loads(r.stdout)["rows"]
    assert {(x["paper"], x["status"]) for x in stale} == {("alpha_2024", "stale")}
    assert "papers/alpha_2024/method.py" in stale[0]["stale_inputs"]


def test_missing_markers_are_reported_and_the_readme_left_alone(sb):
    (sb / "README.md").write_text("# Project\n\nNo markers here.\n")
    r = run_papers(sb, "results", "--paper", "alpha_2024")
    assert r.returncode == 0
    assert "warning: README.md has no <!-- verdicts:begin --> ... <!-- verdicts:end --> markers" in r.stderr
    assert (sb / "README.md").read_text() == "# Project\n\nNo markers here.\n"
    assert (sb / "results/index.json").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--verdict", "great"], "unknown verdict 'great'; valid: reproduced, partially reproduced, not reproduced, inconclusive"),
    (["--fidelity", "exact"], "unknown fidelity 'exact'; valid: faithful, scaled-down, analogue"),
    (["--status", "old"], "unknown status 'old'; valid: fresh, stale, unknown"),
    (["--paper", "nope_2020"], "unknown paper 'nope_2020'"),
    (["--category", "kv"], "unknown category 'kv'; valid: alignment-and-rl,"),
])  # fmt: skip
def test_bad_input_lists_valid_choices(args, expected, capsys):
    # checked before anything is read or written, so the real repository is safe to use here
    from shared.cli import main

    assert main(["results", "--no-write", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("papers results: error: ") and expected in err and "valid: " in err


def test_an_invalid_results_file_names_file_and_field(sb):
    path = sb / "papers/gamma_2022/results/default.json"
    record = json.loads(path.read_text())
    del record["claims"][0]["fidelity"]
    path.write_text(json.dumps(record))
    r = run_papers(sb, "results")
    assert r.returncode == 2
    assert "papers/gamma_2022/results/default.json: field claims/0: 'fidelity' is a required property" in r.stderr
    assert not (sb / "results/index.json").exists()
    git(sb, "checkout", "--", ".")
