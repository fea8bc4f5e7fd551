"""Validation against the Citation File Format 1.2.0 JSON schema, vendored beside this file.

`cff-schema-1.2.0.json` is the schema published by the citation-file-format project (tag 1.2.0, CC-BY-4.0). It is
vendored because cffconvert 2.0.0 pins jsonschema<4, which the project cannot install alongside its own jsonschema 4.
"""

import datetime as dt
import json
from functools import cache
from pathlib import Path

import jsonschema


@cache
def schema() -> dict:
    return json.loads((Path(__file__).with_name("cff-schema-1.2.0.json")).read_text())


def _plain(obj):
    # YAML reads an unquoted 2026-12-01 as a date; the schema (like cffconvert) wants the ISO string
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def validate_cff(doc: dict) -> None:
    """Raise `jsonschema.ValidationError` unless `doc` (parsed YAML) is valid CFF 1.2.0, formats included."""
    jsonschema.Draft7Validator(schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(_plain(doc))
