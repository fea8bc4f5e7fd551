"""The run-log store: outputs keyed by settings and code, trained once, read back in order, nothing lost mid-way."""

import gzip

import pytest

from shared.lm import runlogs

CALLS = []


def square(x: int, scale: float = 1.0) -> dict:
    CALLS.append(x)
    return {"x": x, "y": x * x * scale, "pair": (x, x), "nan": float("nan")}


def boom(x: int) -> dict:
    if x == 3:
        raise RuntimeError("diverged for real")
    return {"x": x}


def test_trains_missing_then_reads(tmp_path):
    path = tmp_path / "runs.json.gz"
    CALLS.clear()
    jobs = [{"x": i} for i in range(5)]
    out, trained = runlogs.cached_map(square, jobs, path, code="c1", log=None)
    assert trained == 5 and CALLS == [0, 1, 2, 3, 4]
    assert [o["y"] for o in out] == [0, 1, 4, 9, 16] and out[0]["pair"] == [0, 0]  # as it reads back: lists
    again, trained = runlogs.cached_map(square, jobs + [{"x": 7}], path, code="c1", log=None)
    assert trained == 1 and CALLS[-1] == 7 and again[:5] == out and again[5]["y"] == 49


def test_settings_and_code_change_the_key(tmp_path):
    path = tmp_path / "runs.json.gz"
    runlogs.cached_map(square, [{"x": 2}], path, code="c1", log=None)
    _, trained = runlogs.cached_map(square, [{"x": 2, "scale": 2.0}], path, code="c1", log=None)
    assert trained == 1
    _, trained = runlogs.cached_map(square, [{"x": 2}], path, code="c2", log=None)
    assert trained == 1, "a code change must retrain, not reuse a stale output"
    with pytest.raises(ValueError, match="not in"):
        runlogs.cached_map(square, [{"x": 2}], path, code="c3", train="never", log=None)


def test_always_retrains_and_duplicates_train_once(tmp_path):
    path = tmp_path / "runs.json.gz"
    CALLS.clear()
    out, trained = runlogs.cached_map(square, [{"x": 1}, {"x": 1}], path, code="c", log=None)
    assert trained == 1 and CALLS == [1] and out[0] == out[1]
    _, trained = runlogs.cached_map(square, [{"x": 1}], path, code="c", train="always", log=None)
    assert trained == 1 and CALLS == [1, 1]
    with pytest.raises(ValueError, match="train="):
        runlogs.cached_map(square, [{"x": 1}], path, code="c", train="sometimes", log=None)


def test_interrupted_run_keeps_finished_chunks(tmp_path):
    path = tmp_path / "runs.json.gz"
    with pytest.raises(RuntimeError, match="diverged for real"):
        runlogs.cached_map(boom, [{"x": i} for i in range(5)], path, code="c", chunk=2, log=None)
    assert len(runlogs.load_store(path)) == 2  # the first chunk (0, 1) was saved before the failing one


def test_fixed_bytes_and_format_check(tmp_path):
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    runlogs.save_store(a, {"k": {"v": 1.5}})
    runlogs.save_store(b, {"k": {"v": 1.5}})
    assert a.read_bytes() == b.read_bytes()
    with gzip.open(a, "wt") as f:
        f.write('{"format": 0, "runs": {}}')
    with pytest.raises(ValueError, match="format"):
        runlogs.load_store(a)


def test_code_fingerprint_follows_the_bytes(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("x = 1\n")
    before = runlogs.code_fingerprint(f)
    f.write_text("x = 2\n")
    assert runlogs.code_fingerprint(f) != before
