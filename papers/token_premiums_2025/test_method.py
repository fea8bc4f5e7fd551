"""Tests of the controlled premium design: parallel table, corpus token counts, per-language optimal vocabulary."""

import numpy as np
import pandas as pd
import pytest

from papers.token_premiums_2025.claims import CLAIMS
from papers.token_premiums_2025.method import (
    HeldOut,
    corpus_token_counts,
    cv,
    optimal_vocab,
    parallel_table,
    similarity_split,
)
from shared.claims import Measurement, rule_can_fail
from shared.data import DataMissing


def test_cv_known_values():
    assert cv([2, 2, 2]) == 0
    assert cv([1, 3]) == pytest.approx(0.5)


def test_optimal_vocab_picks_the_smallest_size_reaching_the_target():
    ctc = pd.DataFrame({"lang": ["a"] * 3 + ["b"] * 3, "vocab_size": [100, 200, 400] * 2,
                        "ctc": [50, 40, 30, 90, 80, 70]})  # fmt: skip
    got = optimal_vocab(ctc, target=40).set_index("lang")
    assert got.loc["a"].tolist() == [200, 40]
    assert got.loc["b"].tolist() == [400, 70]  # never reaches the target: the largest size


def test_corpus_token_counts_fall_with_vocabulary_and_superwords_compress_repetitive_text():
    texts = {"x": ["open the file", "close the file", "save the file as"] * 50,
             "y": ["ouvrir le fichier", "fermer le fichier", "enregistrer le fichier sous"] * 50}  # fmt: skip
    words = corpus_token_counts(texts, texts, [260, 300, 400], "bytelevel")
    for _, grp in words.groupby("lang"):
        assert grp.sort_values("vocab_size").ctc.is_monotonic_decreasing
    superword = corpus_token_counts(texts, texts, [300], "bytelevel_nosplit")
    assert (superword.ctc.values < words[words.vocab_size == 300].ctc.values).all()
    assert (words.bytes == words.lang.map({k: sum(len(t.encode()) for t in v) for k, v in texts.items()})).all()


def test_parallel_table_is_aligned():
    try:
        table = parallel_table(["en", "de", "fr"])
    except DataMissing:
        pytest.skip("data/parallel not built")
    assert list(table.columns) == ["en", "de", "fr"] and len(table) > 1000
    assert table.notna().all().all() and table.en.is_unique


def test_held_out_totals_sum_rows_per_split_and_count_repeats():
    h = HeldOut()
    h.add(0, {"a:x": [1, 2, 3], "a:y": [10, 20, 30]})
    h.add(1, {"a:x": [5, 7], "b:x": [1, 1]})
    assert h.n == 5
    t = h.totals()
    assert t[:, h.col["a:x"]].tolist() == [6, 12] and t[:, h.col["a:y"]].tolist() == [60, 0]
    assert t[:, h.col["b:x"]].tolist() == [0, 2]
    r = h.totals([0, 0, 4])  # a resample: row 0 twice, row 4 once
    assert r[:, h.col["a:x"]].tolist() == [2, 7]
    assert h.cols("a", ["x", "y"]) == [h.col["a:x"], h.col["a:y"]]


def test_similarity_split_holds_a_catalog_out_of_training():
    ids = [f"c{i % 3}:m{i}" for i in range(300)]
    tr, t_sim, t_dis = similarity_split(ids, "c1", 0.2, np.random.default_rng(0))
    cats = np.array([i.split(":")[0] for i in ids])
    assert not (tr & t_dis).any() and not (tr & t_sim).any() and not (t_sim & t_dis).any()
    assert (cats[t_dis] == "c1").all() and t_dis.sum() == 100 and (cats[tr | t_sim] != "c1").all()
    with pytest.raises(ValueError):
        similarity_split(ids, "nope", 0.2, np.random.default_rng(0))


def test_cv_ratio_statistics_can_fail():
    """The CV-ratio claims can say not reproduced: equal premiums give CV 0, spread-out premiums a large CV."""
    flat, spread = np.array([[100.0, 100.0, 100.0]]), np.array([[50.0, 100.0, 200.0]])
    assert cv(flat, 1)[0] == 0 and cv(spread, 1)[0] > 0.5
    assert cv(spread * 3, 1)[0] == pytest.approx(cv(spread, 1)[0])  # scale-free: premiums and CTCs give one CV


def test_every_rule_can_fail_and_a_null_input_fails_the_claims():
    for c in CLAIMS:
        assert rule_can_fail(c.rule), c.id
    by = {c.id: c for c in CLAIMS}
    # null inputs: no spread across languages; the intervention changes nothing; the uniform size halves the CV;
    # similarity doubles the spread
    null = {"premiums-persist": 1.05, "superword-reduces-premiums": 1.1, "superword-compresses": 1.05,
            "vocab-increase-no-reduction": 0.5, "similarity-no-effect": 2.0}
    for cid, v in null.items():
        m = Measurement(v, v * 0.99, v * 1.01, n=100, n_unit="held-out strings")
        checks = {"holdout-is-dissimilar": Measurement.exact(1.2)} if cid == "similarity-no-effect" else None
        assert by[cid].evaluate(m, checks=checks)["verdict"] == "not reproduced", cid
    c = by["optimal-vocab-reduces-premiums"]
    m = Measurement(0.3, 0.25, 0.35, n=100, n_unit="held-out strings")
    checks = {"grid-not-censoring": Measurement.exact(1.0)}
    beaten = Measurement(-0.1, -0.15, -0.05, n=100)
    assert c.evaluate(m, control=beaten, checks=checks)["verdict"] == "not reproduced"
    censored = {"grid-not-censoring": Measurement.exact(0.9)}
    better = Measurement(0.1, 0.05, 0.15, n=100)
    assert c.evaluate(m, control=better, checks=checks)["verdict"] == "reproduced"
    assert c.evaluate(m, control=better, checks=censored)["verdict"] == "inconclusive"
