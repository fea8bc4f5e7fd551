"""Tests of papers.turkish_tokenization_2025.method: known suffix allomorphs, the lexicon, the character control."""

import numpy as np

from papers.turkish_tokenization_2025 import method
from shared.tokenization.quality import TypeIncidence, tr_lower


def test_suffix_inventory_harmony():
    sfx = method.suffix_inventory()
    assert {"lar", "ler", "da", "de", "ta", "te", "dan", "ten", "ıyor", "iyor", "uyor", "üyor", "yor"} <= sfx
    assert "" not in sfx and all(s.isalpha() for s in sfx)


def test_lexicon_valid_contains_pure():
    sents = [{"tokens": ["Kitapları", "okudum"], "lemmas": ["kitap", "oku"], "text": "Kitapları okudum"}]
    valid, pure = method.lexicon(sents)
    assert {"kitapları", "okudum", "kitap", "oku", "lar"} <= valid
    assert "kitap" in pure and "kitapları" not in pure and pure <= valid
    assert method.word_recall(sents, valid) == 1.0


def test_tr_lower_dotted_i():
    assert tr_lower("IŞIK İZMİR") == "ışık izmir"


def test_char_tok_share_can_fail():
    texts = ["ab", "ba c"]
    inc = TypeIncidence(method.CharTok(), texts)
    v, _ = method.char_masks(inc.types, {"a"}, set())
    assert inc.share(v) == 25.0  # a, b, space, c: one valid of four distinct
    none, _ = method.char_masks(inc.types, set(), set())
    assert inc.share(none) == 0.0
    assert np.array_equal(inc.types, np.array(sorted(map(ord, "ab c"))))
