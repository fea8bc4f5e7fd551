"""Fixtures: small paper folders in a temporary papers root, built with the real scaffold and notebook code, and a
sandbox project (a copy of the code plus three synthetic papers in its own git repository) for the site and citation
tests."""

from pathlib import Path

import pytest

from shared.citation import sandbox
from shared.notebooks import write
from shared.testing import make_notebook


@pytest.fixture(autouse=True)
def _no_rerun_contract(monkeypatch):
    """The notebook conftest turns the rerun contract on for the whole pytest process when nbval runs (the same
    session, or the same xdist worker, also runs these tests): the unit tests here judge the machinery itself, with
    their own throwaway papers, so each starts with the contract off and a test that needs it sets it."""
    from shared.rerun import ENV

    monkeypatch.delenv(ENV, raising=False)


@pytest.fixture
def papers_root(tmp_path) -> Path:
    root = tmp_path / "papers"
    root.mkdir()
    return root


@pytest.fixture
def tiny_paper(papers_root):
    """A paper `tiny_2024` whose notebook imports `papers.tiny_2024.method` and `shared.claims`."""
    d = papers_root / "tiny_2024"
    (d / "params").mkdir(parents=True)
    (d / "paper.yaml").write_text("catalog_id: 122\narxiv_id: '2306.09927'\nkernel: cpu\nmodels: []\ndata: []\n")
    (d / "method.py").write_text("from .helpers import twice\n\nVALUE = twice(21)\n")
    (d / "helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    (d / "params" / "full.yaml").write_text("PROFILE: full\nN: 100\n")
    nb = make_notebook([
        ("markdown", "# tiny", []),
        ("code", 'PROFILE = "default"\nN = 10  # examples\nRATE = 0.5\nNAMES = ["a"]', ["parameters"]),
        ("code", "from papers.tiny_2024 import method\nimport shared.claims\n%matplotlib inline", []),
        ("code", "print(N * 2)", ["nbval-check-output"]),
    ])  # fmt: skip
    write(nb, d / "tiny_2024.ipynb")
    from shared.paper import Paper

    return Paper("tiny_2024", papers_root)


@pytest.fixture(scope="session")
def base_sandbox(tmp_path_factory) -> Path:
    return sandbox.demo_project(tmp_path_factory.mktemp("base") / "project")


@pytest.fixture
def sb(base_sandbox, tmp_path) -> Path:
    """A private clone of the sandbox: tests tag, commit and release in it freely."""
    return sandbox.clone(base_sandbox, tmp_path / "project")
