# %% [markdown]
# # CoLoR-Filter (arXiv:2406.10670): the conditional loss reduction of small auxiliary LMs selects data for a larger LM
#
# Brandfonbrener, Zhang, Kirsch, Schwarz & Kakade, *CoLoR-Filter: Conditional Loss Reduction Filtering for Targeted
# Language Model Pre-training* (NeurIPS 2024), catalog id 145.
#
# **The method.** Two auxiliary LMs: a *prior* trained on the raw pool, and a *conditional* model, the prior fine-tuned
# on a small sample of the target ("down") data. Every candidate document `x` gets the score
# `loss_prior(x) - loss_conditional(x)` (the conditional loss reduction, mean per-token loss in nats); out of `tau * k`
# random candidates CoLoR-Filter keeps the `k` with the largest score, and a (larger) target model is trained on them.
# The selector is `method.CoLoRFilter` (document losses: a plain reference `method.doc_losses_reference` and a batched
# path, tested equal); the rest is the shared engine `shared.dataselect` (pool, DSIR, random, training).
#
# **Claims under test** (abstract of v3):
# 1. CoLoR-Filter's data trains a lower target loss than random data at the same token budget, target of the
#    auxiliary models' size (`color-beats-random`);
# 2. small auxiliary models select data for a larger target model (`small-aux-for-larger-target`);
# 3. favourable scaling as selection gets more aggressive: tau = 16 beats tau = 4 (`tau-scaling`);
# 4. CoLoR-Filter beats another targeted selector, DSIR, on the same candidates (`color-beats-dsir`);
# 5. the criterion is the *relative* loss of the two models: it beats ranking by the conditional loss alone
#    (`reduction-beats-conditional-only`).
#
# **Replicated here, as an analogue:** the DSIR and ZIP-FIT replications' pool (`papers/dsir_2023`): ~64-word chunks of
# seven offline corpora (KJV, GCIDE, WordNet glosses, fortunes, CPython stdlib code, gettext messages, LibreOffice
# help), each labelled with its domain. A *group* is one target domain and one seed: the target's chunks are split into
# a target sample (the conditional model's fine-tuning data, DSIR's target model), a held-out evaluation split and the
# rest (which stays in the raw pool). Random selection is the trivial control. **Not replicated:** C4, Books and the
# eight downstream tasks, 150m / 1.2b OLMo models (GPU weeks), the data multiplier ("25x less data", which needs random
# runs over a range of token budgets), the online baselines (RHO-loss) of the paper's body.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [10, 11, 12, 13, 14]  # one group per target and seed (the sizing pilot used 0-1, kept out of the record)
TARGETS = ["python"]  # target domains (shared.dataselect.pool.DOMAINS)
MAX_PER_DOMAIN = 300  # chunks kept per domain (drawn by POOL_SEED)
POOL_SEED = 0  # which chunks of each domain the pool keeps
CHUNK_WORDS = 64  # a document: consecutive lines of one source with at least this many words
N_SAMPLE = 20  # target sample ("down" data): the conditional model's fine-tuning data, DSIR's target sample
N_EVAL = 100  # held-out target documents the models are scored on
K = 100  # documents every selection keeps
TAU_HI = 16  # candidate multiplier of CoLoR-Filter (and of DSIR, the conditional-only ablation): 16 * K candidates
TAU_LO = 4  # the less aggressive CoLoR-Filter (its candidates: the first TAU_LO * K of the same permutation)
BUCKETS = 10000  # DSIR's hashed n-gram buckets (its paper's 10,000)
VOCAB = 512  # the pool's most frequent BPE tokens kept (the rest share one id)
AUX_DIM = 16  # auxiliary models' width (prior and conditional; also the aux-sized target)
AUX_LAYERS = 1  # auxiliary models' layers
AUX_STEPS = 150  # prior's training steps on the raw pool
FT_STEPS = 40  # conditional model: fine-tuning steps of the prior on the target sample
FT_LR = 0.003  # conditional model: fine-tuning learning rate (constant after warmup)
STEPS = 120  # training steps of every target model (the token budget: STEPS * BATCH * CTX)
BATCH = 16  # windows per step
CTX = 32  # window length, tokens
LR = 0.01  # peak learning rate (warmup + cosine)
DIM = 32  # larger target model's width
LAYERS = 2  # larger target model's layers
HEADS = 2  # attention heads (every model)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.color_filter_2024 import method
from papers.color_filter_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.dataselect import train as T
from shared.dataselect.plots import claim_intervals, loss_per_arm
from shared.dataselect.pool import build_pool, make_task
from shared.results import start_run

