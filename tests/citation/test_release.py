"""`papers release`: refuses stale, invalid or uncommitted results; otherwise stamps CITATION.cff and tags, in a
sandbox repository (the real repository is never tagged by tests)."""

import json

import yaml
from cff_schema import validate_cff

from shared.citation.release import stamp
from shared.citation.sandbox import git, run_papers


def passed_all(sb):
    """What a green `make test-all` leaves behind (the sandbox cannot run it: it has no notebooks' data)."""
    r = run_papers(sb, "ci-plan", "--passed-all")
    assert r.returncode == 0, r.stderr


def test_release_stamps_citation_commits_index_and_tags(sb):
    passed_all(sb)
    (sb / "results").mkdir()
    (sb / "results/index.json").write_text("{}\n")  # a regenerated, uncommitted index does not block a release
    r = run_papers(sb, "release", "v2026.12.0", "--date", "2026-12-01")
    assert r.returncode == 0, r.stderr
    assert "released v2026.12.0 (2026-12-01)" in r.stdout
    assert git(sb, "cat-file", "-t", "v2026.12.0") == "tag"  # annotated
    assert git(sb, "rev-parse", "v2026.12.0^{commit}") == git(sb, "rev-parse", "HEAD")
    assert git(sb, "status", "--porcelain") == ""
    assert sorted(git(sb, "show", "--name-only", "--format=", "HEAD").splitlines()) == [
        "CITATION.cff",
        "results/index.json",
    ]
    cff = yaml.safe_load(git(sb, "show", "v2026.12.0:CITATION.cff"))
    validate_cff(cff)
    assert cff["version"] == "v2026.12.0" and str(cff["date-released"]) == "2026-12-01"
    index = json.loads(git(sb, "show", "v2026.12.0:results/index.json"))
    assert index["counts"]["claims"] == 4 and index["counts"]["status"]["fresh"] == 4
    # the citation at the tag now says which release it is
    c = json.loads(run_papers(sb, "cite", "beta_2023", "--version", "v2026.12.0", "--format", "json").stdout)
    assert c["version"]["tag"] == "v2026.12.0" and c["result"]["profile"] == "full"

    again = run_papers(sb, "release", "v2026.12.0")
    assert again.returncode == 2 and "tag v2026.12.0 already exists; existing tags: v2026.12.0" in again.stderr


def test_release_refuses_stale_results_and_tags_nothing(sb):
    method = sb / "papers/alpha_2024/method.py"
    method.write_text(method.read_text() + "\nVALUE = 3\n")
    git(sb, "commit", "-q", "-am", "change the method after the run")
    r = run_papers(sb, "release", "v2026.12.0")
    assert r.returncode == 1
    assert "refusing to release v2026.12.0" in r.stderr
    assert "stale: papers/alpha_2024/results/default.json" in r.stderr and "papers/alpha_2024/method.py" in r.stderr
    assert "beta_2023" not in r.stderr  # only what is stale is listed
    assert git(sb, "tag") == "" and "v2026.12.0" not in (sb / "CITATION.cff").read_text()


def test_release_refuses_uncommitted_and_invalid_results(sb):
    path = sb / "papers/gamma_2022/results/default.json"
    record = json.loads(path.read_text())
    record["provenance"]["device"] = 7
    path.write_text(json.dumps(record))
    r = run_papers(sb, "release", "v2026.12.0")
    assert r.returncode == 1
    assert "invalid: " in r.stderr and "papers/gamma_2022/results/default.json: field provenance/device" in r.stderr
    assert "uncommitted: papers/gamma_2022/results/default.json" in r.stderr
    assert git(sb, "tag") == ""


def test_release_requires_test_all_green_at_this_commit(sb):
    r = run_papers(sb, "release", "v2026.12.0", "--dry-run")
    assert r.returncode == 1 and "not tested: `make test-all` has not passed" in r.stderr
    passed_all(sb)
    git(sb, "commit", "-q", "--allow-empty", "-m", "a later commit")
    r = run_papers(sb, "release", "v2026.12.0", "--dry-run")
    assert r.returncode == 1 and "not at HEAD" in r.stderr
    passed_all(sb)
    assert run_papers(sb, "release", "v2026.12.0", "--dry-run").returncode == 0


def test_dry_run_changes_nothing(sb):
    passed_all(sb)
    head = git(sb, "rev-parse", "HEAD")
    r = run_papers(sb, "release", "v2026.12.0", "--dry-run")
    assert r.returncode == 0 and r.stdout.startswith("would release v2026.12.0"), r.stderr
    assert git(sb, "rev-parse", "HEAD") == head and git(sb, "tag") == "" and git(sb, "status", "--porcelain") == ""


def test_bad_tags_and_dates_are_refused_before_anything_runs(sb, monkeypatch, capsys):
    import shared.citation.release as release_module
    from shared.cli import main

    monkeypatch.setattr(release_module, "ROOT", sb)  # git commands go to the sandbox, never the real repository
    for args, msg in ((["2026.12"], "version '2026.12' is not of the form vYEAR.MONTH.N"),
                      (["v2026.12.0x"], "is not of the form vYEAR.MONTH.N"),
                      (["v2026.12.0", "--date", "December"], "--date 'December' is not a date of the form YYYY-MM-DD")):  # fmt: skip
        assert main(["release", *args]) == 2
        assert msg in capsys.readouterr().err
    assert git(sb, "tag") == "" and git(sb, "status", "--porcelain") == ""


def test_stamp_sets_version_and_date_and_keeps_every_other_line():
    text = '# comment\ncff-version: 1.2.0\ntitle: X\nversion: "0.1.0"\nauthors:\n  - name: A\n'
    out = stamp(text, "v2026.12.0", "2026-12-01")
    assert out == text.replace('version: "0.1.0"', 'version: "v2026.12.0"') + "date-released: 2026-12-01\n"
    assert stamp(out, "v2027.1.0", "2027-01-05").count("version:") == 2  # cff-version and version, no duplicate
