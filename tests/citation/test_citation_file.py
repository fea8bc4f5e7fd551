"""The repository's CITATION.cff is valid CFF 1.2.0 (what GitHub's "Cite this repository" and Zenodo read)."""

import jsonschema
import pytest
import yaml
from cff_schema import validate_cff

from shared import ROOT


def test_root_citation_cff_is_valid():
    doc = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    validate_cff(doc)
    assert doc["cff-version"] == "1.2.0" and doc["version"] and doc["date-released"]


def test_the_schema_rejects_a_broken_file():
    doc = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    doc["date-released"] = "December"
    with pytest.raises(jsonschema.ValidationError):
        validate_cff(doc)
    del doc["date-released"], doc["authors"]
    with pytest.raises(jsonschema.ValidationError):
        validate_cff(doc)
