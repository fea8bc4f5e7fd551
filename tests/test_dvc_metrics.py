"""DVC metrics a user can read: one compact file per paper and profile (claim values, n, verdicts; no provenance),
generated from the records by `papers results`, checked by `papers results --check`, and diffable with DVC."""

import json
import subprocess
import sys

from shared.citation.sandbox import env, git, run_papers


def dvc(sb, *args):
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=sb, env=env(sb), capture_output=True, text=True,
                          check=False)  # fmt: skip


def test_results_write_one_compact_metrics_file_per_paper_and_profile(sb):
    assert run_papers(sb, "results").returncode == 0
    files = sorted(p.relative_to(sb).as_posix() for p in sb.glob("papers/*/metrics/*.json"))
    assert files == ["papers/alpha_2024/metrics/default.json", "papers/beta_2023/metrics/default.json",
                     "papers/beta_2023/metrics/full.json", "papers/gamma_2022/metrics/default.json"]  # fmt: skip
    m = json.loads((sb / "papers/alpha_2024/metrics/default.json").read_text())
    assert m == {"claims": {"a1": {"value": 1.0, "n": 3, "verdict": "reproduced"},
                            "a2": {"value": 0.2, "n": 3, "verdict": "not reproduced"}},
                 "summary": {"reproduced": 1, "partially reproduced": 0, "not reproduced": 1, "inconclusive": 0}}  # fmt: skip
    git(sb, "add", "-A")
    git(sb, "commit", "-q", "-m", "metrics")
    assert run_papers(sb, "results", "--check").returncode == 0

    # a record changed without regenerating: the check names the metrics file; a removed profile drops its file
    path = sb / "papers/alpha_2024/results/default.json"
    record = json.loads(path.read_text())
    record["claims"][1]["ours"]["value"] = 0.3
    path.write_text(json.dumps(record, indent=2) + "\n")
    (sb / "papers/beta_2023/results/full.json").unlink()
    r = run_papers(sb, "results", "--check")
    assert r.returncode == 1
    assert "out of date: papers/alpha_2024/metrics/default.json" in r.stderr
    assert "out of date: papers/beta_2023/metrics/full.json" in r.stderr
    run_papers(sb, "results")
    assert not (sb / "papers/beta_2023/metrics/full.json").exists()


def test_dvc_metrics_show_and_diff_read_the_compact_files(sb):
    assert dvc(sb, "init", "-q").returncode == 0
    assert run_papers(sb, "dvc-sync").returncode == 0 and run_papers(sb, "results").returncode == 0
    stage = (sb / "papers/alpha_2024/dvc.yaml").read_text()
    assert "metrics/default.json" in stage and "results/default.json" in stage
    git(sb, "add", "-A")
    git(sb, "commit", "-q", "-m", "dvc stages and metrics")
    show = dvc(sb, "metrics", "show")
    assert show.returncode == 0, show.stderr
    assert "claims.a1.verdict" in show.stdout and "provenance" not in show.stdout and "inputs_hash" not in show.stdout

    path = sb / "papers/alpha_2024/results/default.json"
    record = json.loads(path.read_text())
    record["claims"][1]["ours"]["value"], record["claims"][1]["verdict"] = 0.6, "reproduced"
    record["summary"] = {**record["summary"], "reproduced": 2, "not reproduced": 0}
    path.write_text(json.dumps(record, indent=2) + "\n")
    run_papers(sb, "results")
    git(sb, "commit", "-q", "-am", "a claim moved")
    diff = dvc(sb, "metrics", "diff", "HEAD~1", "HEAD")
    assert diff.returncode == 0, diff.stderr
    lines = [line.split() for line in diff.stdout.splitlines()]
    assert any(line[:2] == ["papers/alpha_2024/metrics/default.json", "claims.a2.value"] for line in lines)
    assert "claims.a2.verdict" in diff.stdout and "claims.a1" not in diff.stdout  # only what changed
