"""The results contract: a run writes a record that validates; a broken record names its file and field."""

import copy
import json

import pytest

from shared.claims import AtLeast, AtMost, Claim, Measurement, evaluate_claims
from shared.results import ResultsError, Run, load, validate, write_json_atomic

CLAIMS = [
    Claim("up", "goes up", 2.0, "Tab. 1", AtLeast(2.0, partial=1.0), "scaled-down", unit="x"),
    Claim("small", "stays small", 0.0, "Thm. 1", AtMost(0.1), "faithful", kind="exact"),
]
UP = [1.5, 1.7, 1.6, 1.55, 1.65]  # five units: the noisy claim's floor


@pytest.fixture
def record(tiny_paper, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN_PAPERS_OUTPUT_DIR", str(tmp_path / "staged"))
    run = Run(tiny_paper, "default", tiny_paper.parameters(), seeds=[0, 1])
    results = evaluate_claims(CLAIMS, {"up": Measurement.mean(UP, n_unit="seeds"), "small": 0.5})
    return run, run.finish(results)


def test_finish_writes_a_valid_record_to_the_staging_folder(tiny_paper, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOKEN_PAPERS_OUTPUT_DIR", str(tmp_path / "staged"))
    run = Run(tiny_paper, "default", tiny_paper.parameters(), seeds=[0, 1])
    rec = run.finish(evaluate_claims(CLAIMS, {"up": Measurement.mean(UP, n_unit="seeds"), "small": 0.5}))
    path = tmp_path / "staged" / "default.json"
    assert load(path) == rec
    assert not (run.paper.dir / "results").exists(), "a staged run leaves the paper's results alone"
    assert rec["summary"] == {"reproduced": 0, "partially reproduced": 1, "not reproduced": 1, "inconclusive": 0}
    assert rec["catalog_id"] == 122 and rec["arxiv_id"] == "2306.09927" and rec["provenance"]["seeds"] == [0, 1]
    assert rec["provenance"]["inputs_hash"] == run.paper.inputs_hash("default")
    ours = rec["claims"][0]["ours"]
    assert (ours["value"], ours["n"], ours["n_unit"]) == (1.6, 5, "seeds") and ours["interval"] == "bootstrap (BCa)"
    assert 1.5 <= ours["low"] < 1.6 < ours["high"] <= 1.7 and rec["schema_version"] == 2
    out = capsys.readouterr().out
    assert "tiny_2024 [default]: 0/2 claims reproduced, 1 partially, 1 not" in out
    assert "up     partially reproduced\nsmall  not reproduced" in out, "the verdict lines, no numbers"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("catalog_id"), r"\(top level\)"),
        (lambda r: r["claims"][0].update(verdict="mostly"), "claims/0/verdict"),
        (lambda r: r["claims"][1].update(fidelity="approximate"), "claims/1/fidelity"),
        (lambda r: r["claims"][0]["ours"].pop("high"), "claims/0/ours"),
        (lambda r: r["provenance"].update(inputs_hash="abc"), "provenance/inputs_hash"),
        (lambda r: r.update(claims=[]), "claims"),
        (lambda r: r["summary"].update(reproduced=2), "summary"),
    ],
)
def test_broken_records_name_the_field(record, mutate, field):
    _, rec = record
    bad = copy.deepcopy(rec)
    mutate(bad)
    with pytest.raises(ResultsError, match=f"my.json: field {field}"):
        validate(bad, "my.json")


def test_invalid_json_is_reported_with_its_path(tmp_path):
    p = tmp_path / "default.json"
    p.write_text("{not json")
    with pytest.raises(ResultsError, match="default.json: not valid JSON"):
        load(p)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    p = tmp_path / "r.json"
    write_json_atomic(p, {"ok": 1})
    with pytest.raises(TypeError):
        write_json_atomic(p, {"bad": object()})
    assert json.loads(p.read_text()) == {"ok": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"], "no temporary file is left behind"


def test_parameters_papermill_injects_are_checked(tiny_paper, monkeypatch):
    from shared import results

    monkeypatch.setattr(results, "get", lambda slug: tiny_paper)
    cells = ['PROFILE = "default"\nN = 10', "# Parameters\nNN = 3\n", "import x"]
    assert results.injected_parameters({"In": cells}) == {"NN": 3}
    ns = {"In": cells, **tiny_paper.parameters()}
    with pytest.raises(
        results.PaperError, match=r"injected by papermill: unknown parameter\(s\) \['NN'\].*did you mean N"
    ):
        results.start_run("tiny_2024", ns)
    ns = {"In": ['# Parameters\nN = "many"\n'], **tiny_paper.parameters(), "N": "many"}
    with pytest.raises(results.PaperError, match="N must be int"):
        results.start_run("tiny_2024", ns)
    ns = {**tiny_paper.parameters(), "PROFILE": "huge"}
    with pytest.raises(results.PaperError, match="PROFILE='huge' has no params/huge.yaml; valid: default, full"):
        results.start_run("tiny_2024", ns)
