import pytest

from shared.data import DataMissing
from shared.kvcache import kjv_documents


class _CharTokenizer:
    def __call__(self, text, add_special_tokens=False):
        return type("Enc", (), {"input_ids": [ord(c) for c in text]})()


def test_kjv_documents_are_book_prefixes():
    try:
        docs = kjv_documents(_CharTokenizer(), ["Ge", "Mat"], 40)
    except DataMissing:
        pytest.skip("data/ not built")
    assert docs.shape == (2, 40)
    assert "".join(map(chr, docs[0].tolist())) == "In the beginning God created the heaven a"[:40]
    with pytest.raises(ValueError):
        kjv_documents(_CharTokenizer(), ["Obad"], 10**6)
