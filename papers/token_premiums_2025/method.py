"""Arnett, Chang, Biderman & Bergen, *Explaining and Mitigating Crosslingual Tokenizer Inequities* (arXiv:2510.21909):
token premiums of comparable monolingual tokenizers, and two interventions (per-language vocabulary size, superword
tokenizers).

Training, compression and premiums come from `shared.tokenization`; this module holds the controlled design:
- `parallel_table`: the gettext UI strings translated in *every* chosen language, so each language's tokenizer is
  trained on the same content (the paper controls content with parallel data too);
- `corpus_token_counts`: train one monolingual tokenizer per (language, vocabulary size, pre-tokenizer) on the
  training strings and count the tokens of the held-out strings (the paper's corpus token count, CTC);
- `optimal_vocab`: per language, the smallest vocabulary in the grid whose CTC reaches a target (the paper fits a
  curve per language and solves for the target; we read it off the grid).

Deviations from the paper, on purpose:
- data: software UI strings (gettext catalogs of GTK, GLib, coreutils, glibc, iso-codes) in 12 languages (16 in
  `full`), ~280 kB per language, instead of 97 languages of web text with FLORES for evaluation;
- one algorithm (byte-level BPE) and a small grid of vocabulary sizes instead of ~7,000 tokenizers over BPE,
  Unigram and dataset sizes; superword tokenizers are byte-level BPE with no pre-tokenization at all (SuperBPE
  first learns subwords, then lifts the whitespace constraint);
- the regressions on language features (script, word length) are not run.
"""

import numpy as np
import pandas as pd

from shared.tokenization import compression, train


def parallel_table(langs: list[str]) -> pd.DataFrame:
    """Strings translated in every language of `langs` (the first is the reference): one row per msgid."""
    from shared.data import load_parallel

    if "id" in langs:
        # Indonesian's code is also the name of load_parallel's key column, which then holds the ids, not the text
        raise ValueError("language 'id' (Indonesian) collides with load_parallel's 'id' column")
    ref, others = langs[0], langs[1:]
    table = None
    for lang in others:
        ds = load_parallel(ref, lang, corpus="gettext").to_pandas().set_index("id")
        table = ds if table is None else table.join(ds[[lang]], how="inner")
    return table[langs].drop_duplicates(subset=[ref]).sort_index()


def corpus_token_counts(train_texts: dict[str, list[str]], test_texts: dict[str, list[str]], vocab_sizes: list[int],
                        pretokenizer: str) -> pd.DataFrame:  # fmt: skip
    """CTC of every language under its own monolingual tokenizer, for each vocabulary size.

    Returns:
        pd.DataFrame: columns `lang`, `vocab_size`, `pretokenizer`, `ctc` (tokens of the held-out strings), `bytes`.
    """
    rows = []
    for lang, texts in train_texts.items():
        for v in vocab_sizes:
            tok = train(texts, v, pretokenizer=pretokenizer)
            c = compression(tok, test_texts[lang])
            rows.append({"lang": lang, "vocab_size": v, "pretokenizer": pretokenizer, "ctc": c["tokens"],
                         "bytes": c["bytes"]})  # fmt: skip
    return pd.DataFrame(rows)


def optimal_vocab(ctc: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per language, the smallest vocabulary size whose CTC is at most `target` (the largest if none is).

    Args:
        ctc (pd.DataFrame): `corpus_token_counts` output for one pre-tokenizer.
    """
    rows = []
    for lang, grp in ctc.sort_values("vocab_size").groupby("lang", sort=False):
        ok = grp[grp.ctc <= target]
        pick = ok.iloc[0] if len(ok) else grp.iloc[-1]
        rows.append({"lang": lang, "vocab_size": int(pick.vocab_size), "ctc": int(pick.ctc)})
    return pd.DataFrame(rows)


def cv(x) -> float:
    """Coefficient of variation (std / mean, population std): the spread of CTCs across languages."""
    x = np.asarray(x, dtype=float)
    return float(x.std() / x.mean())
