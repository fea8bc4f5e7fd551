"""Fixtures for the runner tests: one sandbox project per module (built by `runner_support.build_project`)."""

from pathlib import Path

import pytest
from runner_support import build_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return build_project(tmp_path_factory.mktemp("runner") / "proj")
