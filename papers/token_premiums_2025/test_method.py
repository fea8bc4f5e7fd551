"""Tests of the controlled premium design: parallel table, corpus token counts, per-language optimal vocabulary."""

import pandas as pd
import pytest

from papers.token_premiums_2025.method import corpus_token_counts, cv, optimal_vocab, parallel_table
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
