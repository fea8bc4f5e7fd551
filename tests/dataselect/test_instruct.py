"""Tests of shared.dataselect.instruct on a small rows file with a known answer, and of the evals extractor's row
filter (shared.data.sources)."""

import json

import numpy as np
import pytest

from shared.data.sources import _evals_ideal, _evals_messages, write_jsonl
from shared.dataselect.instruct import EVALS, instruct_pool, load_evals, render
from shared.dataselect.pool import make_task


def rows_file(tmp_path, sizes: dict):
    rows = [{"id": f"{fam}/s.jsonl:{i + 1}", "family": fam, "file": f"{fam}/s.jsonl",
             "input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"{fam} q{i}"}],
             "ideal": [f"a{i}", "alt"]} for fam, n in sizes.items() for i in range(n)]  # fmt: skip
    write_jsonl(tmp_path / EVALS, rows)
    return tmp_path


def test_render_and_load(tmp_path):
    root = rows_file(tmp_path, {"math": 3, "geo": 2})
    rows = load_evals(data_dir=root)
    assert [r["family"] for r in rows] == ["math"] * 3 + ["geo"] * 2
    assert render(rows[0]) == "system: Be brief.\nuser: math q0\nanswer: a0\n"
    assert len(load_evals(["geo"], data_dir=root)) == 2
    with pytest.raises(FileNotFoundError, match="make data"):
        load_evals(data_dir=tmp_path / "nowhere")


def test_pool_families_caps_and_determinism(tmp_path):
    root = rows_file(tmp_path, {"math": 30, "geo": 12, "tiny": 3})
    pool = instruct_pool(min_rows=10, max_per_family=20, data_dir=root)
    assert pool.domain_names == ("geo", "math")  # sorted; "tiny" has too few rows
    assert pool.domain_counts() == {"geo": 12, "math": 20}
    again = instruct_pool(min_rows=10, max_per_family=20, data_dir=root)
    assert again.texts == pool.texts
    other = instruct_pool(min_rows=10, max_per_family=20, seed=1, data_dir=root)
    assert other.texts != pool.texts and other.domain_counts() == pool.domain_counts()
    math = [t for t, d in zip(pool.texts, pool.domains) if pool.domain_names[d] == "math"]
    qs = [int(t.split("math q")[1].split("\n")[0]) for t in math]
    assert qs == sorted(qs)  # kept in file order
    task = make_task(pool, "math", 5, 5, seed=0)
    assert np.all(pool.domains[task.sample] == 1) and len(task.raw) == len(pool) - 10
    with pytest.raises(ValueError, match="rows or more"):
        instruct_pool(min_rows=100, data_dir=root)


def test_extractor_row_filter():
    assert _evals_messages("hi") == [{"role": "user", "content": "hi"}]
    msgs = [{"role": "user", "content": "x", "name": "n"}]
    assert _evals_messages(msgs) == [{"role": "user", "content": "x"}]
    assert _evals_messages([]) is None and _evals_messages([{"role": "user"}]) is None and _evals_messages(3) is None
    assert _evals_ideal("a") == ["a"] and _evals_ideal(["a", "b"]) == ["a", "b"]
    assert _evals_ideal([]) is None and _evals_ideal([1]) is None and _evals_ideal(None) is None
    json.dumps(_evals_messages(msgs))  # plain JSON


def test_real_pool_when_built():
    try:
        pool = instruct_pool(min_rows=100, max_per_family=100)
    except FileNotFoundError:
        pytest.skip("data/ not built")
    assert len(pool.domain_names) >= 50 and set(pool.domain_counts().values()) == {100}
    assert all(t.endswith("\n") and "answer: " in t for t in pool.texts[:50])
