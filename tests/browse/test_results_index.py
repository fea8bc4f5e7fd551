"""`papers results`: the index rows and counts, the README blocks (and nothing outside them), staleness, bad input."""

import json

import pytest
from scoped import enrich

from shared.browse.index import MarkerError, registration, replace_between
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
    assert lines[0].split() == ["paper", "claim", "paper's", "value", "ours", "n", "verdict", "fidelity", "checks",
                                "profile", "device", "date", "commit", "status", "registration"]  # fmt: skip
    assert lines.index("") == 5  # four rows, then the counts
    assert "4 claims from 3 papers" in r.stdout
    assert "Scope: 0 of 0 headline results tested, from 0 scope tables; 3 papers without one." in r.stdout
    assert "  alpha_2024: scope table missing" in lines

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
        "| [alpha_2024](papers/alpha_2024/) | a2 | 1 (ratio) | 0.2 [0.1, 0.3] | 3 | not reproduced | faithful |"
        in readme
    )
    assert (
        "**Scope: 0 of 0 headline results tested**, from the scope tables of 0 of 3 papers (3 have none yet)." in readme
    )
    assert "| [alpha_2024](papers/alpha_2024/) | scope table missing | - | 2 | not pre-registered |" in readme
    assert "Control, preconditions" not in readme  # no claim has them yet: no column of dashes
    paper_readme = (sb / "papers/beta_2023/README.md").read_text()
    assert "| **b1**: Claim b1 holds (Sec. 1) | 1 (ratio) | 0.7 [0.6, 0.8] | 3 | partially reproduced |" in paper_readme
    assert "Scope: scope table missing." in paper_readme
    assert "- `full`: cpu, 2026-11-20, commit 0000000000, not pre-registered, [results/full.json]" in paper_readme
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


def test_denominators_and_verdict_engine_fields(sb):
    enrich(sb)
    # a third kind of scope: beta's table is malformed (it counts 0, with the reason in the index)
    beta = sb / "papers/beta_2023/README.md"
    beta.write_text(beta.read_text().replace("## Deviations", "## Scope\n| Headline result | Where | Status | Claim / reason |"
                                             "\n|---|---|---|---|\n| b | Tab. 1 | perhaps | b1 |\n\n## Deviations"))  # fmt: skip
    r = run_papers(sb, "results")
    assert r.returncode == 0, r.stderr
    index = json.loads((sb / "results/index.json").read_text())
    assert index["counts"]["scope"] == {"identified": 5, "tested": 3, "papers_with_table": 2, "papers_missing": 0,
                                        "papers_malformed": 1}  # fmt: skip
    scopes = {p["paper"]: p["scope"] for p in index["papers"]}
    assert (scopes["alpha_2024"]["identified"], scopes["alpha_2024"]["tested"]) == (3, 2)
    assert scopes["alpha_2024"]["rows"][2] == {"result": "Alpha scales to 70B | 8 GPUs", "where": "Abstract; Fig. 3",
                                               "status": "not tested", "claims": [], "reason": "needs a 70B model"}  # fmt: skip
    assert scopes["beta_2023"]["identified"] == 0 and "status 'perhaps' is neither" in scopes["beta_2023"]["error"]

    rows = {(x["paper"], x["claim"], x["profile"]): x for x in index["rows"]}
    c1 = rows["gamma_2022", "c1", "default"]
    assert c1["ours"]["n_unit"] == "documents" and c1["ours"]["interval"] == "bootstrap"
    assert c1["control"]["beaten"] is False and [p["passed"] for p in c1["preconditions"]] == [True, False]
    assert c1["decide"].startswith("about 40 more documents") and c1["kind"] == "noisy"
    assert (c1["registration"], c1["exploratory"]) == ("preregistered", False)
    a1 = rows["alpha_2024", "a1", "default"]  # a schema-1 record: no new fields, labelled
    assert (a1["control"], a1["preconditions"], a1["decide"], a1["registration"]) == (None, None, None,
                                                                                       "not-preregistered")  # fmt: skip
    assert rows["beta_2023", "b1", "full"]["registration"] == "exploratory"

    readme = (sb / "README.md").read_text()
    assert "**Scope: 3 of 5 headline results tested**, from the scope tables of 2 of 3 papers (1 malformed)." in readme
    assert "| [alpha_2024](papers/alpha_2024/) | 3 | 2 | 2 | not pre-registered |" in readme
    assert "| [beta_2023](papers/beta_2023/) | scope table malformed | - | 1 | exploratory |" in readme
    assert "| [gamma_2022](papers/gamma_2022/) | 2 | 1 | 1 | pre-registered |" in readme
    assert ("| [gamma_2022](papers/gamma_2022/) | c1 | 1 (ratio) | 0.55 [0.45, 0.65] | 8 documents | inconclusive | "
            "scaled-down | does not beat random-eviction (0.52 [0.48, 0.56]); precondition failed: premise |") in readme  # fmt: skip
    assert (
        "| [alpha_2024](papers/alpha_2024/) | a1 | 1 (ratio) | 1 [0.9, 1.1] | 3 | reproduced | scaled-down | - |"
        in readme
    )
    gamma = (sb / "papers/gamma_2022/README.md").read_text()
    assert "Scope: 1 of the paper's 2 headline results tested (see Scope)." in gamma
    assert "What would decide the inconclusive claims:\n- **c1** (default): about 40 more documents" in gamma
    assert "commit 0000000000, pre-registered," in gamma
    assert "## Scope\n| Headline result" in gamma  # the table itself is outside the generated block, untouched

    out = run_papers(sb, "results", "--no-write", "--paper", "gamma_2022").stdout
    assert "8 documents" in out and "does not beat random-evi" in out and "pre-registered" in out
    assert "Scope: 3 of 5 headline results tested, from 2 scope tables; 1 malformed." in out
    assert "  gamma_2022: 1 of 2 tested" in out and "alpha_2024" not in out.split("Scope:")[1]


