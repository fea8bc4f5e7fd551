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


def test_held_out_lexicons_are_disjoint_from_their_chunk():
    pool = [{"tokens": ["Kitapları", "okudum"], "lemmas": ["kitap", "oku"], "text": "Kitapları okudum"},
            {"tokens": ["Evde", "kaldım"], "lemmas": ["ev", "kal"], "text": "Evde kaldım"}]  # fmt: skip
    (v0, p0), (v1, _) = method.held_out_lexicons(pool, [["Kitapları okudum"], ["Evde kaldım"]])
    assert "okudum" not in v0 and "kitap" not in p0 and {"evde", "ev"} <= v0
    assert "evde" not in v1 and "okudum" in v1
    assert method.word_recall(pool[:1], v0) == 0.0  # the chunk's own words are not in its lexicon
