"""Pre-registration checked in git (`shared.preregistration`): every recorded result is pre-registered or labelled, a
planted violation is caught, `papers run` refuses uncommitted claims unless `--exploratory`, and `papers release`
refuses exploratory records."""

import json
import subprocess
from pathlib import Path

import pytest

from shared.paper import Paper, discover
from shared.preregistration import (
    EXPLORATORY,
    LEGACY,
    MISSING,
    PREREGISTERED,
    STATUSES,
    VIOLATION,
    check_clean,
    preregistered_files,
    preregistration_status,
    record_fields,
    verify_record,
)

RESULTS = [(p, f) for p in discover() for f in sorted((p.dir / "results").glob("*.json"))]


@pytest.mark.parametrize(("paper", "path"), RESULTS, ids=[f"{p.slug}-{f.stem}" for p, f in RESULTS])
def test_every_recorded_result_is_preregistered_or_labelled(paper, path):
    status, reasons = verify_record(paper, path)
    assert status in STATUSES
    assert status != VIOLATION, f"{path.relative_to(paper.root.parent)}: " + "; ".join(reasons)


# a throwaway repository: one small paper, committed, and records written by hand


def git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin"}  # fmt: skip
    proc = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


CLAIMS = 'CLAIMS = ["doubling gives 42"]\n'


@pytest.fixture
def repo(tiny_paper) -> Paper:
    """`tiny_2024` (tests/conftest.py) with a `claims.py`, committed in a git repository of its own."""
    (tiny_paper.dir / "claims.py").write_text(CLAIMS)
    root = tiny_paper.root.parent
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "claims first")
    return tiny_paper


def write_record(paper: Paper, profile: str = "default", **prov) -> Path:
    """A record as `Run.record` writes it (only the fields the check reads), from the tree as it is now."""
    fields = record_fields(paper, profile)
    record = {
        "schema_version": 2,
        "profile": profile,
        "provenance": {
            "commit": git(paper.root.parent, "rev-parse", "HEAD"),
            "dirty": False,
            "inputs": paper.input_hashes(profile),
            **fields,
            **prov,
        },  # fmt: skip
    }
    path = paper.results_path(profile)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return path


def commit_all(paper: Paper, message: str) -> None:
    git(paper.root.parent, "add", "-A")
    git(paper.root.parent, "commit", "-qm", message)


def test_preregistered_files_are_the_papers_code_params_and_notebook(repo):
    names = [p.relative_to(repo.dir).as_posix() for p in preregistered_files(repo, "full")]
    assert names == ["claims.py", "helpers.py", "method.py", "params/full.yaml", "tiny_2024.ipynb"]
    assert "params/full.yaml" not in [p.relative_to(repo.dir).as_posix() for p in preregistered_files(repo, "default")]


def test_check_clean_names_uncommitted_files_but_not_outputs(repo):
    assert check_clean(repo, "full") == []
    (repo.dir / "claims.py").write_text("# comments and formatting do not count, as for staleness\n" + CLAIMS)
    assert check_clean(repo, "full") == []
    (repo.dir / "claims.py").write_text(CLAIMS + 'CLAIMS.append("a new claim")\n')
    (repo.dir / "extra.py").write_text("X = 1\n")
    (repo.dir / "params" / "full.yaml").write_text("PROFILE: full\nN: 101\n")
    found = check_clean(repo, "full")
    assert found == ["papers/tiny_2024/claims.py has uncommitted changes", "papers/tiny_2024/extra.py is untracked",
                     "papers/tiny_2024/params/full.yaml has uncommitted changes"]  # fmt: skip
    assert "params" not in " ".join(check_clean(repo, "default"))  # only the full profile reads params/full.yaml

    # a notebook counts by its code cells: new outputs are not a change, new code is
    git(repo.root.parent, "checkout", "-q", "--", ".")
    (repo.dir / "extra.py").unlink()
    nb = json.loads(repo.notebook.read_text())
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "20\n"}]
    repo.notebook.write_text(json.dumps(nb))
    assert check_clean(repo, "default") == []
    nb["cells"][3]["source"] = "print(N * 3)"
    repo.notebook.write_text(json.dumps(nb))
    assert check_clean(repo, "default") == [
        "papers/tiny_2024/tiny_2024.ipynb has uncommitted changes to its code cells"
    ]


def test_a_run_from_committed_claims_is_preregistered(repo):
    path = write_record(repo)
    assert verify_record(repo, path) == (PREREGISTERED, [])  # results not committed yet: they will come later
    commit_all(repo, "results")
    assert verify_record(repo, path) == (PREREGISTERED, [])
    assert preregistration_status(repo, "default") == PREREGISTERED
    assert preregistration_status(repo, "full") == MISSING


def test_claims_and_results_in_one_commit_are_a_violation(repo):
    # claims.py is changed and the run recorded before it is committed; then both land in the same commit. The record
    # is planted as if it had been pre-registered (say, the check was bypassed by hand).
    (repo.dir / "claims.py").write_text(CLAIMS + 'CLAIMS.append("added after looking")\n')
    path = write_record(repo, preregistration={"status": "clean", "checked_files": [], "problems": []})
    commit_all(repo, "claims and results together")
    status, reasons = verify_record(repo, path)
    assert status == VIOLATION
    assert any("papers/tiny_2024/claims.py at commit" in r and "is not what the run read" in r for r in reasons)