run = start_run("color_filter_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %%
pool = build_pool(chunk_words=CHUNK_WORDS, max_per_domain=MAX_PER_DOMAIN, seed=POOL_SEED)
tokens = T.pool_tokens(pool, VOCAB)
aux_kw = {"steps": AUX_STEPS, "batch": BATCH, "ctx": CTX, "lr": LR, "dim": AUX_DIM, "layers": AUX_LAYERS,
          "heads": HEADS}  # fmt: skip
target_kw = {"steps": STEPS, "batch": BATCH, "ctx": CTX, "lr": LR, "dim": DIM, "layers": LAYERS, "heads": HEADS}
p_aux, p_target = method.n_params(AUX_DIM, AUX_LAYERS, VOCAB), method.n_params(DIM, LAYERS, VOCAB)
print(f"pool: {len(pool)} documents; per domain {pool.domain_counts()}")
print(f"{sum(len(t) for t in tokens):,} BPE tokens, {np.mean([len(t) for t in tokens]):.0f} per document")
print(f"auxiliary models {p_aux:,} parameters; larger target {p_target:,} ({p_target / p_aux:.1f}x)")

# %% [markdown]
# ## Sanity checks
# The batched document losses equal the one-window-at-a-time reference on pool documents; the selector keeps `K`
# distinct documents, all among its `tau * K` candidates, the smaller tau's candidates nested in the larger's; a
# document planted as a copy of the target sample has a larger conditional loss reduction than the median candidate.

# %% tags=["nbval-check-output"]
check_task = make_task(pool, TARGETS[0], N_SAMPLE, N_EVAL, SEEDS[0])
m0 = T.make_lm(VOCAB, AUX_DIM, AUX_LAYERS, HEADS, CTX + 1, 0).eval()
some = [tokens[i] for i in np.random.default_rng(0).choice(len(pool), 8, replace=False)]
assert np.allclose(method.doc_losses(m0, some, CTX), method.doc_losses_reference(m0, some, CTX), rtol=1e-5, atol=1e-5)
prior0, cond0 = method.train_aux(check_task, tokens, VOCAB, SEEDS[0], dict(aux_kw, steps=30), 10, FT_LR)
sel_hi = method.CoLoRFilter(TAU_HI, prior0, cond0, tokens, CTX)
sel_lo = method.CoLoRFilter(TAU_LO, prior0, cond0, tokens, CTX)
c_hi, c_lo = method.candidates(check_task, TAU_HI * K, SEEDS[0]), method.candidates(check_task, TAU_LO * K, SEEDS[0])
assert set(c_lo) <= set(c_hi)
for sel, cand in ((sel_hi, c_hi), (sel_lo, c_lo)):
    idx = sel.select(check_task, K, SEEDS[0])
    assert len(np.unique(idx)) == len(idx) == K and set(idx) <= set(cand)
planted = [tokens[i] for i in check_task.sample[:3]]
red = method.doc_losses(prior0, planted, CTX) - method.doc_losses(cond0, planted, CTX)
assert (red > np.median(sel_hi.scores(check_task, c_hi))).all()
print("batched document losses = reference; K distinct picks among tau * K nested candidates; target-sample copies "
      "score above the median candidate: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per group (target x seed): the split; the prior (width `AUX_DIM`, `AUX_LAYERS` layer, `AUX_STEPS` steps on the raw
# pool) and the conditional model (`FT_STEPS` steps on the target sample); every arm selects `K` documents; a fresh
# target model of each size from the same initialisation trains for `STEPS` steps of `BATCH` windows of `CTX` tokens on
# its selection; the target's held-out split is scored window by window.

# %%
rows, aux_rows = [], []
t0 = time.perf_counter()
for target in TARGETS:
    for seed in SEEDS:
        task = make_task(pool, target, N_SAMPLE, N_EVAL, seed)
        r, a = method.run_group(task, tokens, K, VOCAB, aux_kw, FT_STEPS, FT_LR, target_kw, TAU_HI, TAU_LO, BUCKETS,
                                seed)  # fmt: skip
        rows += r
        aux_rows.append(a)
res = pd.DataFrame(rows)
res["group"] = res.target + "/" + res.seed.astype(str)
aux = pd.DataFrame(aux_rows)
aux["group"] = aux.target + "/" + aux.seed.astype(str)
print(f"{len(TARGETS) * len(SEEDS)} groups x {res.arm.nunique()} arms trained in {time.perf_counter() - t0:.0f} s; "
      f"{STEPS * BATCH * CTX:,} training tokens per arm")  # fmt: skip
res.groupby("arm")[["target_share", "loss", "tokens"]].mean().sort_values("loss")

# %% [markdown]
# ## Paper vs ours
# Units: groups (target x seed), independent; arms are paired within a group. Every claim is a geometric mean of
# per-group loss ratios with a bootstrap over groups on the log scale. Precondition of every claim: the conditional
# auxiliary model has a lower held-out target loss than the prior (paired per group), so the score carries information
# about the target. Random selection is the trivial control (claims 1 and 2 compare with it directly).

# %%
wide = res.pivot(index="group", columns="arm", values="loss")
aux = aux.set_index("group").loc[wide.index]
gu = "groups (target x seed)"
measurements = {
    "color-beats-random": Measurement.ratio(wide["CoLoR hi (aux size)"], wide["random (aux size)"], n_unit=gu),
    "small-aux-for-larger-target": Measurement.ratio(wide["CoLoR hi"], wide["random"], n_unit=gu),
    "tau-scaling": Measurement.ratio(wide["CoLoR hi"], wide["CoLoR lo"], n_unit=gu),
    "color-beats-dsir": Measurement.ratio(wide["CoLoR hi"], wide["DSIR"], n_unit=gu),
    "reduction-beats-conditional-only": Measurement.ratio(wide["CoLoR hi"], wide["conditional only"], n_unit=gu),
}
checks = {"conditional-lowers-target-loss": Measurement.paired_difference(aux["prior"], aux["conditional"], n_unit=gu)}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
verdict_table(claim_results)

# %% [markdown]
# Held-out target loss and the share of target-domain documents per arm and target (means over seeds), the auxiliary
# models' held-out target loss, and the per-group losses:

# %%
for col in ("loss", "target_share"):
    print(f"{col}:\n" + res.pivot_table(index="arm", columns="target", values=col, aggfunc="mean").round(4).to_string())
print("auxiliary models, held-out target loss:\n" + aux.groupby("target")[["prior", "conditional"]].mean().round(4)
      .to_string())  # fmt: skip
print("per-group held-out losses:")
print(wide.round(4).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
loss_per_arm(axes[0], res, TARGETS)
claim_intervals(axes[1], measurements, bar=0.98, ylabel="loss ratio (geometric mean, 95% CI)",
                title="Claims: loss ratios")  # fmt: skip
fig.tight_layout()
run.save_figure(fig, "color_filter")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (see the README for the verdicts of both profiles).
