"""`papers cite`: pinned citations read from git at the requested version, in four formats, with clear errors.

Most checks call the library on the sandbox repository directly (fast); one runs the real command line end to end.
"""

import hashlib
import json

import jsonschema
import pytest
import yaml
from cff_schema import validate_cff

from shared.citation.cite import citation, render
from shared.citation.gitrepo import GitError
from shared.citation.sandbox import claim, git, run_papers, write_results
from shared.paper import PaperError
from shared.results import ResultsError


def tag_two_versions(sb):
    """v2026.11.0 with a1 = 1.0 (reproduced); v2026.12.0 with a1 = 0.4 (not reproduced)."""
    git(sb, "tag", "v2026.11.0")
    rerun = [claim("a1", "not reproduced", value=0.4), claim("a2", "not reproduced", "faithful", 0.2)]
    write_results(sb, "alpha_2024", "default", rerun)
    git(sb, "commit", "-q", "-am", "rerun alpha")
    git(sb, "tag", "-a", "v2026.12.0", "-m", "December")


def test_cite_at_an_old_tag_reads_the_results_of_that_tag(sb):
    tag_two_versions(sb)
    # an uncommitted edit in the working tree must not leak into any citation
    path = sb / "papers/alpha_2024/results/default.json"
    path.write_text(path.read_text().replace('"value": 0.4', '"value": 9.9'))

    old = citation("alpha_2024", "a1", "v2026.11.0", repo=sb)
    assert old["version"]["tag"] == "v2026.11.0"
    assert old["version"]["commit"] == git(sb, "rev-parse", "v2026.11.0^{commit}")
    assert old["result"]["claim"]["ours"]["value"] == 1.0 and old["result"]["claim"]["verdict"] == "reproduced"
    committed = git(sb, "show", "v2026.11.0:papers/alpha_2024/results/default.json") + "\n"
    assert old["result"]["sha256"] == hashlib.sha256(committed.encode()).hexdigest()
    assert old["result"]["git_blob"] == git(sb, "rev-parse", "v2026.11.0:papers/alpha_2024/results/default.json")

    new = citation("alpha_2024", "a1", repo=sb)  # HEAD, which carries the annotated tag v2026.12.0
    assert new["version"]["tag"] == "v2026.12.0"
    assert new["result"]["claim"]["ours"]["value"] == 0.4 and new["result"]["sha256"] != old["result"]["sha256"]

    # a commit hash works as a version too, and finds the tag on it
    by_hash = citation("alpha_2024", version=old["version"]["commit"][:10], repo=sb)
    assert by_hash["version"]["tag"] == "v2026.11.0" and by_hash["result"]["claim"] is None


def test_the_command_prints_the_citation_and_notes_uncommitted_results(sb):
    tag_two_versions(sb)
    path = sb / "papers/alpha_2024/results/default.json"
    path.write_text(path.read_text().replace('"value": 0.4', '"value": 9.9'))
    r = run_papers(sb, "cite", "alpha_2024", "--claim", "a1")  # end to end, as a user runs it
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("@software{tokenpapers:alpha_2024:a1:v2026.12.0,")
    assert "ours 0.4 [0.3, 0.5]" in r.stdout and "uncommitted changes" in r.stderr


def test_the_command_reports_bad_input_in_one_line(sb, monkeypatch, capsys):
    import shared.citation.cite as cite_module
    from shared.cli import main

    git(sb, "tag", "v2026.11.0")
    monkeypatch.setattr(cite_module, "ROOT", sb)
    assert main(["cite", "alpha_2024", "--version", "v9"]) == 2
    assert capsys.readouterr().err == (
        "papers cite: error: unknown version 'v9': valid tags are v2026.11.0, or give a commit hash\n"
    )
    assert main(["cite", "alpha_2024", "--format", "mla"]) == 2
    assert "unknown format 'mla'; valid: bibtex, cff, json, apa" in capsys.readouterr().err
    assert main(["cite", "alpha_2024", "--version", "v2026.11.0", "--format", "json"]) == 0
    assert '"tag": "v2026.11.0"' in capsys.readouterr().out