@pytest.mark.parametrize(("record", "expected"), [
    ({"schema_version": 1, "provenance": {"dirty": False}}, "not-preregistered"),
    ({"schema_version": 2, "provenance": {"dirty": True}}, "not-preregistered"),
    ({"schema_version": 2, "provenance": {"dirty": False}}, "not-preregistered"),
    ({"schema_version": 2, "provenance": {"dirty": False, "exploratory": True,
                                          "preregistration": {"status": "clean"}}}, "exploratory"),
    ({"schema_version": 2, "provenance": {"dirty": False, "preregistration": {"status": "clean"}}}, "preregistered"),
    ({"schema_version": 2, "provenance": {"dirty": True, "preregistration": {
        "status": "uncommitted", "problems": ["claims.py is not committed"]}}}, "not-preregistered"),
    ({"schema_version": 2, "provenance": {"preregistration": {"status": "violation"}}}, "violation"),
])  # fmt: skip
def test_registration_is_read_from_the_record(record, expected):
    status, why = registration(record)
    assert status == expected and why
    if expected == "not-preregistered" and "uncommitted" in str(record):
        assert why == "run from a tree where claims.py is not committed"


def test_a_stale_full_run_does_not_outrank_a_fresh_default(sb):
    """The profile that counts in the totals is the largest *fresh* one: once beta's full parameters change, its
    fresh default run becomes the headline and the stale full run is listed, not counted."""
    params = sb / "papers/beta_2023/params/full.yaml"
    params.write_text(params.read_text().replace("N: 30", "N: 31"))
    r = run_papers(sb, "results")
    assert r.returncode == 0, r.stderr
    beta = [x for x in json.loads((sb / "results/index.json").read_text())["rows"] if x["paper"] == "beta_2023"]
    assert [(x["profile"], x["status"], x["headline"]) for x in beta] == [
        ("full", "stale", False), ("default", "fresh", True)
    ]
