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
# 3. Simply increasing the vocabulary size (the same for every language) does not reduce the premiums (abstract).
# 4. Similarity between tokenizer training and evaluation data does not impact the premiums (abstract).
# 5. Superword tokenizers, whose merges may cross whitespace, reduce the premiums (Sec. 6.2) and
# 6. improve compression overall (Sec. 6.2). Our "superword" tokenizers are byte-level BPE without any
#    pre-tokenization, trained in one stage: not SuperBPE (an analogue).
#
# **Replicated here:** the controlled design on a smaller scale: 12 languages (8 scripts) of software UI strings
# translated in all of them (gettext catalogs, ~8,000 strings, ~280 kB of English), one byte-level BPE per language and
# vocabulary size trained on 80% of the strings, corpus token counts (CTC) on the held-out 20%, with intervals from a
# bootstrap over the held-out strings (pooled over splits: one in the default run, five in `full`). Alongside, the premiums
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
VOCAB_GRID = [1000, 2000, 4000, 8000, 16000, 32000]  # vocabulary sizes of the monolingual tokenizers (BPE saturates below 32000)
REF_VOCAB = 2000  # the fixed vocabulary size of the premium and superword claims
VOCAB_LARGE = 8000  # the uniform larger vocabulary of `vocab-increase-no-reduction` (in VOCAB_GRID)
SIM_HOLDOUT = "libc"  # the gettext catalog held out of training for `similarity-no-effect` (dissimilar test set)
REAL = ["tiktoken:r50k_base", "tiktoken:cl100k_base", "tiktoken:o200k_base", "llama3", "qwen3", "gemma3"]  # released
BENCH = ["o200k_base", "llama3"]  # tokenizers of REAL whose throughput is measured
BENCH_LANGS = ["en", "ru", "ja"]  # languages of the table the throughput is measured on (all LANGS: the whole table)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.token_premiums_2025.claims import CLAIMS
from papers.token_premiums_2025.method import HeldOut, cv, parallel_table, similarity_split, string_counts
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
# `REF_VOCAB` (no pre-tokenization), and the token count of every held-out string. The per-language "optimal" size is
# the smallest grid size whose CTC reaches English's CTC at `REF_VOCAB`. For the similarity claim, a second set of
# `REF_VOCAB` tokenizers is trained without the `SIM_HOLDOUT` catalog and counts both the held-out strings of the
# training catalogs (similar) and the `SIM_HOLDOUT` strings (dissimilar).

