"""The project BPE tokenizer: byte-level BPE trained with HF `tokenizers` on the offline English and code corpora.

Special tokens come first, so their ids are fixed: `<pad>` = 0, `<bos>` = 1, `<eos>` = 2 (what `configs.make_config`
assumes). Byte-level means every string round-trips, whatever its script.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

SPECIAL = ["<pad>", "<bos>", "<eos>"]
# corpora of data/ the tiny LMs read: (file, text field); prose and Python code
CORPUS = [
    ("text/kjv/verses.jsonl", "text"),
    ("text/wordnet/glosses.jsonl", "text"),
    ("text/fortunes/fortunes.jsonl", "text"),
    ("code/cpython_stdlib/files.jsonl", "text"),
]


def corpus_texts(data_dir: Path, corpus=CORPUS) -> Iterator[str]:
    """Documents of the training corpora, in a fixed order (file order, then line order)."""
    import json

    for rel, field in corpus:
        with open(data_dir / rel, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)[field]
                if text:
                    yield text


def train_bpe(texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 2):
    """Train a byte-level BPE `tokenizers.Tokenizer` on `texts`; deterministic for a given input order."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)  # fmt: skip
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def as_transformers(tok):
    """Wrap a `tokenizers.Tokenizer` as a `PreTrainedTokenizerFast` with the project's special tokens."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>")


def encode_stream(tok, texts: Iterable[str], batch: int = 2048):
    """Token ids of all `texts`, each followed by `<eos>`, as one uint16 numpy array `[N]`."""
    import numpy as np

    eos = tok.token_to_id("<eos>")
    chunks, buf = [], []

    def flush():
        for enc in tok.encode_batch(buf):
            chunks.append(np.asarray(enc.ids + [eos], dtype=np.uint16))
        buf.clear()

    for text in texts:
        buf.append(text)
        if len(buf) == batch:
            flush()
    if buf:
        flush()
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint16)
