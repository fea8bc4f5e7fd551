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
- one algorithm (byte-level BPE) and a grid of vocabulary sizes (up to 32,000, past the size where BPE runs out of
  merges on ~5,000 training strings) instead of ~7,000 tokenizers over BPE, Unigram and dataset sizes; the
  "optimal" size is read off the grid, not solved from a fitted curve;
- "superword" tokenizers here are byte-level BPE with no pre-tokenization at all, trained in one stage: NOT SuperBPE
  (which first learns subwords, then lifts the whitespace constraint), so the superword claims are analogues;
- the regressions on language features (script, word length) are not run;
- data similarity (the paper regresses CTC on a similarity score between tokenizer training and evaluation data) is
  manipulated instead: the same tokenizers count held-out strings of their training catalogs and strings of a
  catalog they never saw (`similarity_split`).

Intervals: the claims' numbers are ratios of corpus token counts, i.e. of sums over held-out strings; `HeldOut`
keeps one row of per-string token counts per held-out string (the parallel unit: one message in every language) so
that a bootstrap resamples whole strings and recomputes every statistic from the resampled sums.
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


def string_counts(train_texts: dict[str, list[str]], test_texts: dict[str, list[str]], vocab_size: int,
                  pretokenizer: str) -> tuple[dict[str, np.ndarray], dict[str, int]]:  # fmt: skip
    """Per held-out string token counts of every language under its own tokenizer at one vocabulary size.

    Returns:
        tuple: `{lang: counts}` (one count per held-out string, in order) and `{lang: vocabulary size reached}` (below
        `vocab_size` when BPE ran out of pairs to merge: the tokenizer is saturated on its training data).
    """
    counts, reached = {}, {}
    for lang, texts in train_texts.items():
        tok = train(texts, vocab_size, pretokenizer=pretokenizer)
        counts[lang] = np.asarray(tok.count(test_texts[lang]), dtype=float)
        reached[lang] = tok.vocab_size
    return counts, reached


class HeldOut:
    """Per-string token counts of the held-out strings, pooled over splits: the units of the bootstrap.

    `add(split, columns)` appends one block of rows (one per held-out string of that split) with named columns
    (`{name: per-string counts}`); columns absent from a block count 0 there. `totals(idx)` sums the rows `idx` per
    split: an array of shape (splits, columns). A statistic of the claims maps those per-split totals to a number
    and averages it over the splits.
    """

    def __init__(self):
        self.blocks: list[tuple[int, dict[str, np.ndarray]]] = []
        self._m = None

    def add(self, split: int, columns: dict[str, np.ndarray]):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of one block differ in length: {sorted(lengths)}")
        self.blocks.append((split, {k: np.asarray(v, dtype=float) for k, v in columns.items()}))
        self._m = None

    def _build(self):
        names = sorted({k for _, cols in self.blocks for k in cols})
        self.col = {k: i for i, k in enumerate(names)}
        splits = sorted({s for s, _ in self.blocks})
        self.splits = splits
        rows, sid = [], []
        for s, cols in self.blocks:
            n = len(next(iter(cols.values())))
            block = np.zeros((n, len(names)))
            for k, v in cols.items():
                block[:, self.col[k]] = v
            rows.append(block)
            sid += [splits.index(s)] * n
        self._m, self._sid = np.vstack(rows), np.asarray(sid)
        self._onehot = (self._sid[None, :] == np.arange(len(splits))[:, None]).astype(float)

    @property
    def n(self) -> int:
        if self._m is None:
            self._build()
        return len(self._m)

    def totals(self, idx=None) -> np.ndarray:
        if self._m is None:
            self._build()
        if idx is None:
            w = np.ones(len(self._m))
        else:  # how often each row was drawn: a resample's sums are a weighted sum of the rows
            w = np.bincount(np.asarray(idx, dtype=int), minlength=len(self._m)).astype(float)
        return (self._onehot * w) @ self._m

    def cols(self, prefix: str, langs: list[str]) -> list[int]:
        """Column indices of `prefix:lang` for each language, in order."""
        if self._m is None:
            self._build()
        return [self.col[f"{prefix}:{lang}"] for lang in langs]


def similarity_split(ids, holdout: str, test_fraction: float, rng: np.random.Generator):
    """Masks for the data-similarity test: train on a random share of the strings of every catalog but `holdout`,
    count the rest of those catalogs (similar to the training data) and the strings of `holdout` (dissimilar).

    Returns:
        tuple: boolean masks `(train, test_similar, test_dissimilar)` over `ids` (`catalog:msgid`).
    """
    cat = np.array([i.split(":", 1)[0] for i in ids])
    if holdout not in set(cat):
        raise ValueError(f"no catalog {holdout!r} in the table")
    out = cat == holdout
    test = rng.random(len(ids)) < test_fraction
    return ~out & ~test, ~out & test, out


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


def cv(x, axis=None):
    """Coefficient of variation (std / mean, population std): the spread of CTCs across languages."""
    x = np.asarray(x, dtype=float)
    r = x.std(axis=axis) / x.mean(axis=axis)
    return float(r) if axis is None else r