def test_a_record_naming_a_commit_not_before_its_own_is_a_violation(repo):
    root = repo.root.parent
    git(root, "checkout", "-q", "-b", "side")
    (root / "notes.txt").write_text("a commit the results commit does not descend from\n")
    commit_all(repo, "side")
    side = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-")
    path = write_record(repo, commit=side)
    commit_all(repo, "results")
    status, reasons = verify_record(repo, path)
    assert status == VIOLATION and reasons == [
        f"commit {side[:10]} is not earlier than {git(root, 'rev-parse', 'HEAD')[:10]} that wrote "
        "papers/tiny_2024/results/default.json"
    ]

    record = json.loads(path.read_text())
    record["provenance"]["commit"] = "f" * 40
    path.write_text(json.dumps(record))
    assert verify_record(repo, path) == (
        VIOLATION,
        [f"provenance.commit {'f' * 12} is not a commit of this repository"],
    )


def test_a_recorded_claims_hash_that_differs_from_the_commit_is_a_violation(repo):
    path = write_record(repo)
    record = json.loads(path.read_text())
    record["provenance"]["inputs"]["papers/tiny_2024/claims.py"] = "0" * 64
    path.write_text(json.dumps(record))
    commit_all(repo, "results")
    status, reasons = verify_record(repo, path)
    assert status == VIOLATION and reasons == [
        f"papers/tiny_2024/claims.py at commit {record['provenance']['commit'][:10]} is not what the run read "
        "(it differs)"
    ]


def test_legacy_exploratory_and_hand_runs_are_labelled_not_failed(repo):
    path = write_record(repo)
    record = json.loads(path.read_text())
    legacy = {**record, "schema_version": 1, "provenance": {"commit": "0" * 40, "dirty": True}}
    path.write_text(json.dumps(legacy))
    assert verify_record(repo, path).status == LEGACY

    (repo.dir / "claims.py").write_text(CLAIMS + 'CLAIMS.append("edited in JupyterLab")\n')
    path = write_record(repo)  # a hand run from an uncommitted claims.py: the record says so
    status, reasons = verify_record(repo, path)
    assert status == LEGACY and "papers/tiny_2024/claims.py has uncommitted changes" in reasons[0]

    path = write_record(repo, exploratory=True)
    assert verify_record(repo, path).status == EXPLORATORY


def test_record_fields_follow_the_runners_flag(repo, monkeypatch):
    monkeypatch.delenv("TOKEN_PAPERS_EXPLORATORY", raising=False)
    fields = record_fields(repo, "default")
    assert fields["exploratory"] is False and fields["preregistration"]["status"] == "clean"
    assert "papers/tiny_2024/claims.py" in fields["preregistration"]["checked_files"]
    monkeypatch.setenv("TOKEN_PAPERS_EXPLORATORY", "1")
    assert record_fields(repo, "default")["exploratory"] is True


# the commands: `papers run` in a sandbox project, `papers release` in the citation sandbox


@pytest.mark.slow
def test_papers_run_refuses_uncommitted_claims_unless_exploratory(tmp_path):
    from shared.runner import sandbox

    root = sandbox.make_project(tmp_path / "proj", dvc=False)
    sandbox.add_paper(root, "pre_2024", ["x = 3"], value="x")
    sandbox.run_quiet(["git", "add", "-A"], root)
    sandbox.run_quiet(["git", "commit", "-qm", "paper"], root)
    claims = root / "papers" / "pre_2024" / "claims.py"
    claims.write_text("CLAIMS = []\n")
    results = root / "papers" / "pre_2024" / "results" / "default.json"

    def papers(*args):
        return subprocess.run([str(sandbox.bin_dir() / "papers"), *args, "--no-dvc", "--progress", "plain"], cwd=root,
                              env=sandbox.env(root), capture_output=True, text=True, timeout=300)  # fmt: skip

    refused = papers("run", "pre_2024")
    assert refused.returncode == 2 and not results.exists()
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "not pre-registered: papers/pre_2024/claims.py is untracked" in lines[0], lines
    assert "would refuse" in papers("run", "pre_2024", "--dry-run").stdout

    explored = papers("run", "pre_2024", "--exploratory")
    assert explored.returncode == 0, explored.stdout + explored.stderr
    prov = json.loads(results.read_text())["provenance"]
    assert prov["exploratory"] is True and prov["preregistration"]["status"] == "uncommitted"
    assert verify_record(Paper("pre_2024", root / "papers"), results).status == EXPLORATORY

    sandbox.run_quiet(["git", "add", str(claims)], root)
    sandbox.run_quiet(["git", "commit", "-qm", "claims"], root)
    again = papers("run", "pre_2024", "--force")
    assert again.returncode == 0, again.stdout + again.stderr
    prov = json.loads(results.read_text())["provenance"]
    assert prov["exploratory"] is False and prov["preregistration"]["status"] == "clean"
    sandbox.run_quiet(["git", "add", "-A"], root)
    sandbox.run_quiet(["git", "commit", "-qm", "results"], root)
    assert verify_record(Paper("pre_2024", root / "papers"), results) == (PREREGISTERED, [])


def test_release_refuses_exploratory_results(sb):
    from shared.citation.sandbox import git as sb_git
    from shared.citation.sandbox import run_papers

    path = sb / "papers/alpha_2024/results/default.json"
    record = json.loads(path.read_text())
    record["provenance"]["exploratory"] = True
    path.write_text(json.dumps(record, indent=2) + "\n")
    sb_git(sb, "commit", "-qam", "an exploratory record")
    r = run_papers(sb, "release", "v2026.12.0", "--dry-run")
    assert r.returncode == 1
    assert "not pre-registered: papers/alpha_2024/results/default.json (exploratory)" in r.stderr
    assert "beta_2023" not in r.stderr
