"""Paper folders: parameters, profiles, clear errors, and what a result depends on."""

import pytest

from shared import ROOT
from shared.paper import Paper, PaperError, check_params, discover, get
from shared.provenance import imported_modules, module_closure


def test_parameters_are_read_from_the_tagged_cell(tiny_paper):
    assert tiny_paper.parameters() == {"PROFILE": "default", "N": 10, "RATE": 0.5, "NAMES": ["a"]}
    assert tiny_paper.profiles().keys() == {"default", "full"}
    assert tiny_paper.profile_params("full") == {"PROFILE": "full", "N": 100}
    assert tiny_paper.profile_params("default") == {}


def test_unknown_profile_lists_the_valid_ones(tiny_paper):
    with pytest.raises(PaperError, match=r"no profile 'fulll' \(did you mean full\?\); valid: default, full"):
        tiny_paper.profile_params("fulll")


def test_unknown_or_mistyped_parameters_are_errors(tiny_paper):
    with pytest.raises(PaperError, match=r"unknown parameter\(s\) \['M'\].*valid: PROFILE, N, RATE, NAMES"):
        check_params(tiny_paper, {"M": 1})
    with pytest.raises(PaperError, match="N must be int"):
        check_params(tiny_paper, {"N": "ten"})
    check_params(tiny_paper, {"RATE": 1})  # an int where a float is expected is fine


def test_malformed_params_file_is_reported_with_its_path(tiny_paper):
    (tiny_paper.dir / "params" / "full.yaml").write_text("PROFILE: full\nN: [1, 2\n")
    with pytest.raises(PaperError, match="full.yaml: not valid YAML"):
        tiny_paper.profile_params("full")
    (tiny_paper.dir / "params" / "full.yaml").write_text("- N\n")
    with pytest.raises(PaperError, match="must be a mapping"):
        tiny_paper.profile_params("full")


def test_parameters_cell_must_hold_literals_only(tiny_paper):
    nb = tiny_paper.notebook.read_text().replace("RATE = 0.5", "RATE = N / 20")
    tiny_paper.notebook.write_text(nb)
    with pytest.raises(PaperError, match="RATE is not a literal"):
        tiny_paper.parameters()


def test_unknown_slug_lists_valid_ones(papers_root, tiny_paper):
    with pytest.raises(PaperError, match=r"unknown paper 'tiny_2042'.*did you mean tiny_2024"):
        get("tiny_2042", papers_root)
    assert [p.slug for p in discover(papers_root)] == ["tiny_2024"]


def test_import_analysis_resolves_relative_and_from_imports():
    code = (
        "from . import helpers\nfrom .method import X\nimport shared.claims as c\nfrom shared import repro\nimport os"
    )
    found = imported_modules(code, "papers.tiny_2024")
    assert {"papers.tiny_2024.helpers", "papers.tiny_2024.method", "shared.claims", "shared.repro"} <= found
    assert not any(m.startswith("os") for m in found)


def test_module_closure_is_transitive_within_the_project():
    # shared.results imports shared.paper, which imports shared.provenance and shared.catalog
    mods = module_closure("from shared.results import start_run")
    assert {"shared", "shared.results", "shared.paper", "shared.provenance", "shared.catalog", "shared.claims"} <= set(
        mods
    )
    assert "shared.scaffold" not in mods
    assert all(p.is_file() and p.is_relative_to(ROOT) for p in mods.values())


def test_inputs_hash_follows_imports_not_unrelated_files(tiny_paper):
    before = tiny_paper.input_hashes("default")
    assert "papers/tiny_2024/helpers.py" in before and "shared/claims.py" in before
    h0 = tiny_paper.inputs_hash("default")
    # a helper imported by method.py changes: stale
    (tiny_paper.dir / "helpers.py").write_text("def twice(x):\n    return x + x\n")
    h1 = Paper(tiny_paper.slug, tiny_paper.root).inputs_hash("default")
    assert h1 != h0
    # a file nothing imports changes: still fresh
    (tiny_paper.dir / "notes.txt").write_text("unrelated")
    assert Paper(tiny_paper.slug, tiny_paper.root).inputs_hash("default") == h1
    # only the full profile depends on params/full.yaml
    (tiny_paper.dir / "params" / "full.yaml").write_text("PROFILE: full\nN: 200\n")
    assert Paper(tiny_paper.slug, tiny_paper.root).inputs_hash("default") == h1


def test_markdown_and_outputs_are_not_inputs(tiny_paper):
    import json

    h0 = tiny_paper.inputs_hash("default")
    nb = json.loads(tiny_paper.notebook.read_text())
    nb["cells"][0]["source"] = "# a new title"
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "20\n"}]
    tiny_paper.notebook.write_text(json.dumps(nb))
    assert Paper(tiny_paper.slug, tiny_paper.root).inputs_hash("default") == h0
