"""Tests of the encodings, the CPT score and the threshold classifier."""

import numpy as np
import pytest

from papers.broken_token_2025.method import (
    ENCODINGS,
    atbash,
    auroc,
    caesar,
    cpt,
    fit_threshold,
    mean_auroc_of_resample,
    morse,
)
from shared.tokenization import train


def test_ciphers_known_answers():
    assert caesar("Hello, World!", 3) == "Khoor, Zruog!" and caesar(caesar("abcXYZ", 7), 19) == "abcXYZ"
    assert atbash("abc XYZ") == "zyx CBA" and atbash(atbash("Hello")) == "Hello"
    assert morse("SOS 1") == "... --- ... / .----"
    assert ENCODINGS["rot13"]("Hello") == "Uryyb" and ENCODINGS["leetspeak"]("test case") == "7357 c453"
    assert ENCODINGS["hex"]("hi") == "6869" and ENCODINGS["binary"]("A") == "01000001"
    assert ENCODINGS["url"]("a b/c") == "a%20b%2Fc" and ENCODINGS["spaced"]("abc") == "a b c"


def test_cpt_and_threshold_on_a_tokenizer_trained_on_english():
    english = ["the quick brown fox jumps over the lazy dog", "she sells sea shells by the sea shore"] * 50
    tok = train(english, 400)
    nat = cpt(tok, english[:2])
    enc = cpt(tok, [ENCODINGS["hex"](t) for t in english[:2]])
    assert (nat > 2 * enc).all()
    scores = np.r_[nat, enc]
    labels = np.array([False, False, True, True])
    thr = fit_threshold(scores, labels)
    assert ((scores < thr) == labels).all()


def test_auroc_known_values():
    y = np.array([True, True, False, False])
    assert auroc(np.array([1.0, 2.0, 3.0, 4.0]), y) == 1.0
    assert auroc(np.array([4.0, 3.0, 2.0, 1.0]), y) == 0.0
    assert auroc(np.array([1.0, 1.0, 1.0, 1.0]), y) == pytest.approx(0.5)


def test_mean_auroc_of_resample_matches_auroc_on_the_repeated_inputs():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(60, 3)), 1)  # rounded: ties between and within the classes
    encoded = rng.random(60) < 0.4
    stat = mean_auroc_of_resample(scores, encoded)
    for _ in range(5):
        idx = rng.integers(0, 60, 60)
        want = np.mean([auroc(scores[idx, j], encoded[idx]) for j in range(3)])
        assert stat(idx.tolist()) == pytest.approx(want, abs=1e-12)
    assert stat(list(range(60))) == pytest.approx(np.mean([auroc(scores[:, j], encoded) for j in range(3)]))
