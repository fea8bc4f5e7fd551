# %% [markdown]
# # DSIR (arXiv:2302.03169): importance resampling in hashed n-gram space selects data that trains better on a target
#
# Xie, Santurkar, Ma & Liang, *Data Selection for Language Models via Importance Resampling* (NeurIPS 2023), catalog
# id 162.
#
# **The method.** Given a large raw pool and a small sample of the target, DSIR fits two bag-of-ngrams models over
# hashed unigram and bigram buckets (10,000 buckets), one on the target sample and one on the raw pool, gives every raw
# document the log importance weight `sum_j x_j (log p_target[j] - log p_raw[j])` of its bucket counts `x`, and draws
# `k` documents without replacement with probability proportional to the weights (Gumbel top-k). The paper's data
# metric, **KL reduction**, is `KL(target || raw) - KL(target || selection)` in the same feature space.
# The engine is `shared.dataselect` (pool, features with a plain reference and a fast path, selectors, KL reduction,
# training with the shared trainer).
#
# **Claims under test** (abstract of the NeurIPS version):
# 1. DSIR-selected data trains a better model for the target than random selection (`dsir-beats-random`);
# 2. KL reduction on hashed n-gram features correlates with the trained model's performance across selection methods,
#    r = 0.82 (`kl-reduction-tracks-loss`);
# 3. DSIR performs comparably to expert curation of the target domain (`dsir-matches-curation`);
# 4. the selection is cheap: close to the cost of reading and hashing the data (`selection-cost`, a timing).
#
# **Replicated here, as an analogue:** a pool of ~64-word chunks of seven offline corpora (KJV, GCIDE, WordNet glosses,
# fortunes, the CPython standard library, gettext UI messages, LibreOffice help), each labelled with its domain. A
# *group* is one target domain and one seed: the target's chunks are split into a 50-document target sample (all the
# selectors see), a held-out evaluation split and the rest (which stays in the raw pool). Each of seven arms selects
# `K` documents (DSIR; DSIR top-k; a target-vs-raw logistic regression, top-k; the domain oracle, i.e. random chunks of
# the target domain, the analogue of expert curation; half DSIR half random; random; and all data as the trivial
# control), a tiny Llama-style LM is trained from the same initialisation for the same number of tokens on each with
# the shared trainer, and the target's held-out loss is measured. **Not replicated:** the Pile, BERT/RoBERTa, GLUE and
# the domain tasks (not offline, GPU weeks); the fastText heuristic classifier (a logistic regression stands in).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # one group per target and seed: split, selections, initialisation and batches
TARGETS = ["python"]  # target domains (shared.dataselect.pool.DOMAINS)
MAX_PER_DOMAIN = 1000  # chunks kept per domain (drawn by POOL_SEED)
POOL_SEED = 0  # which chunks of each domain the pool keeps
CHUNK_WORDS = 64  # a document: consecutive lines of one source with at least this many words
N_SAMPLE = 50  # target sample the selectors see (documents)
N_EVAL = 100  # held-out target documents the models are scored on
K = 300  # documents every selection keeps
BUCKETS = 10000  # hashed n-gram buckets (the paper's 10,000)
VOCAB = 512  # the pool's most frequent BPE tokens kept (the rest share one id)
STEPS = 160  # training steps of every arm (the token budget: STEPS * BATCH * CTX)
BATCH = 16  # windows per step
CTX = 32  # window length, tokens
LR = 0.01  # peak learning rate (warmup + cosine)
DIM = 32  # model width
LAYERS = 2  # transformer layers
HEADS = 2  # attention heads
BENCH_REPEATS = 5  # interleaved repeats of the throughput benchmark

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.dsir_2023 import method
from papers.dsir_2023.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.dataselect import metrics as M
from shared.dataselect import selectors as S
from shared.dataselect import train as T
from shared.dataselect.bench import throughput
from shared.dataselect.features import HashedNgrams, hashed_counts_reference
from shared.dataselect.plots import centred_scatter, loss_per_arm
from shared.dataselect.pool import build_pool, make_task
from shared.results import start_run

