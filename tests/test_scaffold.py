"""`papers new`: a scaffolded folder keeps the contract except for what the author must still write."""

import subprocess
import sys

import pytest

from shared import ROOT
from shared.checks import problems, warnings
from shared.notebooks import pair_status, read, tagged_cells
from shared.paper import Paper, PaperError
from shared.scaffold import create
from shared.scope import scope_table


def test_new_paper_has_every_file_and_a_paired_notebook(papers_root):
    dest = create("streamingllm_2023", 87, "2309.17453", root=papers_root)
    paper = Paper("streamingllm_2023", papers_root)
    for name in ("README.md", "paper.yaml", "__init__.py", "method.py", "claims.py", "test_method.py", "params/full.yaml",
                 "streamingllm_2023.py", "streamingllm_2023.ipynb"):  # fmt: skip
        assert (dest / name).exists(), name
    assert paper.catalog_id == 87 and paper.meta["arxiv_id"] == "2309.17453"
    assert "Attention Sinks" in (dest / "README.md").read_text()
    assert pair_status(paper.notebook) is None
    nb = read(paper.notebook)
    assert nb.metadata.kernelspec.name == "token-papers-cpu"
    assert list(paper.parameters())[0] == "PROFILE" and paper.profile_params("full") == {"PROFILE": "full"}
    assert len(tagged_cells(nb)) == 3
    # what is left to do is reported, not hidden: no outputs, no results yet
    found = problems(paper)
    assert any("no stored output" in p for p in found) and any("results/default.json is missing" in p for p in found)
    # the README's scope table parses and names the template's claim; its <...> placeholders are a warning
    rows = scope_table(paper)
    assert [(r["status"], r["claims"]) for r in rows] == [("tested", ["main"]), ("not tested", [])]
    assert not any("README.md" in p for p in found)
    assert warnings(paper) == [
        "streamingllm_2023/README.md: scope rows at lines 18, 19 still hold the template's <...> text"
    ]


def test_new_paper_refuses_bad_slugs_ids_and_overwrites(papers_root):
    with pytest.raises(PaperError, match="snake_case"):
        create("StreamingLLM", 87, root=papers_root)
    with pytest.raises(KeyError, match="unknown catalog id 999"):
        create("foo_2024", 999, root=papers_root)
    create("foo_2024", 87, root=papers_root)
    with pytest.raises(PaperError, match="exists already"):
        create("foo_2024", 87, root=papers_root)
    with pytest.raises(PaperError, match="replicated in papers/foo_2024 already"):
        create("bar_2024", 87, root=papers_root)


def test_scaffolded_tests_fail_until_written(papers_root):
    create("foo_2024", 87, root=papers_root)
    text = (papers_root / "foo_2024" / "test_method.py").read_text()
    assert "pytest.fail(" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["new", "foo_2024", "--catalog-id", "4242"], "unknown catalog id 4242"),
        (["validate", "no_such_paper_2020"], "unknown paper 'no_such_paper_2020'"),
        (["catalog", "--id", "0"], "unknown catalog id 0"),
    ],
)
def test_cli_bad_input_is_one_clear_line(argv, message):
    out = subprocess.run([sys.executable, "-m", "shared.cli", *argv], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
