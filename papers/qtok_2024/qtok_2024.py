# %% [markdown]
# # Qtok (arXiv:2410.12989): token categories and scripts of real vocabularies, and their uneven cost across languages
#
# Chelombitko, Safronov & Komissarov, *Qtok: A Comprehensive Framework for Evaluating Multilingual Tokenizer Quality
# in Large Language Models* (2024), catalog id 17, a benchmark paper.
#
# **Claims under test.**
# 1. Table 1: the share of each vocabulary in Qtok's token categories (control tokens, byte tokens, single
#    characters, word-initial and word-internal alphabetic tokens, other, incomplete UTF-8 "flanks", errors) for the
#    four of the paper's 13 representative tokenizers whose vocabularies we hold (Mistral-7B, Llama-3, Qwen, Gemma).
# 2. Table 2: the same vocabularies' distribution over scripts (Latin, Cyrillic, CJK, ...).
# 3. The abstract's finding, on text: tokenizers distribute tokens very unevenly across languages (the same gettext
#    strings cost very different numbers of tokens per language), beyond what a character tokenizer shows.
#
# **Replicated here:** Qtok's classification (re-implemented in `shared.tokenization.quality` from the paper's code)
# on every real tokenizer we hold, the exact recount of the two tables' rows for the four shared vocabularies, and the
# corpus-level metrics (language coverage, token completeness, category mix of the tokens actually used) over the
# gettext parallel languages. **Not replicated, and why:** the 58 Chatbot-Arena tokenizers (only these vocabularies
# are offline), the Latin/Cyrillic language tables 3-4 (they need the authors' token-to-language word lists), the
# vocabulary-overlap clustering figures.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # the bootstrap seed is fixed inside Measurement; nothing here is random
TOKENIZERS = ["llama2", "llama3", "qwen3", "gemini", "gemma3", "gpt2", "tiktoken:cl100k_base", "tiktoken:o200k_base",
              "deepseek_v3", "claude", "gptoss", "tiktoken:whisper"]  # fmt: skip
ZOO = ["smollm2-135m-instruct"]  # zoo models whose own tokenizer is measured too
LANGS = ["en", "de", "fr", "es", "it", "pt", "nl", "sv", "pl", "cs", "ru", "uk", "bg", "el", "tr", "hu", "fi", "et",
         "ro", "ar", "he", "fa", "hi", "bn", "ta", "th", "ko", "ja", "zh-cn", "vi", "ka", "hy"]  # fmt: skip
BENCH_WHOLE = False  # benchmark over the whole gettext corpus (every string of every language) instead of LANGS' table
BENCH = ["llama3", "tiktoken:o200k_base"]  # tokenizers whose metric throughput is measured

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.qtok_2024 import method
from papers.qtok_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.tokenization import from_hf, gini, load
from shared.tokenization.quality import (
    CATEGORIES,
    category_shares,
    script_shares,
    usage_counts,
    usage_counts_reference,
    vocab_categories,
)