run = start_run("dsir_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %%
pool = build_pool(chunk_words=CHUNK_WORDS, max_per_domain=MAX_PER_DOMAIN, seed=POOL_SEED)
tokens = T.pool_tokens(pool, VOCAB)
print(f"pool: {len(pool)} documents; per domain {pool.domain_counts()}")
print(f"{sum(len(t) for t in tokens):,} BPE tokens, {np.mean([len(t) for t in tokens]):.0f} per document")

# %% [markdown]
# ## Sanity checks
# The fast featuriser equals the plain reference on pool documents; the fast importance weights equal the plain
# reference; a target identical to the raw pool gives uniform weights (all log weights 0); Gumbel top-k keeps the
# documents whose weights dwarf the others'; every selection is `K` distinct raw documents.

# %% tags=["nbval-check-output"]
check_task = make_task(pool, TARGETS[0], N_SAMPLE, N_EVAL, SEEDS[0])
docs = [pool.texts[i] for i in np.random.default_rng(0).choice(len(pool), 40, replace=False)]
fast = HashedNgrams(BUCKETS).transform(docs).toarray()
assert (fast == np.stack([hashed_counts_reference(t, BUCKETS) for t in docs])).all()
f = HashedNgrams(BUCKETS)
raw_x, tgt_x = f.transform(docs[:30]), f.transform(docs[30:])
ref = S.log_importance_reference(docs[:30], docs[30:], BUCKETS)
assert np.allclose(S.log_importance(raw_x, tgt_x), ref, rtol=1e-9, atol=1e-9)
assert np.allclose(S.log_importance(raw_x, raw_x), 0.0)
assert (S.gumbel_top_k(np.r_[np.zeros(50), [400.0, 300.0]], 2, np.random.default_rng(0)) == [50, 51]).all()
for name, sel in method.arms(BUCKETS).items():
    idx = sel.select(check_task, K, SEEDS[0])
    assert len(np.unique(idx)) == len(idx) == (len(check_task.raw) if name == "all data" else K)
print("featuriser fast path = reference; importance weights fast path = reference; identical target and raw give "
      "uniform weights; Gumbel top-k keeps dominant weights; every arm selects distinct raw documents: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per group (target x seed): the split, then every arm selects `K` documents (all data: the whole raw pool), a fresh
# LM (width `DIM`, `LAYERS` layers, vocabulary `VOCAB`) from the same initialisation trains for `STEPS` steps of
# `BATCH` windows of `CTX` tokens on its selection, and the target's held-out split is scored window by window.

# %%
train_kw = {"steps": STEPS, "batch": BATCH, "ctx": CTX, "lr": LR, "dim": DIM, "layers": LAYERS, "heads": HEADS}
rows = []
t0 = time.perf_counter()
for target in TARGETS:
    for seed in SEEDS:
        task = make_task(pool, target, N_SAMPLE, N_EVAL, seed)
        rows += method.run_group(task, tokens, K, BUCKETS, VOCAB, train_kw, seed)
res = pd.DataFrame(rows)
res["group"] = res.target + "/" + res.seed.astype(str)
print(f"{len(TARGETS) * len(SEEDS)} groups x {res.arm.nunique()} arms trained in {time.perf_counter() - t0:.0f} s; "
      f"{STEPS * BATCH * CTX:,} training tokens per arm")  # fmt: skip
res.groupby("arm")[["target_share", "kl_reduction", "loss", "unigram", "tokens"]].mean().sort_values("loss")

# %% [markdown]
# ## Throughput
# DSIR's whole selection from text (featurise the raw pool and the target sample, fit both models, weigh, resample)
# against reading and hashing the same texts into the same features, interleaved, over the whole pool.

# %%
all_texts, sample_texts = pool.texts, check_task.sample_texts()
bench = throughput(all_texts, sample_texts, K, BUCKETS, BENCH_REPEATS)
t_hash, t_dsir = bench["hash_s"], bench["select_s"]
print(f"reading + hashing: {len(all_texts) / np.median(t_hash):,.0f} docs/s; DSIR selection: "
      f"{len(all_texts) / np.median(t_dsir):,.0f} docs/s ({len(all_texts)} documents, median of {BENCH_REPEATS})")  # fmt: skip

# %% [markdown]
# ## Paper vs ours
# Units: groups (target x seed), independent; arms are paired within a group. Claim 1 and 3: geometric means of
# per-group loss ratios, bootstrap over groups on the log scale; claim 1's trivial control (all data, same tokens):
# the per-group loss margin, which must lie above 0. Claim 2: Pearson r between KL reduction and minus the held-out
# loss over the six selections of `K` documents, centred within each group, with a bootstrap that resamples whole
# groups. Precondition of all three: the DSIR-trained model beats the unigram model of its own selected tokens on the
# held-out split (the models learn context); of claim 2: DSIR's KL reduction exceeds random selection's.

# %%
wide = res.pivot(index="group", columns="arm", values="loss")
kl_wide = res.pivot(index="group", columns="arm", values="kl_reduction")
uni = res.pivot(index="group", columns="arm", values="unigram")
groups = list(wide.index)
corr = res[res.arm != "all data"].reset_index(drop=True)
r_over = M.within_group_r_over(corr.group, corr.kl_reduction, -corr.loss)


gu = "groups (target x seed)"
measurements = {
    "dsir-beats-random": Measurement.ratio(wide["DSIR"], wide["random"], n_unit=gu),
    "kl-reduction-tracks-loss": Measurement.bootstrap(groups, r_over, n_unit=gu, bounds=(-1.0, 1.0)),
    "dsir-matches-curation": Measurement.ratio(wide["DSIR"], wide["domain oracle"], n_unit=gu),
    "selection-cost": Measurement.ratio(t_dsir, t_hash, n_unit="interleaved repeats"),
}
controls = {"dsir-beats-random": Measurement.paired_difference(wide["all data"], wide["DSIR"], n_unit=gu)}
checks = {
    "dsir-beats-unigram": Measurement.paired_difference(uni["DSIR"], wide["DSIR"], n_unit=gu),
    "selections-differ": Measurement.paired_difference(kl_wide["DSIR"], kl_wide["random"], n_unit=gu),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
print("control (all data - DSIR, nats): " + str(controls["dsir-beats-random"]))
verdict_table(claim_results)

# %% [markdown]
# Held-out target loss per arm and target (means over seeds), and the share of target-domain documents each selects:

# %%
print(res.pivot_table(index="arm", columns="target", values="loss", aggfunc="mean").round(3).to_string())
print(res.pivot_table(index="arm", columns="target", values="target_share", aggfunc="mean").round(3).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
centred_scatter(axes[0], corr, "kl_reduction", "KL reduction, centred within group (nats)",
                f"KL reduction vs. target loss (r = {measurements['kl-reduction-tracks-loss'].value:.2f})")  # fmt: skip
loss_per_arm(axes[1], res, TARGETS)
fig.tight_layout()
run.save_figure(fig, "dsir")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (see the README for the verdicts of both profiles).
