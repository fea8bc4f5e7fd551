"""`papers diff`: the claims whose value or verdict changed between two versions, read from git."""

import pytest

from shared.citation.diff import diff_versions
from shared.citation.gitrepo import GitError
from shared.citation.sandbox import claim, git, run_papers, write_results


def test_diff_lists_changed_added_and_removed_claims(sb):
    git(sb, "tag", "v2026.11.0")
    write_results(sb, "alpha_2024", "default", [claim("a1", value=1.05), claim("a2", "reproduced", "faithful", 0.9)])
    write_results(sb, "beta_2023", "full", [claim("b1", "partially reproduced", "analogue", 0.7), claim("b2")])
    (sb / "papers/gamma_2022/results/default.json").unlink()
    git(sb, "add", "-A")
    git(sb, "commit", "-q", "-m", "rerun")
    git(sb, "tag", "v2026.12.0")

    _, _, changes = diff_versions("v2026.11.0", "v2026.12.0", repo=sb)
    got = {(c["paper"], c["profile"], c["claim"]): c["change"] for c in changes}
    assert got == {("alpha_2024", "default", "a1"): "value", ("alpha_2024", "default", "a2"): "verdict",
                   ("beta_2023", "full", "b2"): "added", ("gamma_2022", "default", "c1"): "removed"}  # fmt: skip
    a2 = next(c for c in changes if c["claim"] == "a2")
    assert a2["before"]["verdict"] == "not reproduced" and a2["after"]["verdict"] == "reproduced"
    # a tolerance hides the small value change, and B defaults to HEAD
    _, vb, loose = diff_versions("v2026.11.0", rtol=0.1, repo=sb)
    assert vb.tag == "v2026.12.0" and {c["claim"] for c in loose} == {"a2", "b2", "c1"}
    assert diff_versions("v2026.12.0", "v2026.12.0", repo=sb)[2] == []

    r = run_papers(sb, "diff", "v2026.11.0", "v2026.12.0", "--exit-code")
    assert r.returncode == 1, r.stderr
    assert "0.2 [0.1, 0.3] (not reproduced)" in r.stdout and "4 claims changed" in r.stdout


def test_diff_unknown_version_lists_tags(sb, monkeypatch, capsys):
    import shared.citation.diff as diff_module
    from shared.cli import main

    git(sb, "tag", "v2026.11.0")
    with pytest.raises(GitError, match="unknown version 'v2031.1.0': valid tags are v2026.11.0"):
        diff_versions("v2026.11.0", "v2031.1.0", repo=sb)
    monkeypatch.setattr(diff_module, "ROOT", sb)
    assert main(["diff", "v2026.11.0", "v2031.1.0"]) == 2
    assert "unknown version 'v2031.1.0': valid tags are v2026.11.0" in capsys.readouterr().err
    assert main(["diff", "v2026.11.0", "--format", "yaml"]) == 2
    assert "unknown format 'yaml'; valid: text, json, markdown" in capsys.readouterr().err
    assert main(["diff", "v2026.11.0", "--format", "markdown"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("| paper | profile | claim | change | v2026.11.0 |") and "0 claims changed" in out.err
