"""What a result depends on: edits that do not change behaviour leave it fresh; a new dataset or package stales only
the papers that use it."""

import json

from shared.provenance import code_hash, data_inputs, external_imports, normalized_code, package_inputs
from shared.runner.freshness import assess, category


def test_comments_docstrings_and_formatting_do_not_count():
    a = 'def f(x):\n    """Twice."""\n    return 2*x  # double\n'
    b = "# a new comment\n\ndef f( x ):\n    return 2 * x\n"
    assert code_hash(a) == code_hash(b)
    assert code_hash(a) != code_hash("def f(x):\n    return 3 * x\n"), "a code edit counts"
    assert normalized_code("%matplotlib inline\nx = 1") != normalized_code("x = 1"), "magics count"
    assert normalized_code("def broken(:") == "def broken(:", "unparsable text hashes as it is"


def _record_for(paper, profile="default"):
    return {"provenance": {"inputs_hash": paper.inputs_hash(profile), "inputs": paper.input_hashes(profile)}}


def test_a_comment_or_format_edit_leaves_the_result_fresh_and_a_code_edit_stales_it(tiny_paper):
    results = tiny_paper.dir / "results"
    results.mkdir()
    (results / "default.json").write_text(json.dumps(_record_for(tiny_paper)))
    helpers = tiny_paper.dir / "helpers.py"
    helpers.write_text('"""Helpers."""\n\n\ndef twice(x):  # reformatted\n    return 2 * x\n')
    assert assess(tiny_paper, "default").status == "fresh"
    params = tiny_paper.dir / "params" / "full.yaml"
    (results / "full.json").write_text(json.dumps(_record_for(tiny_paper, "full")))
    params.write_text("# the larger run\nPROFILE: full\nN:   100\n")
    assert assess(tiny_paper, "full").status == "fresh", "a comment in a params file does not count"
    helpers.write_text("def twice(x):\n    return x + x + 0\n")
    f = assess(tiny_paper, "default")
    assert f.status == "stale" and f.reasons == ["code: helpers.py changed since the recorded run"]


def test_a_new_dataset_stales_only_the_papers_that_read_its_folder(tmp_path):
    manifest = {"datasets": {"text/kjv": {"sha256": "a"}, "parallel/gettext/x": {"sha256": "b"}}}
    (tmp_path / "shared" / "data").mkdir(parents=True)
    path = tmp_path / "shared" / "data" / "manifest.json"
    path.write_text(json.dumps(manifest))
    kjv, gettext = data_inputs(["text/kjv"], tmp_path), data_inputs(["parallel/gettext"], tmp_path)
    manifest["datasets"]["parallel/gettext/y"] = {"sha256": "c"}
    manifest["datasets"]["images/new"] = {"sha256": "d"}
    path.write_text(json.dumps(manifest))
    assert data_inputs(["text/kjv"], tmp_path) == kjv
    assert data_inputs(["parallel/gettext"], tmp_path) != gettext
    assert data_inputs(["nothing/here"], tmp_path) == {"data/nothing/here": None}


def test_a_new_package_stales_only_the_papers_that_import_it(tmp_path):
    from shared import provenance

    (tmp_path / "requirements.lock").write_text("numpy==2.4.6\nscipy==1.17.1\n")
    provenance.locked_versions.cache_clear()
    try:
        np_only = package_inputs(external_imports("import numpy as np\nimport json"), tmp_path)
        assert np_only == {"package numpy": "2.4.6"}, "the standard library does not count"
        (tmp_path / "requirements.lock").write_text("numpy==2.4.6\nscipy==1.18.0\nnewpkg==1.0\n")
        provenance.locked_versions.cache_clear()
        assert package_inputs({"numpy"}, tmp_path) == np_only
        assert package_inputs({"scipy"}, tmp_path) == {"package scipy": "1.18.0"}
    finally:
        provenance.locked_versions.cache_clear()


def test_reasons_say_what_kind_of_input_changed():
    assert [category(k) for k in ("shared/x.py", "papers/p/params/full.yaml", "data/text/kjv", "package torch",
                                  "kernels/cpu/kernel.json")] == ["code", "parameters", "data", "environment",
                                                                   "environment"]  # fmt: skip