run = start_run("qtok_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Tokenizers and parallel text


# %%
def zoo_tok(name):
    from shared.models import cache_dir, fast_tokenizer

    return from_hf(name, fast_tokenizer(cache_dir(name)))


toks = {n: load(n) for n in TOKENIZERS} | {f"zoo:{n}": zoo_tok(n) for n in ZOO}
table = method.parallel_table(LANGS)
print(f"{len(toks)} tokenizers; {len(table)} gettext strings translated in all {len(LANGS)} languages")

# %% [markdown]
# ## Sanity checks
# The fast usage counts equal the text-by-text reference; every vocabulary entry gets exactly one category; every
# tokenizer spells the parallel strings back after its own normaliser (so no character is dropped from the counts).


# %% tags=["nbval-check-output"]
def spelled(tok, text):
    """The token bytes spell `text` back, up to the tokenizer's own normaliser (NFKC in the legacy Claude file,
    spaces written as "▁" in SentencePiece-style files) and a prepended space."""
    norm = getattr(tok.backend, "normalizer", None)
    cands = {text}
    if norm is not None:
        n = norm.normalize_str(text)
        cands |= {n, n.replace("▁", " ")}
    d = tok.decode_bytes(tok.encode(text))
    return any(d in (c.encode(), b" " + c.encode()) for c in cands)


sample = [s for lang in LANGS for s in table[lang][:20]]
for name, tok in toks.items():
    assert np.array_equal(usage_counts(tok, sample), usage_counts_reference(tok, sample)), name
    assert np.mean([spelled(tok, t) for t in sample]) >= 0.99, name
cats = {}
for name, tok in toks.items():
    c, s = vocab_categories(tok)
    assert len(c) == len(tok.token_bytes) and set(c) <= set(CATEGORIES)
    cats[name] = (c, s)
print("usage counts vs reference, round trips, one category per entry: ok")

# %% [markdown]
# ## Vocabulary metrics (Tables 1 and 2)
# Percent of each vocabulary in each category, and in each script; the paper's rows beside ours for the four shared
# vocabularies.

# %%
t1 = pd.DataFrame({n: category_shares(c) for n, (c, _) in cats.items()}).T
t2 = pd.DataFrame({n: script_shares(c, s) for n, (c, s) in cats.items()}).T.fillna(0.0)
t2 = t2.reindex(columns=method.TABLE2_COLS, fill_value=0.0)
t1.round(2)

# %%
side = []
for ours, row in method.PAPER_ROWS.items():
    side.append(pd.Series(t1.loc[ours].values, index=CATEGORIES, name=f"{ours} (ours)"))
    side.append(pd.Series(method.TABLE1[row], index=CATEGORIES, name=f"{row} (paper)"))
pd.DataFrame(side).round(2)

# %%
side = []
for ours, row in method.PAPER_ROWS.items():
    side.append(pd.Series(t2.loc[ours].values, index=method.TABLE2_COLS, name=f"{ours} (ours)"))
    side.append(pd.Series(method.TABLE2[row], index=method.TABLE2_COLS, name=f"{row} (paper)"))
pd.DataFrame(side).round(2)

# %% [markdown]
# ## Corpus metrics over the parallel languages
# Per tokenizer and language: the token premium over English on the same strings (tokens / English tokens), token
# completeness (share of the running tokens that are whole characters: not an incomplete UTF-8 piece or a single
# byte standing for part of a character) and the category mix of the tokens actually used. "Covered" languages: a
# premium of at most 1.5.

# %%
rows = []
chars_en = sum(len(t) for t in table["en"])
# incomplete pieces: Qtok's "unicode flanks" and single bytes >= 0x80 (a part of a multi-byte character)
partial = {name: np.isin(cats[name][0], ["unicode_flanks"]) | np.array([len(b) == 1 and b[0] >= 0x80
                                                                         for b in tok.token_bytes])
           for name, tok in toks.items()}  # fmt: skip
for lang in LANGS:
    texts = list(table[lang])
    n_chars = sum(len(t) for t in texts)
    rows.append({"tokenizer": "character", "lang": lang, "tokens": n_chars, "premium": n_chars / chars_en,
                 "complete": 100.0, "spaced_alpha": np.nan, "inner_alpha": np.nan})  # fmt: skip
    for name, tok in toks.items():
        u = usage_counts(tok, texts)
        sh = category_shares(cats[name][0], u)
        rows.append({"tokenizer": name, "lang": lang, "tokens": int(u.sum()), "premium": np.nan,
                     "complete": 100 * (1 - u[partial[name]].sum() / u.sum()), "spaced_alpha": sh["spaced_alpha"],
                     "inner_alpha": sh["inner_alpha"]})  # fmt: skip
corpus = pd.DataFrame(rows)
en_tokens = corpus[corpus.lang == "en"].set_index("tokenizer").tokens
corpus["premium"] = corpus.tokens / corpus.tokenizer.map(en_tokens)
premium = corpus.pivot(index="lang", columns="tokenizer", values="premium").loc[LANGS]
completeness = corpus.pivot(index="lang", columns="tokenizer", values="complete").loc[LANGS]
summary = pd.DataFrame({
    "Gini of premiums": premium.apply(gini),
    "max premium": premium.max(),
    "covered languages (premium <= 1.5)": (premium <= 1.5).sum(),
    "min completeness %": completeness.min(),
}).sort_values("Gini of premiums")  # fmt: skip
summary.round(3)

# %%
premium.round(2)

# %%
completeness.round(1)

# %% [markdown]
# ## Paper vs ours
# Tables 1-2: exact recounts, judged on the largest deviation; the control compares each cell with the paper's other
# rows (mean over cells, bootstrap over cells). Languages: the Gini of the premiums of every real tokenizer, averaged
# over tokenizers, on bootstrap resamples of the languages; the control is the character tokenizer's Gini on the same
# resamples.

# %%
e1 = method.table_errors({n: t1.loc[n].values for n in method.PAPER_ROWS}, method.TABLE1)
e2 = method.table_errors({n: t2.loc[n].values for n in method.PAPER_ROWS}, method.TABLE2)
real = [c for c in premium.columns if c != "character"]
P = premium[real].to_numpy()
C = premium["character"].to_numpy()
lang_units = list(range(len(LANGS)))


def mean_gini(idx):
    return float(np.mean([gini(P[idx, j]) for j in range(P.shape[1])]))


measurements = {
    "category-table": Measurement.exact(e1.error.max(), n=len(e1), n_unit="table cells"),
    "script-table": Measurement.exact(e2.error.max(), n=len(e2), n_unit="table cells"),
    "languages-vary": Measurement.bootstrap(lang_units, mean_gini, n_unit="languages", unit="Gini"),
}
controls = {
    "category-table": Measurement.mean(e1.mismatched_error - e1.error, n_unit="table cells"),
    "script-table": Measurement.mean(e2.mismatched_error - e2.error, n_unit="table cells"),
    "languages-vary": Measurement.bootstrap(lang_units, lambda idx: mean_gini(idx) - gini(C[idx]),
                                            n_unit="languages"),
}  # fmt: skip
print("largest cell errors:")
print(e1.sort_values("error").tail(3).assign(col=lambda d: [CATEGORIES[j] for j in d.col]).round(3).to_string())
print(e2.sort_values("error").tail(3).assign(col=lambda d: [method.TABLE2_COLS[j] for j in d.col]).round(3).to_string())
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls)
verdict_table(claim_results)

