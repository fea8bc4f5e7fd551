"""`papers stability`: the claim-by-claim comparison on hand-made records, and the command on a tiny sandbox paper
whose verdict depends on its seeds."""

import json
import math
import subprocess
from pathlib import Path

import pytest

from shared.runner import sandbox
from shared.runner.stability import compare_records, table


def record(*claims: tuple[str, float, str]) -> dict:
    return {"claims": [{"id": cid, "ours": {"value": value}, "verdict": verdict} for cid, value, verdict in claims]}


def test_compare_records_known_answers():
    committed = record(("a", 2.0, "reproduced"), ("b", 0.0, "inconclusive"), ("c", -4.0, "not reproduced"),
                       ("gone", 1.0, "reproduced"))  # fmt: skip
    fresh = record(("new", 5.0, "reproduced"), ("c", -3.0, "not reproduced"), ("b", 0.5, "reproduced"),
                   ("a", 2.5, "reproduced"))  # fmt: skip
    rows = {r["id"]: r for r in compare_records(committed, fresh)}
    assert list(rows) == ["a", "b", "c", "gone", "new"]  # the committed order, then claims only the rerun has
    assert rows["a"] == {"id": "a", "committed_value": 2.0, "fresh_value": 2.5, "committed_verdict": "reproduced",
                         "fresh_verdict": "reproduced", "abs_diff": 0.5, "rel_diff": 0.25, "moved": False}  # fmt: skip
    assert rows["b"]["moved"] and rows["b"]["abs_diff"] == 0.5 and math.isinf(rows["b"]["rel_diff"])
    assert rows["c"]["rel_diff"] == 0.25 and not rows["c"]["moved"]  # relative to |committed|
    assert rows["gone"]["moved"] and rows["gone"]["fresh_value"] is None and rows["gone"]["rel_diff"] is None
    assert rows["new"]["moved"] and rows["new"]["committed_verdict"] is None
    same = compare_records(committed, committed)
    assert not any(r["moved"] for r in same) and all(r["rel_diff"] == 0.0 for r in same)
    text = table(compare_records(committed, fresh))
    assert text.splitlines()[-1] == "3 of 5 verdicts moved"
    assert "inf" in text and "MOVED" in text


# the command, on a sandbox paper: the claim holds while sum(SEEDS) <= 100 (eight units around it, so that the claim
# engine has an interval to judge)
CELLS = [
    'from shared.results import start_run\nrun = start_run("seeded_2024", globals(), seeds=SEEDS)',
    "x = sum(SEEDS)",
    "from shared.claims import AtMost, Claim, Measurement, evaluate_claims\n"
    'CLAIMS = [Claim("value-small", "the value is small", paper_value=0.0, paper_ref="Sec. 1", rule=AtMost(100.0), '
    'fidelity="analogue")]\n'
    "m = Measurement.from_samples([x + d for d in (-1, -0.5, -0.25, 0, 0, 0.25, 0.5, 1)])\n"
    'record = run.finish(evaluate_claims(CLAIMS, {"value-small": m}))',
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    root = sandbox.make_project(tmp_path_factory.mktemp("stability") / "proj", dvc=False)
    sandbox.add_paper(root, "seeded_2024", CELLS, parameters={"SEEDS": [1, 2, 3]}, results=False)
    sandbox.run_quiet(["git", "add", "-A"], root)
    sandbox.run_quiet(["git", "commit", "-qm", "paper"], root)
    run = papers(root, "run", "seeded_2024", "--no-dvc", "--progress", "plain")
    assert run.returncode == 0, run.stdout + run.stderr
    return root


def papers(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(sandbox.bin_dir() / "papers"), *args], cwd=root, env=sandbox.env(root),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_a_moved_verdict_is_reported(seeded, tmp_path):
    results = seeded / "papers" / "seeded_2024" / "results"
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    out, report = tmp_path / "scratch", tmp_path / "report.json"
    proc = papers(seeded, "stability", "seeded_2024", "--seeds", "50,60", "--threads", "1", "--out", str(out),
                  "--json", str(report), "--fail-on-move")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # --fail-on-move
    lines = proc.stdout.splitlines()
    assert "SEEDS=[50, 60]" in lines[0] and str(out) in lines[0]
    row = next(line for line in lines if line.startswith("value-small"))
    assert row.split() == ["value-small", "6", "reproduced", "110", "not", "reproduced", "17.33", "MOVED"]
    assert "1 of 1 verdicts moved" in lines
    rep = json.loads(report.read_text())
    assert rep["moved"] == 1 and rep["overrides"] == {"SEEDS": [50, 60]} and rep["threads"] == 1
    assert rep["rows"][0]["fresh_value"] == 110.0 and rep["rows"][0]["fresh_verdict"] == "not reproduced"
    fresh = json.loads((out / "results" / "default.json").read_text())
    assert fresh["params"]["SEEDS"] == [50, 60] and fresh["provenance"]["exploratory"] is True
    # the paper's own results are untouched
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == before

    # a verdict that holds is a report too: exit 0, even with --fail-on-move
    steady = papers(seeded, "stability", "seeded_2024", "--seeds", "2,3", "--threads", "1", "--fail-on-move")
    assert steady.returncode == 0, steady.stdout + steady.stderr
    assert "0 of 1 verdicts moved" in steady.stdout


def test_unknown_parameters_and_bad_seeds_are_refused(seeded, tmp_path):
    out = tmp_path / "never"
    proc = papers(seeded, "stability", "seeded_2024", "-p", "NOPE=1", "--out", str(out))
    assert proc.returncode == 2 and "unknown parameter(s) ['NOPE']" in proc.stderr and not out.exists()
    proc = papers(seeded, "stability", "seeded_2024", "-p", "SEEDS=3")
    assert proc.returncode == 2 and "SEEDS must be list" in proc.stderr
    proc = papers(seeded, "stability", "seeded_2024", "--seeds", "a,b")
    assert proc.returncode == 2 and "--seeds must be comma-separated integers" in proc.stderr
    proc = papers(seeded, "stability", "seeded_2024", "--out", str(seeded / "papers" / "seeded_2024" / "results"))
    assert proc.returncode == 2 and "never writes there" in proc.stderr
