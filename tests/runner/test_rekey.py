"""`papers rekey`: a behaviour-preserving change to a shared module is verified by a rerun and re-keyed; a change that
moves a value, or a change to the paper's own claims, is refused and the result stays stale. On a sandbox paper that
reads its claims from `claims.py` and computes its value through a sandbox `shared/` module."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.paper import Paper
from shared.preregistration import PREREGISTERED, verify_record
from shared.provenance import sha256_text
from shared.runner import sandbox
from shared.runner.rekey import LABEL, rekey_label

SLUG = "keyed_2024"
SCALE = """
FACTOR = 2


def scale(n):
    result = FACTOR * n
    return result
"""
CLAIMS = """from shared.claims import AtMost, Claim, Tolerance

CLAIMS = [
    Claim("value-small", "the measured value is small", paper_value=0.0, paper_ref="Sec. 1", rule=AtMost(100.0),
          fidelity="analogue", kind="exact", tolerance=Tolerance(0.0, why="a deterministic count"))
]
"""
CELLS = [
    f'from shared.results import start_run\nrun = start_run("{SLUG}", globals())',
    "from shared.fixture_scale import scale\nx = scale(N)",
    f"from shared.claims import evaluate_claims\nfrom papers.{SLUG}.claims import CLAIMS\n"
    'record = run.finish(evaluate_claims(CLAIMS, {"value-small": float(x)}))',
]


def papers(root: Path, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(sandbox.bin_dir() / "papers"), *args], cwd=root, env=sandbox.env(root, **env),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def git(root: Path, *args: str) -> None:
    sandbox.run_quiet(["git", *args], root)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project whose paper has committed default and full results, both fresh, recorded as pre-registered."""
    root = sandbox.make_project(tmp_path_factory.mktemp("rekey") / "proj", dvc=False)
    sandbox.write_module(root, "fixture_scale", SCALE)
    paper = sandbox.add_paper(root, SLUG, CELLS, parameters={"N": 3}, results=False,
                              profiles={"full": {"PROFILE": "full", "N": 5}})  # fmt: skip
    (paper / "claims.py").write_text(CLAIMS)
    sandbox.add_paper(root, "never_2024", ["y = 1"], results=False)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "paper")
    for profile in ("default", "full"):
        run = papers(root, "run", SLUG, "--profile", profile, "--no-dvc", "--progress", "plain")
        assert run.returncode == 0, run.stdout + run.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "results")
    return root


@pytest.fixture
def project(built, tmp_path) -> Path:
    """A copy of the built project for one test to change (git history and results included)."""
    root = tmp_path / "proj"
    shutil.copytree(built, root, symlinks=True)
    return root


def results(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "papers" / SLUG / "results").glob("*.json"))}


def status(root: Path) -> str:
    return papers(root, "status", SLUG).stdout


def edit_scale(root: Path, old: str, new: str) -> None:
    path = root / "shared" / "fixture_scale.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_a_behaviour_preserving_change_is_verified_and_rekeyed(project):
    paper = Paper(SLUG, project / "papers")
    before = {name: json.loads(data) for name, data in results(project).items()}
    assert status(project).count("fresh: inputs unchanged") == 2
    assert verify_record(paper, paper.results_path("default")).status == PREREGISTERED

    # a refactor without comments: a local renamed, so the normalized code (and the inputs hash) changes
    edit_scale(project, "result = FACTOR * n\n    return result", "doubled = FACTOR * n\n    return doubled")
    assert "stale: code: shared/fixture_scale.py changed" in status(project)

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    proc = papers(project, "rekey", SLUG)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{SLUG}: re-keyed default, full (verified by a rerun of [default])" in proc.stdout
    assert status(project).count("fresh: inputs unchanged") == 2

    for name, old in before.items():
        new = json.loads((project / "papers" / SLUG / "results" / name).read_text())
        rekey = new["provenance"].pop("rekey")
        assert rekey_label(new) is None and rekey_label({"provenance": {"rekey": rekey}}) == LABEL
        # only the inputs moved: claims, numbers, parameters and the original commit are as the run wrote them
        changed = {k for k in old["provenance"] if old["provenance"][k] != new["provenance"][k]}
        assert changed == {"inputs", "inputs_hash"}
        body = {k: v for k, v in new.items() if k != "provenance"}
        assert body == {k: v for k, v in old.items() if k != "provenance"}
        assert rekey["previous_inputs_hash"] == old["provenance"]["inputs_hash"]
        by = rekey["verified_by"]
        assert by["profile"] == "default" and by["commit"] == head and by["when"].endswith("Z")
        assert by["changed"] == [{"input": "shared/fixture_scale.py", "category": "code",
                                  "recorded": old["provenance"]["inputs"]["shared/fixture_scale.py"],
                                  "current": new["provenance"]["inputs"]["shared/fixture_scale.py"]}]  # fmt: skip
        assert by["rows"] == [{"claim": "value-small", "kind": "exact", "committed_value": 6.0, "fresh_value": 6.0,
                               "committed_verdict": "reproduced", "fresh_verdict": "reproduced", "rel_diff": 0.0,
                               "tolerance": "exact", "status": "ok"}]  # fmt: skip

    # still verifiable against git: the pre-registered files' hashes at the run's commit are unchanged by the rekey,
    # before the re-keyed records are committed and after
    for profile in ("default", "full"):
        assert verify_record(paper, paper.results_path(profile)) == (PREREGISTERED, [])
    git(project, "add", "-A")
    git(project, "commit", "-qm", "refactor; rekey")
    for profile in ("default", "full"):
        assert verify_record(paper, paper.results_path(profile)) == (PREREGISTERED, [])


