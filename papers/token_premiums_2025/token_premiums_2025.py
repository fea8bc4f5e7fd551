# %% [markdown]
# # Crosslingual token premiums (arXiv:2510.21909): they persist under controlled training; per-language vocabulary sizes and superword tokenizers shrink them
#
# Arnett, Chang, Biderman & Bergen, *Explaining and Mitigating Crosslingual Tokenizer Inequities* (NeurIPS 2025),
# catalog id 9.
#
# **Claims under test.**
# 1. Monolingual tokenizers trained on comparable data with the same vocabulary size still need very different
#    numbers of tokens for the same (parallel) content: token premiums persist (Sec. 4, Fig. 1).
# 2. A per-language "optimal" vocabulary size significantly reduces the premiums (Sec. 6.1).
# 3. Superword tokenizers, whose merges may cross whitespace, reduce the premiums (Sec. 6.2) and
# 4. improve compression overall (Sec. 6.2).
#
# **Replicated here:** the controlled design on a smaller scale: 12 languages (8 scripts) of software UI strings
# translated in all of them (gettext catalogs, ~8,000 strings, ~280 kB of English), one byte-level BPE per language and
# vocabulary size trained on 80% of the strings, corpus token counts (CTC) on the held-out 20%. Alongside, the premiums
# of released multilingual tokenizers on the same held-out strings, and the toolkit's throughput over the corpus.
# **Not replicated, and why:** the 97 languages, web-text training data and FLORES evaluation (not available offline),
# Unigram tokenizers and dataset-size sweeps (CPU budget), and the regressions on script and word length.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
LANGS = ["en", "de", "fr", "es", "ru", "uk", "tr", "pl", "ko", "ja", "zh-cn", "vi"]  # the reference language first
SEEDS = [0]  # random 80/20 splits of the parallel strings
TEST_FRACTION = 0.2  # held-out share of the strings
VOCAB_GRID = [1000, 2000, 4000, 8000]  # vocabulary sizes of the monolingual tokenizers
REF_VOCAB = 2000  # the fixed vocabulary size of claims 1, 3 and 4
REAL = ["tiktoken:r50k_base", "tiktoken:cl100k_base", "tiktoken:o200k_base", "llama3", "qwen3", "gemma3"]  # released
BENCH = ["o200k_base", "llama3"]  # tokenizers of REAL whose throughput is measured
BENCH_LANGS = ["en", "ru", "ja"]  # languages of the table the throughput is measured on (all LANGS: the whole table)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.token_premiums_2025.claims import CLAIMS
from papers.token_premiums_2025.method import corpus_token_counts, cv, optimal_vocab, parallel_table
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.tokenization import compression, load, premiums, throughput, train

