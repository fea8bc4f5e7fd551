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


def _claim(cid):
    from papers.broken_token_2025.claims import CLAIMS

    return next(c for c in CLAIMS if c.id == cid)


def test_natural_specificity_can_fail_and_needs_its_precondition():
    """Hard negatives flagged as encoded (a tokenizer that covers the language badly) give not reproduced; a threshold
    that flags English natural text too makes the claim inconclusive, never not reproduced."""
    from shared.claims import Measurement

    claim = _claim("natural-specificity")
    english_ok = {"english-specificity": Measurement.mean([1.0] * 199 + [0.0], n_unit="strings", bounds=(0, 1))}
    flagged_half = Measurement.mean([0.0, 1.0] * 200, n_unit="natural non-English strings", bounds=(0, 1))
    assert claim.evaluate(flagged_half, checks=english_ok)["verdict"] == "not reproduced"
    clean = Measurement.mean([1.0] * 399 + [0.0], n_unit="natural non-English strings", bounds=(0, 1))
    assert claim.evaluate(clean, checks=english_ok)["verdict"] == "reproduced"
    english_bad = {"english-specificity": Measurement.mean([0.0, 1.0] * 100, n_unit="strings", bounds=(0, 1))}
    assert claim.evaluate(flagged_half, checks=english_bad)["verdict"] == "inconclusive"


@pytest.mark.parametrize("cid", ["cpt-accuracy", "cpt-auroc", "short-inputs"])
def test_detection_claims_can_fail_and_lose_to_the_length_only_control(cid):
    """A detector at chance gives not reproduced; a near-perfect detector that the length-only control matches (margin
    around 0) is not reproduced either."""
    from shared.claims import Measurement

    claim = _claim(cid)
    perfect = Measurement.mean([1.0] * 499 + [0.0], n_unit="test strings", bounds=(0, 1))
    chance = Measurement.mean([0.0, 1.0] * 250, n_unit="test strings", bounds=(0, 1))
    beats = Measurement.paired_difference([1.0] * 300, [0.0, 1.0] * 150, n_unit="test strings")
    tie = Measurement.paired_difference([1.0] * 300, [1.0] * 300, n_unit="test strings", resolution=1e-3)
    assert claim.evaluate(chance, control=beats)["verdict"] == "not reproduced"
    assert claim.evaluate(perfect, control=beats)["verdict"] == "reproduced"
    assert claim.evaluate(perfect, control=tie)["verdict"] in ("not reproduced", "inconclusive")


def test_length_only_detector_on_same_length_ciphers_is_at_chance():
    """The control's detector: with ciphers that keep the length (ROT13), the character count carries no signal."""
    texts = ["the quick brown fox", "hello there, world", "a b c d e f", "lorem ipsum dolor sit amet"]
    chars = np.array([len(t) for t in texts] + [len(ENCODINGS["rot13"](t)) for t in texts], dtype=float)
    encoded = np.array([False] * 4 + [True] * 4)
    assert auroc(-chars, encoded) == pytest.approx(0.5)
