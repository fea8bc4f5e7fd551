import json
import os

import pytest

from shared.models import cache


def _builder(calls):
    def build(folder):
        calls.append(folder.name)
        (folder / "weights.bin").write_bytes(bytes(range(256)) * 64)
        (folder / "sub").mkdir()
        (folder / "sub" / "config.json").write_text('{"d": 8}')
        return {"kind": "fake"}

    return build


def test_builds_once_then_reuses(tmp_path):
    calls = []
    folder = cache.ensure(tmp_path / "m", _builder(calls), quiet=True)
    assert cache.ensure(tmp_path / "m", _builder(calls), quiet=True) == folder
    assert len(calls) == 1
    record = json.loads((folder / cache.RECORD).read_text())
    assert record["kind"] == "fake" and set(record["files"]) == {"weights.bin", "sub/config.json"}
    assert not list(tmp_path.glob("m.tmp*"))  # built in a temporary folder, renamed into place


def test_corrupted_file_is_detected_and_rebuilt(tmp_path, capsys):
    calls = []
    folder = cache.ensure(tmp_path / "m", _builder(calls), quiet=True)
    weights = folder / "weights.bin"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF  # one flipped byte, same size
    weights.write_bytes(bytes(data))
    assert cache.problems(folder) == ["weights.bin: sha256 mismatch (corrupted)"]
    cache.ensure(folder, _builder(calls))
    assert len(calls) == 2 and "damaged, rebuilding" in capsys.readouterr().out
    assert weights.read_bytes()[100] == 100 and cache.problems(folder) == []


def test_truncated_and_missing_files_are_detected(tmp_path):
    folder = cache.ensure(tmp_path / "m", _builder([]), quiet=True)
    with open(folder / "weights.bin", "r+b") as f:
        f.truncate(10)
    (folder / "sub" / "config.json").unlink()
    found = cache.problems(folder)
    assert any("truncated" in p for p in found) and "sub/config.json: missing" in found


def test_full_check_catches_corruption_that_kept_the_mtime(tmp_path):
    folder = cache.ensure(tmp_path / "m", _builder([]), quiet=True)
    weights = folder / "weights.bin"
    st = weights.stat()
    weights.write_bytes(b"\x00" * st.st_size)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.problems(folder) == []  # the quick check trusts an unchanged stat
    assert cache.problems(folder, full=True) == ["weights.bin: sha256 mismatch (corrupted)"]


def test_failed_build_leaves_nothing_behind(tmp_path):
    def boom(folder):
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        cache.ensure(tmp_path / "m", boom, quiet=True)
    assert not (tmp_path / "m").exists() and not list(tmp_path.glob("m.tmp*"))
    assert cache.problems(tmp_path / "m")[0].endswith("never built, or the build was interrupted)")
