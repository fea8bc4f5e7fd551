import numpy as np

from shared.lm.bpe import SPECIAL, as_transformers, encode_stream, train_bpe

TEXTS = ["In the beginning God created the heaven and the earth."] * 5 + [
    "def created(x):\n    return x + 1\n",
    "Türkçe: gelemeyecekmişsiniz; 数学 and émigré.",
] * 5


def test_bpe_is_deterministic_and_round_trips():
    a, b = train_bpe(TEXTS, vocab_size=400), train_bpe(TEXTS, vocab_size=400)
    assert a.to_str() == b.to_str()
    for text in TEXTS + ["unseen ✓ text\twith tabs"]:
        assert a.decode(a.encode(text).ids) == text  # byte-level: any string survives


def test_special_token_ids_are_fixed():
    tok = as_transformers(train_bpe(TEXTS, vocab_size=400))
    assert [tok.convert_tokens_to_ids(t) for t in SPECIAL] == [0, 1, 2]
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)


def test_stream_separates_documents_with_eos():
    tok = train_bpe(TEXTS, vocab_size=400)
    ids = encode_stream(tok, ["the earth", "the heaven"], batch=1)
    assert ids.dtype == np.uint16 and (ids == 2).sum() == 2 and ids[-1] == 2
    first = tok.encode("the earth").ids
    assert ids[: len(first)].tolist() == first
