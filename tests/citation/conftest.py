"""Fixtures: a sandbox project (a copy of the code plus three synthetic papers) in its own git repository."""

from pathlib import Path

import pytest

from shared.citation import sandbox


@pytest.fixture(scope="session")
def base_sandbox(tmp_path_factory) -> Path:
    return sandbox.demo_project(tmp_path_factory.mktemp("base") / "project")


@pytest.fixture
def sb(base_sandbox, tmp_path) -> Path:
    """A private clone of the sandbox: tests tag, commit and release in it freely."""
    return sandbox.clone(base_sandbox, tmp_path / "project")
