"""Tokenizer loading, training and compression metrics: round trips, agreement between libraries, known counts."""

import pytest

from shared.data import DataMissing
from shared.tokenization import compression, compression_reference, gini, premiums, train
from shared.tokenization.vocab import bytelevel_to_bytes, bytes_to_bytelevel, bytes_to_unicode, load

TEXTS = ["The cat sat on the mat.", "Le chat s'est assis sur le tapis.", "Кошка сидела на коврике.",
         "猫がマットの上に座った。", "बिल्ली चटाई पर बैठी।", "def f(x):\n    return x ** 2\n", "  spaces  and\ttabs \n"]  # fmt: skip


def real(name):
    try:
        return load(name)
    except DataMissing:
        pytest.skip(f"data/tokenizers for {name} not built")


def test_bytelevel_alphabet_is_a_bijection_of_printable_characters():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("a")] == "a"
    every = bytes(range(256))
    assert bytelevel_to_bytes(bytes_to_bytelevel(every)) == every


@pytest.mark.parametrize("pre", ["bytelevel", "bytelevel_nosplit", "whitespace", "none"])
def test_trained_bpe_round_trips_bytes(pre):
    tok = train(TEXTS * 3, vocab_size=300 if pre.startswith("bytelevel") else 120, pretokenizer=pre,
                alphabet=sorted(set("".join(TEXTS))))  # fmt: skip
    for t in TEXTS:
        assert tok.decode_bytes(tok.encode(t)) == t.encode(), (pre, t)
        assert b"".join(tok.pretokenize(t)) == t.encode()


@pytest.mark.parametrize("split,nosplit,extra", [("whitespace", "none", 0), ("bytelevel", "bytelevel_nosplit", 256)])
def test_superword_tokens_cross_spaces_only_without_pretokenization(split, nosplit, extra):
    texts = ["of the people by the people for the people"] * 20
    words = train(texts, 60 + extra, pretokenizer=split)
    superword = train(texts, 60 + extra, pretokenizer=nosplit)
    assert not any(b" " in b[1:] for b in words.token_bytes), "a pre-tokenized token contains an inner space"
    assert any(b" " in b.strip() for b in superword.token_bytes)
    assert len(superword.encode(texts[0])) < len(words.encode(texts[0]))


@pytest.mark.parametrize("algorithm", ["unigram", "wordpiece"])
def test_other_algorithms_train_and_cover_the_text(algorithm):
    tok = train(TEXTS * 3, 80, algorithm=algorithm, pretokenizer="whitespace", alphabet=sorted(set("".join(TEXTS))))
    for t in TEXTS[:5]:
        assert tok.decode_bytes(tok.encode(t)) == t.encode()


def test_compression_fast_path_equals_reference():
    tok = train(TEXTS * 3, 280)
    texts = TEXTS + ["", "a\nb"]
    assert compression(tok, texts) == compression_reference(tok, texts)


def test_character_tokenizer_counts_characters_and_premiums_are_relative_to_the_reference():
    tok = train(["abc de"], 10, pretokenizer="chars", alphabet=list("abcdefgh "))
    c = compression(tok, ["abc", "de f"])
    assert (c["tokens"], c["chars"], c["bytes"], c["words"]) == (7, 7, 7, 3) and c["tokens_per_char"] == 1
    df = premiums({"chars": tok}, {"en": ["ab", "c"], "xx": ["abcd", "efgh"]}, ref="en")
    assert df.set_index("lang").premium.to_dict() == {"en": 1.0, "xx": 8 / 3}
    with pytest.raises(ValueError):
        premiums({"chars": tok}, {"en": ["a"], "xx": ["a", "b"]})


def test_gini_known_values():
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)


def test_hf_and_tiktoken_copies_of_the_same_vocabulary_agree():
    pairs = [("gpt2", "tiktoken:r50k_base"), ("gpt35turbo", "tiktoken:cl100k_base"), ("gpt4o", "tiktoken:o200k_base")]
    for hf, tk in pairs:
        a, b = real(hf), real(tk)
        for t in TEXTS:
            assert a.encode(t) == b.encode(t), (hf, t)
            assert a.decode_bytes(a.encode(t)) == t.encode()
        assert a.pretokenize(TEXTS[0]) == b.pretokenize(TEXTS[0])


@pytest.mark.parametrize("name", ["llama2", "gemma3", "claude", "tiktoken:whisper"])
def test_real_tokenizers_spell_their_text(name):
    tok = real(name)
    for t in TEXTS[:5]:
        got = tok.decode_bytes(tok.encode(t))
        # SentencePiece-style llama2 prepends a space (its normaliser); claude applies NFKC (identity on these)
        assert got in (t.encode(), b" " + t.encode()), (name, t, got)