# %%
held, sim = HeldOut(), HeldOut()
ctc_rows, opt_rows, saturated = [], [], []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    test_mask = rng.random(len(table)) < TEST_FRACTION
    train_texts = {lang: list(table[lang][~test_mask]) for lang in LANGS}
    test_texts = {lang: list(table[lang][test_mask]) for lang in LANGS}
    cols = {}
    for v in VOCAB_GRID:
        counts, reached = string_counts(train_texts, test_texts, v, "bytelevel")
        cols |= {f"w{v}:{lang}": c for lang, c in counts.items()}
        ctc_rows += [{"seed": seed, "lang": lang, "pretokenizer": "bytelevel", "vocab_size": v,
                      "vocab_reached": reached[lang], "ctc": int(c.sum())} for lang, c in counts.items()]  # fmt: skip
    counts, reached = string_counts(train_texts, test_texts, REF_VOCAB, "bytelevel_nosplit")
    cols |= {f"s:{lang}": c for lang, c in counts.items()}
    ctc_rows += [{"seed": seed, "lang": lang, "pretokenizer": "bytelevel_nosplit", "vocab_size": REF_VOCAB,
                  "vocab_reached": reached[lang], "ctc": int(c.sum())} for lang, c in counts.items()]  # fmt: skip
    # the per-language optimum, and the uniform control at the grid size nearest the optima's median
    target = cols[f"w{REF_VOCAB}:{LANGS[0]}"].sum()
    for lang in LANGS:
        ok = [v for v in VOCAB_GRID if cols[f"w{v}:{lang}"].sum() <= target]
        top = VOCAB_GRID[-1]
        sat = next(r["vocab_reached"] for r in ctc_rows if r["seed"] == seed and r["lang"] == lang
                   and r["pretokenizer"] == "bytelevel" and r["vocab_size"] == top) < top  # fmt: skip
        pick = ok[0] if ok else top
        cols[f"opt:{lang}"] = cols[f"w{pick}:{lang}"]
        opt_rows.append({"seed": seed, "lang": lang, "vocab_size": pick, "reaches_target": bool(ok),
                         "saturated": sat, "ctc": int(cols[f"opt:{lang}"].sum()), "target": int(target)})  # fmt: skip
    med = np.median([r["vocab_size"] for r in opt_rows if r["seed"] == seed])
    uniform = min(VOCAB_GRID, key=lambda v: (abs(np.log(v / med)), v))
    for lang in LANGS:
        cols[f"u:{lang}"] = cols[f"w{uniform}:{lang}"]
        opt_rows[-len(LANGS) + LANGS.index(lang)]["uniform_control"] = uniform
    held.add(seed, cols)
    # data similarity: the same tokenizers on similar (in-catalog) and dissimilar (held-out catalog) strings
    tr, t_sim, t_dis = similarity_split(list(table.index), SIM_HOLDOUT, TEST_FRACTION, np.random.default_rng(seed))
    sim_train = {lang: list(table[lang][tr]) for lang in LANGS}
    both = {lang: list(table[lang][t_sim]) + list(table[lang][t_dis]) for lang in LANGS}
    counts, _ = string_counts(sim_train, both, REF_VOCAB, "bytelevel")
    n_sim = int(t_sim.sum())
    nbytes = {lang: np.array([len(t.encode()) for t in both[lang]], dtype=float) for lang in LANGS}
    sim.add(seed, {f"in:{lang}": counts[lang][:n_sim] for lang in LANGS}
            | {f"inb:{lang}": nbytes[lang][:n_sim] for lang in LANGS})  # fmt: skip
    sim.add(seed, {f"out:{lang}": counts[lang][n_sim:] for lang in LANGS}
            | {f"outb:{lang}": nbytes[lang][n_sim:] for lang in LANGS})  # fmt: skip
ctc = pd.DataFrame(ctc_rows)
opt = pd.DataFrame(opt_rows)
ref = ctc[(ctc.vocab_size == REF_VOCAB)]
wide = ref.pivot_table(index="lang", columns="pretokenizer", values="ctc").loc[LANGS]
wide = wide.assign(premium=wide.bytelevel / wide.bytelevel[LANGS[0]],
                   superword_premium=wide.bytelevel_nosplit / wide.bytelevel_nosplit[LANGS[0]],
                   optimal_vocab=opt.groupby("lang").vocab_size.median())  # fmt: skip
print(f"{held.n} held-out strings over {len(SEEDS)} split(s); similarity test: {sim.n} strings")
wide.round(3)

# %% [markdown]
# Per-language optimum per split: the grid size picked, whether it reaches the target, whether BPE saturated (ran out
# of merges) below the grid's largest size, and the uniform size of the control.

# %%
opt

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
# Every claim is a ratio of corpus token counts, i.e. of sums over held-out strings. The interval is a seeded
# bootstrap that resamples whole held-out strings (pooled over the splits) and recomputes the statistic from the
# resampled sums (averaged over splits). The control of the optimal-vocabulary claim (every language at one uniform
# size near the optima's median) is measured on the same resamples as a paired difference.