run = start_run("token_premiums_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
table = parallel_table(LANGS)
n_bytes = sum(len(s.encode()) for s in table.en)
print(f"{len(table)} strings translated in all {len(LANGS)} languages; {n_bytes} bytes of English")
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Every string is present in every language; a byte-level BPE spells held-out text back exactly (so no character
# is dropped from the counts); the fast compression path agrees with the text-by-text reference.

# %% tags=["nbval-check-output"]
from shared.tokenization import compression_reference

assert table.notna().all().all() and (table.map(len) > 0).all().all()
tok = train(list(table.ja[:2000]), 1000)
held = list(table.ja[2000:2200])
assert all(tok.decode_bytes(tok.encode(t)) == t.encode() for t in held)
assert compression(tok, held) == compression_reference(tok, held)
print("parallel table complete; BPE round trip and compression reference: ok")

# %% [markdown]
# ## Experiment
# Per split: every language's tokenizers over the vocabulary grid (GPT-2 pre-tokenization), a superword tokenizer at
# `REF_VOCAB` (no pre-tokenization), and the CTC of the held-out strings.

# %%
ctc_rows, opt_rows = [], []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    test_mask = rng.random(len(table)) < TEST_FRACTION
    train_texts = {lang: list(table[lang][~test_mask]) for lang in LANGS}
    test_texts = {lang: list(table[lang][test_mask]) for lang in LANGS}
    words = corpus_token_counts(train_texts, test_texts, VOCAB_GRID, "bytelevel")
    superword = corpus_token_counts(train_texts, test_texts, [REF_VOCAB], "bytelevel_nosplit")
    ctc_rows.append(pd.concat([words, superword]).assign(seed=seed))
    target = words[(words.lang == LANGS[0]) & (words.vocab_size == REF_VOCAB)].ctc.item()
    opt_rows.append(optimal_vocab(words, target).assign(seed=seed, target=target))
ctc = pd.concat(ctc_rows, ignore_index=True)
opt = pd.concat(opt_rows, ignore_index=True)
ref = ctc[(ctc.vocab_size == REF_VOCAB)]
wide = ref.pivot_table(index="lang", columns="pretokenizer", values="ctc").loc[LANGS]
wide = wide.assign(premium=wide.bytelevel / wide.bytelevel[LANGS[0]],
                   superword_premium=wide.bytelevel_nosplit / wide.bytelevel_nosplit[LANGS[0]],
                   optimal_vocab=opt.groupby("lang").vocab_size.median())  # fmt: skip
wide.round(3)

# %% [markdown]
# Released tokenizers on the same held-out strings (last split): premium = tokens(language) / tokens(English).

# %%
real_toks = {name.split(":")[-1]: load(name) for name in REAL}
real = premiums(real_toks, test_texts, ref=LANGS[0])
real_premiums = real.pivot(index="lang", columns="tokenizer", values="premium")
real_premiums = real_premiums.loc[LANGS, [n.split(":")[-1] for n in REAL]]
real_premiums.round(2)

# %% [markdown]
# ## Paper vs ours

# %% [markdown]
# Every value is a deterministic count on the fixed parallel table and the seeded split (the tokenizers are trained
# deterministically), so the claims are `exact`: judged as points, the same on every machine. How much another split
# moves them is the stability check of the Discussion.

# %%
per_seed = []
for seed, grp in ctc[ctc.vocab_size == REF_VOCAB].groupby("seed"):
    w = grp[grp.pretokenizer == "bytelevel"].ctc
    s = grp[grp.pretokenizer == "bytelevel_nosplit"].ctc
    o = opt[opt.seed == seed].ctc
    per_seed.append({"spread": w.max() / w.min(), "optimal": cv(o) / cv(w), "superword_cv": cv(s) / cv(w),
                     "superword_ctc": s.mean() / w.mean()})  # fmt: skip
per_seed = pd.DataFrame(per_seed)
measurements = {  # mean over the splits (one in the default run)
    "premiums-persist": Measurement.exact(per_seed.spread.mean(), n=len(SEEDS), n_unit="splits"),
    "optimal-vocab-reduces-premiums": Measurement.exact(per_seed.optimal.mean(), n=len(SEEDS), n_unit="splits"),
    "superword-reduces-premiums": Measurement.exact(per_seed.superword_cv.mean(), n=len(SEEDS), n_unit="splits"),
    "superword-compresses": Measurement.exact(per_seed.superword_ctc.mean(), n=len(SEEDS), n_unit="splits"),
}
claim_results = evaluate_claims(CLAIMS, measurements)
verdict_table(claim_results)

# %% [markdown]
# Throughput of the toolkit's `compression` over the parallel table (`BENCH_LANGS`), as a ratio to the raw batched
# encode of the same library in the same run (1.0: no overhead). Timings vary from run to run, so this cell's output
# is not compared by CI; `python -m shared.tokenization.bench` measures the whole gettext corpus.

# %%
corpus = [s for lang in BENCH_LANGS for s in table[lang]]
bench = pd.DataFrame([throughput(real_toks[n], corpus) for n in BENCH])
bench.round(2)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
ax = axes[0]
for lang, grp in ctc[ctc.pretokenizer == "bytelevel"].groupby("lang"):
    m = grp.groupby("vocab_size").ctc.mean()
    ax.plot(m.index, m.values, "o-", label=lang)
ax.set(xscale="log", xlabel="vocabulary size", ylabel="held-out CTC (tokens)", title="Monolingual BPE: CTC vs vocab")
ax.legend(fontsize=7, ncol=2)
ax = axes[1]
x = np.arange(len(LANGS))
ax.bar(x - 0.2, wide.bytelevel, 0.4, label=f"pre-tokenized, {REF_VOCAB}")
ax.bar(x + 0.2, wide.bytelevel_nosplit, 0.4, label=f"superword, {REF_VOCAB}")
ax.set_xticks(x, LANGS, rotation=45)
ax.set(ylabel="held-out CTC", title="Superword tokenizers")
ax.legend(fontsize=8)
ax = axes[2]
real_premiums.plot.bar(ax=ax, width=0.8)
ax.axhline(1, color="k", lw=0.8)
ax.set(ylabel="premium vs English", xlabel="", title="Released tokenizers")
ax.legend(fontsize=7)
fig.tight_layout()
run.save_figure(fig, "token_premiums")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (12 languages, one split): even with identical content and vocabulary size, the monolingual
# tokenizers need up to ~1.4x more tokens for the same strings (German, French, Russian, Ukrainian most; Chinese
# fewest), short of the 1.5x our rule asked for a full "wide range". Choosing each language's vocabulary size to reach
# English's CTC roughly halves the spread (CV ratio ~0.58), a partial reproduction: the grid is coarse (1k-8k) and
# several languages need the largest size. Superword tokenizers compress every language a little (about 5% fewer
# tokens, at the bar) but do not reduce the spread here: the languages that gain most (French, Spanish) are not the
# ones with the largest premiums, and Turkish and Polish gain nothing. Short, repetitive UI strings are a very
# different text type from the paper's web text, so this is the weakest part of the analogue.
#
# *Stability.* These are exact counts for one split. Another split (seed 1) gives the same verdicts for the first three
# claims (spread 1.409, CV ratios 0.576 and 1.012), but superword compression 0.956 instead of 0.9495: 0.05% on the
# right side of the 0.95 bar in the default run, 0.7% on the wrong side with the other split. That verdict is a draw
# of the data, not a robust finding; only "superword tokenizers compress a little" (both splits below 1) is.
#
# The released tokenizers show the familiar ordering on the same strings: GPT-2's r50k charges Russian, Ukrainian and
# Korean 4-4.5x English, cl100k up to 2.8x, o200k, Llama 3 and Gemma 3 1.1-1.8x (Qwen up to 2.4x, for Ukrainian).
