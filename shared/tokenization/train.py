"""Train BPE, Unigram and WordPiece tokenizers with Hugging Face `tokenizers`, with the pre-tokenizer as a choice.

Pre-tokenizers (what a merge may never cross):
- `bytelevel`: GPT-2's regex split and byte alphabet (every byte string encodes; the default for BPE);
- `bytelevel_nosplit`: the byte alphabet without any split, so merges may span spaces and punctuation ("superword"
  tokens over bytes, as in SuperBPE's unconstrained stage);
- `whitespace`: split on whitespace, keeping each space attached to the following word (SentencePiece's `▁` convention,
  so that token counts include spaces and text round-trips);
- `none`: no split at all, so merges may span spaces ("superword" tokens);
- `chars`: every character its own piece (only useful for the character-level baselines).
"""

from collections.abc import Iterable

from shared.tokenization.vocab import Tok

PRETOKENIZERS = ("bytelevel", "bytelevel_nosplit", "whitespace", "none", "chars")
ALGORITHMS = ("bpe", "unigram", "wordpiece")


def _pre_tokenizer(kind: str):
    from tokenizers import Regex, pre_tokenizers

    if kind in ("bytelevel", "bytelevel_nosplit"):
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=kind == "bytelevel")
    if kind == "whitespace":
        return pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=True)
    if kind == "none":
        return pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False)
    if kind == "chars":
        return pre_tokenizers.Split(Regex("."), behavior="isolated")
    raise ValueError(f"pre-tokenizer must be one of {PRETOKENIZERS}, got {kind!r}")


def train(texts: Iterable[str], vocab_size: int, algorithm: str = "bpe", pretokenizer: str = "bytelevel",
          alphabet: Iterable[str] | None = None, name: str | None = None, min_frequency: int = 0) -> Tok:  # fmt: skip
    """Train a tokenizer on `texts`.

    Args:
        texts (Iterable[str]): training documents.
        vocab_size (int): target vocabulary size, including the base alphabet (and `[UNK]` for Unigram/WordPiece).
        algorithm (str): `bpe`, `unigram` or `wordpiece`.
        pretokenizer (str): one of `PRETOKENIZERS` (see the module docstring). `bytelevel` is BPE only.
        alphabet (Iterable[str], Optional): characters always in the vocabulary (byte-level BPE has all 256 bytes).
        name (str, Optional): label of the returned `Tok`.
        min_frequency (int): pairs seen fewer times are never merged (BPE, WordPiece).

    Returns:
        Tok: the trained tokenizer; for BPE its merges are in `json.loads(tok.backend.to_str())["model"]["merges"]`.
    """
    from tokenizers import Tokenizer, decoders, models, trainers

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    bytelevel = pretokenizer.startswith("bytelevel")
    if bytelevel and algorithm != "bpe":
        raise ValueError("the byte-level pre-tokenizers are for BPE only")
    texts = list(texts)
    alphabet = sorted(set(alphabet or []))
    if algorithm == "bpe":
        tok = Tokenizer(models.BPE())
        initial = alphabet
        if bytelevel:
            from tokenizers import pre_tokenizers

            initial = sorted(set(pre_tokenizers.ByteLevel.alphabet()) | set(alphabet))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=initial, min_frequency=min_frequency,
                                      show_progress=False)  # fmt: skip
    elif algorithm == "unigram":
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, unk_token="[UNK]",
                                          special_tokens=["[UNK]"], show_progress=False)  # fmt: skip
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, min_frequency=min_frequency,
                                            special_tokens=["[UNK]"], show_progress=False)  # fmt: skip
    tok.pre_tokenizer = _pre_tokenizer(pretokenizer)
    if bytelevel:
        tok.decoder = decoders.ByteLevel()
    elif pretokenizer in ("whitespace", "none"):
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="never")
    tok.train_from_iterator(texts, trainer=trainer)
    return Tok(name or f"{algorithm}-{pretokenizer}-{vocab_size}", tok)
