"""Compression and token-premium metrics: tokens per byte, character and word, per language and per tokenizer.

A token premium (Petrov et al. 2023; Arnett et al. 2025's corpus token count) compares how many tokens parallel
text needs: `premium(lang) = tokens(lang) / tokens(ref)` over the same aligned segments.

`compression` is the fast path (one batched encode, byte/char/word counts from C-level string methods);
`compression_reference` encodes text by text and counts by definition. Tests hold the two equal.
"""

import time

import numpy as np
import pandas as pd

from shared.tokenization.vocab import Tok

COLUMNS = ("texts", "tokens", "bytes", "chars", "words")


def _counts(tok: Tok, texts: list[str]) -> dict:
    n_tokens = tok.count(texts)
    # encoding the joined text once is much faster than one bytes object per text; separators add len(texts) - 1
    joined = "\n".join(texts)
    n_bytes = len(joined.encode("utf-8")) - max(len(texts) - 1, 0)
    n_chars = len(joined) - max(len(texts) - 1, 0)
    n_words = len(joined.split())
    return {"texts": len(texts), "tokens": int(n_tokens.sum()), "bytes": n_bytes, "chars": n_chars, "words": n_words}


def compression(tok: Tok, texts: list[str]) -> dict:
    """Token, byte, character and whitespace-word totals of `texts`, plus the ratios.

    Returns:
        dict: `texts`, `tokens`, `bytes`, `chars`, `words` (totals) and `tokens_per_byte`, `tokens_per_char`,
        `tokens_per_word`, `bytes_per_token`, `chars_per_token`.
    """
    c = _counts(tok, list(texts))
    return c | _ratios(c)


def compression_reference(tok: Tok, texts: list[str]) -> dict:
    """The same numbers as `compression`, one text at a time and by definition (slow; the tests' ground truth)."""
    c = dict.fromkeys(COLUMNS, 0)
    for t in texts:
        c["texts"] += 1
        c["tokens"] += len(tok.encode(t))
        c["bytes"] += len(t.encode("utf-8"))
        c["chars"] += len(t)
        c["words"] += len(t.split())
    return c | _ratios(c)


def _ratios(c: dict) -> dict:
    div = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"tokens_per_byte": div(c["tokens"], c["bytes"]), "tokens_per_char": div(c["tokens"], c["chars"]),
            "tokens_per_word": div(c["tokens"], c["words"]), "bytes_per_token": div(c["bytes"], c["tokens"]),
            "chars_per_token": div(c["chars"], c["tokens"])}  # fmt: skip


def premiums(toks: dict[str, Tok], texts_by_lang: dict[str, list[str]], ref: str = "en") -> pd.DataFrame:
    """Token premiums of every language under every tokenizer, on parallel text.

    Args:
        toks (dict[str, Tok]): tokenizers by label.
        texts_by_lang (dict[str, list[str]]): aligned segments: `texts_by_lang[l][k]` translates `texts_by_lang[ref][k]`.
        ref (str): the reference language (premium 1).

    Returns:
        pd.DataFrame: one row per (tokenizer, lang) with the `compression` columns and `premium` =
        tokens(lang) / tokens(ref) under the same tokenizer.
    """
    n = {len(v) for v in texts_by_lang.values()}
    if len(n) != 1:
        raise ValueError(f"parallel text must have the same number of segments in every language, got {sorted(n)}")
    rows = []
    for tname, tok in toks.items():
        for lang, texts in texts_by_lang.items():
            rows.append({"tokenizer": tname, "lang": lang, **compression(tok, texts)})
    df = pd.DataFrame(rows)
    ref_tokens = df[df.lang == ref].set_index("tokenizer").tokens
    df["premium"] = df.tokens / df.tokenizer.map(ref_tokens)
    return df


def throughput(tok: Tok, texts: list[str], repeats: int = 3) -> dict:
    """Bytes per second of `compression` and of the raw library encode on the same texts, best of `repeats`.

    The raw baseline is `tokenizers.Tokenizer.encode_batch_fast` (or tiktoken's `encode_ordinary_batch`) with nothing
    else; `ratio` = toolkit speed / raw speed (1 means no overhead).
    """
    texts = list(texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    if tok._kind == "tiktoken":
        raw = lambda: tok.backend.encode_ordinary_batch(texts)  # noqa: E731
    else:
        raw = lambda: tok.backend.encode_batch_fast(texts, add_special_tokens=False)  # noqa: E731

    def best(fn):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    raw_s, ours_s = best(raw), best(lambda: compression(tok, texts))
    return {"tokenizer": tok.name, "bytes": n_bytes, "raw_MBps": n_bytes / raw_s / 1e6,
            "toolkit_MBps": n_bytes / ours_s / 1e6, "ratio": raw_s / ours_s}  # fmt: skip


def gini(values) -> float:
    """Gini coefficient of non-negative values (0: all equal): a one-number spread of premiums across languages."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))