def test_every_format_carries_the_pins_and_the_original_paper(sb):
    git(sb, "tag", "v2026.11.0")
    c = citation("alpha_2024", "a2", "v2026.11.0", repo=sb)
    commit, sha = c["version"]["commit"], c["result"]["sha256"]
    assert c["result"]["params_hash"] == "a" * 64 and c["result"]["data_hash"] is None
    assert c["result"]["profile"] == "default" and c["result"]["device"] == "cpu"
    assert c["original"]["year"] == 2024 and c["original"]["url"] == "https://arxiv.org/abs/2306.09927"
    assert json.loads(render(c, "json")) == c

    bib = render(c, "bibtex")
    assert bib.startswith("@software{tokenpapers:alpha_2024:a2:v2026.11.0,")
    needles = ["version      = {v2026.11.0}", commit, sha, "a" * 64, "profile default", "device cpu",
               "verdict not reproduced", "@misc{lovelace2024synthetic", "eprint       = {2306.09927}",
               "related      = {lovelace2024synthetic}", f"swh:1:cnt:{c['result']['git_blob']}"]  # fmt: skip
    for needle in needles:
        assert needle in bib, needle
    assert bib.count("{") == bib.count("}")

    apa = render(c, "apa")
    assert "(Version v2026.11.0, commit " in apa and sha in apa
    assert "Lovelace, A., & Turing, A. M. (2024). Synthetic alpha_2024. Journal of Tests, 2024." in apa

    cff = yaml.safe_load(render(c, "cff"))
    validate_cff(cff)
    assert cff["version"] == "v2026.11.0" and cff["commit"] == commit
    assert f"sha256:{sha}" in [i["value"] for i in cff["identifiers"]]
    assert cff["references"][0]["authors"][1] == {"given-names": "Alan M.", "family-names": "Turing"}


def test_cff_output_fails_the_schema_when_broken():
    # the schema check itself must be able to fail
    with pytest.raises(jsonschema.ValidationError):
        validate_cff({"cff-version": "1.2.0", "message": "m", "title": "t", "authors": [], "version": "v1"})


@pytest.mark.parametrize(("kwargs", "error", "expected"), [
    ({"slug": "nope_2020"}, PaperError, "unknown paper 'nope_2020' at v2026.11.0; valid: alpha_2024, beta_2023, gamma_2022"),
    ({"slug": "alph_2024"}, PaperError, "(did you mean alpha_2024?)"),
    ({"claim": "zz"}, PaperError, "alpha_2024 has no claim 'zz' in its 'default' results at v2026.11.0; valid: a1, a2"),
    ({"version": "v9"}, GitError, "unknown version 'v9': valid tags are v2026.11.0, or give a commit hash"),
    ({"slug": "beta_2023", "profile": "gpu"}, PaperError, "beta_2023 has no 'gpu' results at v2026.11.0; valid: full, default"),
])  # fmt: skip
def test_bad_input_gets_a_message_listing_valid_choices(sb, kwargs, error, expected):
    git(sb, "tag", "v2026.11.0")
    args = {"slug": "alpha_2024", "version": "v2026.11.0", **kwargs}
    with pytest.raises(error) as e:
        citation(args.pop("slug"), repo=sb, **args)
    assert expected in str(e.value)


def test_a_results_file_failing_the_schema_names_file_and_field(sb):
    path = sb / "papers/gamma_2022/results/default.json"
    record = json.loads(path.read_text())
    record["claims"][0]["verdict"] = "great"
    path.write_text(json.dumps(record, indent=2) + "\n")
    git(sb, "commit", "-q", "-am", "break gamma")
    with pytest.raises(ResultsError, match=r"papers/gamma_2022/results/default.json at \w+: field claims/0/verdict"):
        citation("alpha_2024", repo=sb)


def test_an_uncommitted_paper_says_to_commit_it(sb):
    (sb / "papers/delta_2021").mkdir()
    (sb / "papers/delta_2021/paper.yaml").write_text("catalog_id: 8\n")
    with pytest.raises(PaperError, match="delta_2021 is in the working tree but not committed at"):
        citation("delta_2021", repo=sb)
