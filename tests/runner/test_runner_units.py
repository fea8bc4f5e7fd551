"""The runner's parts on their own, in-process and quick: classification of a missing kernel, the lock, progress and
ETA, the words of staleness reasons and verdicts."""

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from shared.paper import Paper
from shared.runner import sandbox
from shared.runner.execute import execute
from shared.runner.freshness import explain, verdict_summary
from shared.runner.job import FAILURES, Job, Outcome
from shared.runner.progress import Progress, TerminalProgress, fmt_s
from shared.runner.state import RunLock, RunnerBusy


def job(slug="a_2024", expected=60.0, **kw) -> Job:
    return Job(slug, "default", kw.pop("kernel", "token-papers-cpu"), {}, 60, "0" * 64, expected_s=expected, **kw)


def test_missing_kernel_is_classified(tmp_path):
    paper = tmp_path / "papers" / "a_2024"
    paper.mkdir(parents=True)
    (paper / "a_2024.ipynb").write_text(json.dumps(sandbox.notebook(["x = 1"], {"PROFILE": "default"})))
    outcome = execute(job(kernel="no-such-kernel"), tmp_path / "staging", papers_dir=tmp_path / "papers")
    assert (outcome.status, outcome.failure) == ("failed", "missing-kernel")
    assert "no kernel named 'no-such-kernel'" in outcome.message and "make setup" in outcome.message
    assert outcome.failure in FAILURES


def test_second_lock_holder_is_told_who_has_it(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunnerBusy, match=r"another runner is working in this checkout \(pid \d+, started"):
            with RunLock(tmp_path):
                pass
    with RunLock(tmp_path):  # released on exit
        pass


def test_eta_comes_from_recorded_durations():
    jobs = [job("a_2024", 100), job("b_2024", 50), job("c_2024", 30)]
    p = Progress(jobs, slots=2, out=io.StringIO())
    assert p.eta_s() == pytest.approx(90)  # (100 + 50 + 30) / 2 slots
    p.finished(Outcome(jobs[0], "ok", duration_s=98), "1/1 reproduced")
    assert p.eta_s() == pytest.approx(40)
    assert re.search(r"ok +a_2024 \[default\] 98\.0 s: 1/1 reproduced", p.out.getvalue())


def test_terminal_display_shows_the_bar_and_each_running_cell():
    jobs = [job("a_2024", 100), job("b_2024", 50)]
    out = io.StringIO()
    p = TerminalProgress(jobs, slots=2, out=out)
    p.event(jobs[0], {"event": "started"})
    p.event(jobs[0], {"event": "cell", "cell": 7, "of": 20})
    p.event(jobs[1], {"event": "started"})
    with p.lock:
        p._clear()
        p._draw()
    p.close()
    text = out.getvalue()
    assert "0/2 papers" in text and "ETA" in text
    assert re.search(r"a_2024 \[default\] +cell 7/20", text) and re.search(r"b_2024 \[default\] +starting kernel", text)
    assert "\x1b[" in text  # redrawn in place


def test_reasons_name_the_input_that_changed(tmp_path):
    paper = Paper("a_2024", tmp_path / "papers")
    recorded = {"papers/a_2024/a_2024.ipynb (code cells)": "1", "shared/kv.py": "1", "papers/a_2024/params/full.yaml": "1",
                "data/text/kjv": "1", "package torch": "2.13.0", "shared/old.py": "1"}  # fmt: skip
    current = {**recorded, "shared/kv.py": "2", "papers/a_2024/params/full.yaml": "2", "data/text/kjv": "2",
               "package torch": "2.14.1", "papers/a_2024/a_2024.ipynb (code cells)": "2", "shared/new.py": "1"}  # fmt: skip
    del current["shared/old.py"]
    assert explain(paper, recorded, current) == [
        "code: the notebook's code cells changed since the recorded run",
        "code: shared/kv.py changed since the recorded run",
        "parameters: params/full.yaml changed since the recorded run",
        "data: data/text/kjv changed since the recorded run",
        "environment: package torch changed since the recorded run (2.13.0 -> 2.14.1)",
        "code: shared/new.py is a new input (not in the recorded run)",
        "code: shared/old.py is no longer an input",
    ]


def test_verdict_summary_and_durations_read_well():
    summary = {"reproduced": 3, "partially reproduced": 1, "not reproduced": 0, "inconclusive": 1}
    assert verdict_summary({"summary": summary}) == "3/5 reproduced (1 partially, 1 inconclusive)"
    assert verdict_summary(None) == ""
    assert fmt_s(59.6) == "1:00" and fmt_s(3725) == "1:02:05"


@pytest.mark.parametrize(
    ("flag", "value", "unit"),
    [("--timeout", "-5", "seconds"), ("--timeout", "0", "seconds"), ("--timeout", "nan", "seconds"),
     ("--memory", "0", "GiB"), ("--memory", "-1.5", "GiB"), ("--memory", "inf", "GiB")],
)  # fmt: skip
def test_run_refuses_a_limit_that_is_not_positive(flag, value, unit, capsys):
    from shared.cli import main

    assert main(["run", "any_2024", flag, value]) == 2
    err = capsys.readouterr().err
    assert err == f"papers run: error: {flag} must be a positive number of {unit}, got {float(value):g}\n"


def test_a_kernel_that_dies_at_start_is_classified_with_its_last_words(tmp_path, monkeypatch):
    paper = tmp_path / "papers" / "a_2024"
    paper.mkdir(parents=True)
    (paper / "a_2024.ipynb").write_text(json.dumps(sandbox.notebook(["x = 1"], {"PROFILE": "default"})))
    temp = Path(tempfile.mkdtemp(prefix="tpk-test-"))  # this run's own temporary folder (short: sockets live there)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    try:
        # the project's kernel launcher refuses a thread count that is not a positive integer, before it binds
        outcome = execute(job(threads=-1), tmp_path / "staging", papers_dir=tmp_path / "papers")
        assert list(temp.iterdir()) == []  # the run's socket folder is gone
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert (outcome.status, outcome.failure, outcome.cell) == ("failed", "kernel-died", None), outcome
    assert outcome.message.startswith("kernel died before the first cell (kernel start)"), outcome.message
    assert "its last words: TOKEN_PAPERS_THREADS must be a positive integer, got '-1'" in outcome.message