# %%
W_REF, W_BIG = held.cols(f"w{REF_VOCAB}", LANGS), held.cols(f"w{VOCAB_LARGE}", LANGS)
S_REF, OPT, UNI = held.cols("s", LANGS), held.cols("opt", LANGS), held.cols("u", LANGS)
IN, OUT = sim.cols("in", LANGS), sim.cols("out", LANGS)
INB, OUTB = sim.cols("inb", LANGS), sim.cols("outb", LANGS)
statistics = {  # per-split totals (splits x columns) -> the claim's number, averaged over splits
    "premiums-persist": lambda t: (t[:, W_REF].max(1) / t[:, W_REF].min(1)).mean(),
    "optimal-vocab-reduces-premiums": lambda t: (cv(t[:, OPT], 1) / cv(t[:, W_REF], 1)).mean(),
    "vocab-increase-no-reduction": lambda t: (cv(t[:, W_BIG], 1) / cv(t[:, W_REF], 1)).mean(),
    "superword-reduces-premiums": lambda t: (cv(t[:, S_REF], 1) / cv(t[:, W_REF], 1)).mean(),
    "superword-compresses": lambda t: (t[:, S_REF].sum(1) / t[:, W_REF].sum(1)).mean(),
}
control_margin = lambda t: ((cv(t[:, UNI], 1) - cv(t[:, OPT], 1)) / cv(t[:, W_REF], 1)).mean()  # noqa: E731
units = list(range(held.n))
measurements = {cid: Measurement.bootstrap(units, lambda idx, f=f: f(held.totals(idx)), n_unit="held-out strings")
                for cid, f in statistics.items()}  # fmt: skip
measurements["similarity-no-effect"] = Measurement.bootstrap(
    list(range(sim.n)), lambda idx: (lambda t: (cv(t[:, OUT], 1) / cv(t[:, IN], 1)).mean())(sim.totals(idx)),
    n_unit="held-out strings")
controls = {"optimal-vocab-reduces-premiums": Measurement.bootstrap(
    units, lambda idx: control_margin(held.totals(idx)), n_unit="held-out strings")}
t_sim = sim.totals()
checks = {
    "grid-not-censoring": Measurement.exact((opt.reaches_target | opt.saturated).mean(), n=len(opt),
                                            n_unit="languages x splits"),
    "holdout-is-dissimilar": Measurement.exact(
        np.exp(np.log((t_sim[:, OUT] / t_sim[:, OUTB]) / (t_sim[:, IN] / t_sim[:, INB])).mean()),
        n=len(LANGS), n_unit="languages"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
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
# *Default run* (12 languages, one split, intervals from a bootstrap over 1,310 held-out strings): even with identical
# content and vocabulary size, the monolingual tokenizers need up to 1.42x [1.38, 1.45] more tokens for the same
# strings (German, French, Russian, Ukrainian most; Chinese fewest), short of the 1.5x our rule asked for a full
# "wide range" (*partially*). Choosing each language's vocabulary size on a grid that now runs past BPE's saturation
# (32,000) roughly halves the spread (CV ratio 0.55 [0.51, 0.58], *partially*), and it beats the trivial control, one
# uniform size near the optima's median, by 0.49 [0.46, 0.53]. The paper's two negative findings hold or nearly hold:
# raising every language's vocabulary from 2,000 to 8,000 does not reduce the spread, it widens it (CV ratio 1.17
# [1.12, 1.21], *reproduced*); counting a catalog the tokenizers never saw (libc, 11% more tokens per byte: the
# precondition) changes the spread by 1.17 [1.08, 1.27], inside the partial band but not wholly inside [0.8, 1.25]
# (*partially*). Superword tokenizers (one-stage byte-level BPE without pre-tokenization: not SuperBPE) compress every
# language a little (CTC ratio 0.950 [0.942, 0.957], *partially*: the interval straddles the 0.95 bar, which one split
# as an exact point could not show) and leave the spread unchanged (CV ratio 1.006 [0.981, 1.034]: *inconclusive* at
# the 1.0 bar, an effect this close to no effect would need far more strings to sign). Short, repetitive UI strings
# are a very different text type from the paper's web text, so the superword part is the weakest of the analogue.
#
# The released tokenizers show the familiar ordering on the same strings: GPT-2's r50k charges Russian, Ukrainian and
# Korean 4-4.5x English, cl100k up to 2.8x, o200k, Llama 3 and Gemma 3 1.1-1.8x (Qwen up to 2.4x, for Ukrainian).
