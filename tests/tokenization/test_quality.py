"""Token quality metrics (shared.tokenization.quality): Qtok's categories on known strings, and each fast path equal
to its reference (usage counts, type-level shares over resamples with repeats)."""

import numpy as np
import pytest

from shared.data import DataMissing
from shared.tokenization import train
from shared.tokenization.quality import (
    CATEGORIES,
    TypeIncidence,
    category_shares,
    classify,
    script_shares,
    token_words,
    tr_lower,
    type_share_reference,
    usage_counts,
    usage_counts_reference,
    vocab_categories,
)
from shared.tokenization.vocab import load

TEXTS = ["The cat sat on the mat.", "Кошка сидела на коврике.", "猫がマットの上に座った。", "Kitapları okudum.",
         "बिल्ली चटाई पर बैठी।", "def f(x):\n    return x ** 2\n", "  spaces  and\ttabs \n", ""]  # fmt: skip


def real(name):
    try:
        return load(name)
    except DataMissing:
        pytest.skip(f"data/tokenizers for {name} not built")


@pytest.mark.parametrize("piece,special,expected", [
    (b"x", False, ("pure_unicode", "")),                    # one byte
    ("é".encode(), False, ("pure_unicode", "")),            # one character of the byte-level alphabet
    ("ж".encode(), False, ("char_alpha", "CYRILLIC")),
    ("猫".encode(), False, ("char_alpha", "CJK")),
    ("→".encode(), False, ("char_other", "")),
    (b" cat", False, ("spaced_alpha", "LATIN")),
    (" кот".encode(), False, ("spaced_alpha", "CYRILLIC")),
    (b" 42", False, ("spaced_other", "")),
    (b" \n", False, ("spaced_errors", "")),
    (b"ing", False, ("inner_alpha", "LATIN")),
    (b"ab1", False, ("inner_other", "")),
    (b"a\tb", False, ("inner_errors", "")),
    (b"<unused1>", False, ("control_tokens", "")),
    (b"<br>", False, ("inner_other", "")),                  # an HTML tag is text, not a control token
    ("猫".encode()[:2], False, ("unicode_flanks", "")),      # an incomplete UTF-8 sequence
    (b"<s>", True, ("control_tokens", "")),
])  # fmt: skip
def test_classify_known_strings(piece, special, expected):
    assert classify(piece, special) == expected


def test_shares_sum_to_100_and_follow_weights():
    cats = np.array(["spaced_alpha", "inner_alpha", "inner_alpha", "control_tokens"])
    scripts = np.array(["LATIN", "LATIN", "CYRILLIC", ""])
    sh = category_shares(cats)
    assert set(sh) == set(CATEGORIES) and abs(sum(sh.values()) - 100) < 1e-9 and sh["inner_alpha"] == 50
    assert category_shares(cats, [0, 0, 3, 1])["inner_alpha"] == 75
    ss = script_shares(cats, scripts)  # over all entries, as Qtok's Table 2
    assert ss == {"LATIN (spaced)": 25.0, "LATIN (inner)": 25.0, "CYRILLIC (inner)": 25.0}


def test_trained_vocab_categories_cover_every_id():
    tok = train(TEXTS * 5, vocab_size=400)
    cats, scripts = vocab_categories(tok)
    assert len(cats) == len(tok.token_bytes) and set(cats) <= set(CATEGORIES)
    assert (cats == "pure_unicode").sum() >= 200  # the 256 byte tokens of a byte-level BPE (minus alphabet overlaps)
    assert all(s == "" for c, s in zip(cats, scripts) if not c.endswith("_alpha"))


@pytest.mark.parametrize("name", [None, "tiktoken:cl100k_base", "gemma3"])
def test_usage_counts_fast_equals_reference(name):
    tok = train(TEXTS * 5, vocab_size=400) if name is None else real(name)
    fast, ref = usage_counts(tok, TEXTS), usage_counts_reference(tok, TEXTS)
    assert fast.shape == ref.shape and np.array_equal(fast, ref)
    assert fast.sum() == sum(len(tok.encode(t)) for t in TEXTS)


@pytest.mark.parametrize("name", [None, "tiktoken:o200k_base", "llama3"])
def test_type_share_fast_equals_reference_on_resamples(name):
    tok = train(TEXTS * 5, vocab_size=400) if name is None else real(name)
    texts = [t for t in TEXTS if t]
    rng = np.random.default_rng(0)
    valid = rng.random(len(tok.token_bytes)) < 0.4
    inc = TypeIncidence(tok, texts)
    assert inc.share(valid) == pytest.approx(type_share_reference(tok, texts, valid))
    for _ in range(20):
        rows = rng.integers(0, len(texts), len(texts))
        assert inc.share(valid, rows) == pytest.approx(type_share_reference(tok, texts, valid, rows))


def test_type_share_can_fail_and_saturate():
    tok = train(TEXTS * 5, vocab_size=400)
    inc = TypeIncidence(tok, TEXTS)
    assert inc.share(np.zeros(len(tok.token_bytes), bool)) == 0.0
    assert inc.share(np.ones(len(tok.token_bytes), bool)) == 100.0


def test_token_words_strip_and_turkish_lowercase():
    assert tr_lower("İstanbul'da IŞIK") == "istanbul'da ışık"
    tok = real("gemma3")
    ids = tok.encode(" Kitap")
    words = token_words(tok)
    assert "".join(words[i] for i in ids) == "kitap"
