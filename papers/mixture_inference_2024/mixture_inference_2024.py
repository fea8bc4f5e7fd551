# %% [markdown]
# # Data mixture inference (arXiv:2407.16607): a BPE merge list reveals the mixture its tokenizer was trained on
#
# Hayase, Liu, Choi, Oh & Smith, *Data Mixture Inference: What do BPE Tokenizers Reveal about their Training Data?*
# (NeurIPS 2024), catalog id 89.
#
# **Claims under test.**
# 1. For tokenizers trained on *known* mixtures, a linear program over the ordered merge list and per-category
#    samples recovers the mixture with high precision (Sec. 4, Tab. 1: 10^2 to 10^6 times lower MSE than random).
# 2. Applied to released tokenizers (Sec. 5): GPT-4o's o200k is much more multilingual than GPT-3.5's cl100k (39%
#    non-English); cl100k is predominantly code (~60%); GPT-2's is mostly English.
#
# **Replicated here:** the attack as the paper defines it (pair counts after replaying the first T merges, one slack
# per merge and per pair, minimum total slack), on 10 categories: LibreOffice help text in 9 languages (en, de, es,
# fr, hi, ja, ru, tr, zh-cn) and Python code (CPython standard library). Controlled: byte-level BPE tokenizers
# trained on random Dirichlet mixtures, attacked with held-out samples; the unit is one planted mixture (default: 12
# mixtures of 300 kB, 300 merges, 40 kB samples; `full`: 30 mixtures of 500 kB, 1,000 merges, 100 kB samples).
# Real: the tiktoken rank files of GPT-2 (r50k), GPT-3.5 (cl100k) and GPT-4o (o200k), with their own pre-tokenizers.
# **Not replicated, and why:** the paper's 112 languages, 37 programming languages and web-domain categories and its
# 30,000-merge lists (our data and CPU budget); Llama 3's extension of cl100k,
# whose analysis needs the first 100k merges replayed; Claude, Gemma and Mistral. With only 10 categories, "non-English"
# means these 8 languages and "code" means Python, so the real-tokenizer shares are analogues of the paper's numbers.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]  # planted mixtures (the unit): a new mixture, tokenizer and samples each
MERGES = 300  # merges of the controlled tokenizers used by the attack
MERGES_REAL = 300  # merges of the real tokenizers used by the attack
MIX_BYTES = 300000  # bytes of tokenizer training text per controlled mixture
SAMPLE_BYTES = 40000  # bytes of held-out sample per category for the attack
TOP_K = 3  # candidate pairs per category and merge in the LP
RANDOM_GUESSES = 10000  # Dirichlet draws for the random-guess baseline
REAL = ["tiktoken:r50k_base", "tiktoken:cl100k_base", "tiktoken:o200k_base"]  # released tokenizers to attack

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.mixture_inference_2024.claims import CLAIMS
from papers.mixture_inference_2024.method import (
    category_texts,
    pair_statistics,
    solve_mixture,
    split_docs,
    take_bytes,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.tokenization import load, merge_list, train

run = start_run("mixture_inference_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
texts = category_texts()
CATS = list(texts)
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# On a tokenizer trained on a single category, the LP puts (nearly) all mass on that category; the merge list read
# from the tokenizer is the trainer's, and its first merge is the most frequent byte pair of the training text.

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(1234)
pools = {c: split_docs(d, rng) for c, d in texts.items()}
pure = take_bytes(pools["fr"][0], 200_000, rng)
tok = train(pure, 256 + 300)
merges = merge_list(tok)
samples = {c: take_bytes(pools[c][1], 30_000, rng) for c in CATS}
est = solve_mixture(pair_statistics(tok, merges, samples, TOP_K))
assert est[CATS.index("fr")] > 0.8, dict(zip(CATS, est.round(3)))
print("pure-French tokenizer: the LP puts more than 80% on French: ok")

# %% [markdown]
# ## Experiment
# Controlled: per seed, a mixture `alpha ~ Dirichlet(1)` over the 10 categories, a byte-level BPE trained on it, and
# the LP estimate from its first `MERGES` merges with held-out samples. Real: the same attack on released tokenizers.

# %%
rows, est_rows = [], []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    pools = {c: split_docs(d, rng) for c, d in texts.items()}
    alpha = rng.dirichlet(np.ones(len(CATS)))
    mix = [doc for c, a in zip(CATS, alpha) for doc in take_bytes(pools[c][0], int(a * MIX_BYTES), rng)]
    tok = train(mix, 256 + MERGES)
    samples = {c: take_bytes(pools[c][1], SAMPLE_BYTES, rng) for c in CATS}
    est = solve_mixture(pair_statistics(tok, merge_list(tok)[:MERGES], samples, TOP_K))
    guesses = np.random.default_rng(10_000 + seed).dirichlet(np.ones(len(CATS)), RANDOM_GUESSES)
    rows.append({"seed": seed, "mse": float(((est - alpha) ** 2).mean()),
                 "mse_random": float(((guesses - alpha) ** 2).mean())})  # fmt: skip
    est_rows += [{"seed": seed, "category": c, "true": a, "estimate": e} for c, a, e in zip(CATS, alpha, est)]

controlled = pd.DataFrame(rows)
controlled["log10_gain"] = np.log10(controlled.mse_random / controlled.mse)
estimates = pd.DataFrame(est_rows)

rng = np.random.default_rng(0)
samples = {c: take_bytes(d, SAMPLE_BYTES, rng) for c, d in texts.items()}
real_rows = []
for name in REAL:
    tok = load(name)
    est = solve_mixture(pair_statistics(tok, merge_list(tok, MERGES_REAL), samples, TOP_K))
    real_rows += [{"tokenizer": name.split(":")[-1], "category": c, "share": s} for c, s in zip(CATS, est)]
real = pd.DataFrame(real_rows).pivot(index="category", columns="tokenizer", values="share").loc[CATS]
controlled.round(6)

# %% [markdown]
# ## Paper vs ours

# %% [markdown]
# The controlled recovery is a mean over mixtures (the unit) with a bootstrap interval; it is also the positive control
# (precondition `planted-mixture-recovered`) of the three real-tokenizer claims: if the attack does not recover
# planted mixtures at the paper's precision in our setup, its output on released tokenizers cannot refute the paper,
# and those claims are *inconclusive*. Each real-tokenizer value is one deterministic LP solve on fixed samples.

# %%
non_english = [c for c in CATS if c not in ("en", "code")]
measurements = {
    "controlled-recovery": Measurement.mean(controlled.log10_gain, n_unit="mixtures"),
    "gpt4o-more-multilingual": Measurement.exact(
        real.loc[non_english, "o200k_base"].sum() - real.loc[non_english, "cl100k_base"].sum()
    ),
    "cl100k-code-heavy": Measurement.exact(real.loc["code", "cl100k_base"]),
    "gpt2-mostly-english": Measurement.exact(real.loc["en", "r50k_base"]),
}
checks = {"planted-mixture-recovered": measurements["controlled-recovery"]}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# Inferred training mixtures of the released tokenizers (shares of our 10 categories):

# %%
summary = real.copy()
summary.loc["non-English (8 languages)"] = real.loc[non_english].sum()
summary.round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
ax = axes[0]
ax.plot([0, estimates.true.max()], [0, estimates.true.max()], "k:", lw=1)
for seed, grp in estimates.groupby("seed"):
    ax.scatter(grp.true, grp.estimate, label=f"mixture {seed}")
ax.set(xlabel="true share", ylabel="LP estimate", title=f"Controlled tokenizers ({MERGES} merges, 10 categories)")
ax.legend(fontsize=6, ncol=2)
ax = axes[1]
real.T.plot.bar(stacked=True, ax=ax, colormap="tab10", width=0.6)
ax.set(ylabel="inferred share", xlabel="", title="Released tokenizers")
ax.legend(fontsize=7, bbox_to_anchor=(1.0, 1.0))
ax.tick_params(axis="x", rotation=0)
fig.tight_layout()
run.save_figure(fig, "mixture_inference")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Controlled tokenizers* (the unit is one planted mixture; the interval is a BCa bootstrap over mixtures). The `full`
# profile (30 mixtures, 1,000 merges, 100 kB samples) gives a log10 gain of 1.31 [1.18, 1.43] over a random guess:
# the LP lands about 20x closer to the true mixture than a random guess without seeing the training text, wholly
# above the 10x bar and below the paper's 100x, so *partially reproduced*. The default profile (12 mixtures, 300
# merges, 40 kB samples, to fit 60 s) gives 1.01 [0.69, 1.23], which straddles the 10x bar (*inconclusive*); another
# 12 mixtures (seeds 200-211) give 0.98 [0.71, 1.34], also inconclusive. 300 merges carry less information than
# 1,000 (one mixture, seed 1, is recovered worse than a random guess at 300 merges and 100x better at 1,000), so the
# default measures a weaker attack: it is the smoke test, the `full` profile the verdict. The paper's 10^2-10^6 gains
# come from 30,000 merges, large samples and categories that differ more than ours: LibreOffice pages in every
# language keep product names, menu labels and markup, and the Hindi pages many English strings.
#
# *Released tokenizers*: the attack fails with our category menu. At 1,000 merges it puts everything on Chinese for
# GPT-2, and mostly Chinese and code for cl100k (83% Chinese, 17% code) and o200k (62% Chinese, 28% code), which
# contradicts what is known about their training data. The reason is in the LP's slack structure: a category whose
# frequent pairs are never merged early (Chinese UTF-8 byte pairs, for English-first vocabularies) violates the
# constraints at every step by the *same* pairs, which one per-pair slack absorbs once; a category whose text is merely
# out of domain (our LibreOffice English against WebText) violates different pairs at many steps and pays each time.
# The attack therefore needs category samples from the tokenizer's own training distribution (the paper uses web text
# for every language), which we do not have offline. The three real-tokenizer claims carry the controlled recovery as
# a precondition (the attack must recover planted mixtures at the paper's 100x precision in our setup); it fails, so
# they are *inconclusive: the setup cannot show the effect*, not *not reproduced*. Passing it would be necessary, not
# sufficient: a positive control on the released tokenizers themselves would need in-distribution category samples
# (web text per language, as the paper's), which no offline corpus here provides; see the README.
