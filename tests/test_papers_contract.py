"""Every paper folder keeps the contract, and every recorded verdict follows from its recorded numbers."""

import importlib

import pytest

from shared.checks import problems
from shared.claims import Measurement
from shared.paper import discover
from shared.results import load

PAPERS = discover()


def test_there_are_papers():
    assert PAPERS, "no paper folder found under papers/"


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.slug)
def test_paper_folder_keeps_the_contract(paper):
    found = problems(paper)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.slug)
def test_recorded_verdicts_follow_from_recorded_numbers(paper):
    claims = {c.id: c for c in importlib.import_module(f"papers.{paper.slug}.claims").CLAIMS}
    files = sorted((paper.dir / "results").glob("*.json"))
    assert files
    for path in files:
        record = load(path)
        assert {c["id"] for c in record["claims"]} == set(claims), f"{path.name}: claims differ from claims.py"
        for c in record["claims"]:
            ours = c["ours"]
            m = Measurement(ours["value"], ours.get("low"), ours.get("high"), n=ours["n"])
            again = claims[c["id"]].evaluate(m)
            assert (again["verdict"], again["rule"]) == (c["verdict"], c["rule"]), f"{path.name}: claim {c['id']}"
