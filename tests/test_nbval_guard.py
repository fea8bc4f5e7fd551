"""CI's notebook check really fails when a committed result changes, and only then."""

import subprocess
import sys

import nbformat
import pytest

from shared import ROOT
from shared.testing import make_notebook

pytestmark = pytest.mark.slow


def _nbval(path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-kernel-name", "token-papers-cpu", "--nbval-sanitize-with", str(ROOT / "ci/nbval_sanitize.cfg"),
           str(path)]  # fmt: skip
    return subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, timeout=300)


def _golden(tmp_path, stored: str):
    nb = make_notebook([
        ("code", "import datetime\nX = 6 * 7", []),
        ("code", 'print(f"answer {X} at {datetime.datetime.now().isoformat()} in 1.5 s, obj {hex(id(X))}")',
         ["nbval-check-output"]),
    ])  # fmt: skip
    nb.cells[0].execution_count, nb.cells[1].execution_count = 1, 2
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    path = tmp_path / "golden.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_unchanged_result_passes_despite_times_and_addresses(tmp_path):
    out = _nbval(_golden(tmp_path, "answer 42 at 2020-01-01T00:00:00.123 in 9.25 s, obj 0x7f00deadbeef\n"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_changed_result_fails(tmp_path):
    out = _nbval(_golden(tmp_path, "answer 43 at 2020-01-01T00:00:00.123 in 9.25 s, obj 0x7f00deadbeef\n"))
    assert out.returncode == 1 and "answer 43" in out.stdout, out.stdout