# %% [markdown]
# ### Performance: metrics over the parallel corpus vs the raw encode
# The corpus metrics need the ids (usage counts); the raw baseline is the library's batched encode with nothing
# else, in the same run, best of 3, over the parallel table (`BENCH_WHOLE`: every string of every language of the
# whole gettext corpus). Ratio = raw time / metric time (target >= 0.8). Timings depend on the machine: not compared
# by CI, no verdict.

# %%
import time

from shared.tokenization.bench import corpus_texts


def best(fn, k=3):
    out = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


bench_texts = corpus_texts() if BENCH_WHOLE else [s for lang in LANGS for s in table[lang]]
n_bytes = sum(len(t.encode()) for t in bench_texts)
bench = []
for name in BENCH:
    tok = toks[name]
    if tok._kind == "tiktoken":
        raw = lambda t=tok: t.backend.encode_ordinary_batch(bench_texts)  # noqa: E731
    else:
        raw = lambda t=tok: t.backend.encode_batch_fast(bench_texts, add_special_tokens=False)  # noqa: E731
    raw_s, ours_s = best(raw), best(lambda t=tok: usage_counts(t, bench_texts))
    bench.append({"tokenizer": name, "MB": n_bytes / 1e6, "raw_MBps": n_bytes / raw_s / 1e6,
                  "metric_MBps": n_bytes / ours_s / 1e6, "ratio": raw_s / ours_s})  # fmt: skip
pd.DataFrame(bench).round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(15, 4.5))
ax = axes[0]
x = np.arange(len(CATEGORIES))
for k, (ours, row) in enumerate(method.PAPER_ROWS.items()):
    ax.plot(x, t1.loc[ours].values, "o", color=f"C{k}", label=f"{ours} (ours)")
    ax.plot(x, method.TABLE1[row], "x", color=f"C{k}", ms=10, label=f"{row} (paper)")
ax.set_xticks(x, CATEGORIES, rotation=60, fontsize=7)
ax.set(yscale="symlog", ylabel="% of vocabulary", title="Table 1: token categories, ours (o) vs paper (x)")
ax.legend(fontsize=6, ncol=2)
ax = axes[1]
order = summary.index.tolist()
premium[order].drop(index="en").plot.box(ax=ax, rot=70, fontsize=7)
ax.axhline(1, color="k", lw=0.6)
ax.set(ylabel="premium vs English (log)", yscale="log", title="Token premiums across gettext languages")
fig.tight_layout()
run.save_figure(fig, "qtok")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# See the README's discussion (written from the fresh default and full runs).