@pytest.mark.slow
def test_b_a_change_that_moves_the_value_is_refused(project):
    before = results(project)
    edit_scale(project, "FACTOR = 2", "FACTOR = 3")  # 6 -> 9: the verdict holds, the exact value does not
    proc = papers(project, "rekey", SLUG)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{SLUG} [default] claim value-small: committed 6.0 (reproduced), rerun 9.0 (reproduced)" in proc.stderr
    assert f"{SLUG}: not re-keyed: the rerun contract broke (1 breach(es)); the results stay stale" in proc.stdout
    assert results(project) == before
    assert status(project).count("stale: code: shared/fixture_scale.py changed") == 2


def test_c_a_change_to_the_papers_own_claims_is_refused(project):
    before = results(project)
    claims = project / "papers" / SLUG / "claims.py"
    claims.write_text(claims.read_text().replace("AtMost(100.0)", "AtMost(50.0)"))
    edit_scale(project, "result = FACTOR * n\n    return result", "doubled = FACTOR * n\n    return doubled")
    proc = papers(project, "rekey", SLUG, TMPDIR=str(project.parent))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = proc.stdout.splitlines()[0]
    assert line.startswith(f"{SLUG}: refused: its own pre-registered files changed (code: claims.py changed since")
    assert "shared/fixture_scale.py" not in line and f"run `papers run {SLUG} --profile default`" in line
    assert results(project) == before and not list(project.parent.glob("rekey-*"))  # nothing was run


def test_d_dry_run_runs_nothing(project):
    before = results(project)
    edit_scale(project, "result = FACTOR * n\n    return result", "doubled = FACTOR * n\n    return doubled")
    scratch = project.parent / "tmp"
    scratch.mkdir()
    proc = papers(project, "rekey", "--all", "--dry-run", TMPDIR=str(scratch))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"{SLUG}: would re-execute [default] into a scratch folder and, if the rerun "
                                        "contract holds, re-key default, full"]  # fmt: skip
    assert results(project) == before and not any(scratch.iterdir())
    assert not (project / ".runner" / "lock").exists() or not (project / ".runner" / "lock").read_text()
    assert status(project).count("stale: code: shared/fixture_scale.py changed") == 2


def test_refusals_without_a_rerun(project):
    # no committed record of the cheap profile
    proc = papers(project, "rekey", "never_2024")
    assert proc.returncode == 1
    assert proc.stdout.strip() == ("never_2024: refused: no committed results/default.json to hold a rerun to: "
                                   "run `papers run never_2024 --profile default`")  # fmt: skip
    # fresh results: nothing to do
    proc = papers(project, "rekey", SLUG)
    assert proc.returncode == 0 and proc.stdout.strip() == f"{SLUG}: nothing to re-key: nothing is stale"
    # a changed params file leaves that profile stale (its own file), while default can still be verified
    full = project / "papers" / SLUG / "params" / "full.yaml"
    full.write_text(full.read_text().replace("N: 5", "N: 7"))
    proc = papers(project, "rekey", SLUG, "--dry-run")
    assert proc.returncode == 0 and proc.stdout.splitlines() == [
        f"{SLUG}: nothing to re-key: results/default.json is fresh",
        f"    not re-keyed: full: its own files changed (papers/{SLUG}/params/full.yaml); "
        f"run `papers run {SLUG} --profile full`",
    ]  # fmt: skip
    full.write_text(full.read_text().replace("N: 7", "N: 5"))

    # a record made before inputs were normalized holds a plain text hash of claims.py: the same content, accepted
    default = project / "papers" / SLUG / "results" / "default.json"
    record = json.loads(default.read_text())
    claims = f"papers/{SLUG}/claims.py"
    record["provenance"]["inputs"][claims] = sha256_text((project / claims).read_text())
    default.write_text(json.dumps(record, indent=2))
    edit_scale(project, "result = FACTOR * n\n    return result", "doubled = FACTOR * n\n    return doubled")
    proc = papers(project, "rekey", SLUG, "--dry-run")
    assert proc.returncode == 0 and proc.stdout.splitlines() == [f"{SLUG}: would re-execute [default] into a scratch "
                                                                 "folder and, if the rerun contract holds, re-key "
                                                                 "default, full"]  # fmt: skip
    claims_path = project / claims
    claims_path.write_text(claims_path.read_text().replace("100.0", "50.0"))
    proc = papers(project, "rekey", SLUG, "--dry-run")
    assert proc.returncode == 1 and "refused: its own pre-registered files changed (code: claims.py" in proc.stdout

    proc = papers(project, "rekey", SLUG, "--all")
    assert proc.returncode == 2 and "name papers or give --all, not both" in proc.stderr
    proc = papers(project, "rekey")
    assert proc.returncode == 2 and "give --all" in proc.stderr
