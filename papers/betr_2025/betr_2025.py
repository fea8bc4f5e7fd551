# %% [markdown]
# # BETR (arXiv:2507.12466): data ranked by similarity to target examples trains better on the target
#
# Mizrahi, Larsen, Allardice, Petryk, Gorokhov, Li, Fang, Gardner, Gunter & Dehghan, *Language Models Improve When
# Pretraining Data Matches Target Tasks* (2025), catalog id 147.
#
# **The method** (Sec. 3). Benchmark-targeted ranking embeds the target examples (the paper's benchmark training
# examples) and a small *scoring sample* of the pretraining pool in one space. Every target example ranks the sample by
# cosine similarity; a document's score is its best rank over all examples (max aggregation). A light classifier learns
# to tell the top 10% of the scored sample from the rest (the majority class downsampled) and scores the whole pool; the
# top of the pool is kept. The embedding scorer, the ranks and the classifier are `method.BETR` (plain references
# `method.embed_reference` and `method.ranks_reference`, tested against the fast paths); the rest is the shared engine
# `shared.dataselect` (pool, targets, DSIR, target-vs-pool classifier, controls, trainer).
#
# **Claims under test** (v1):
# 1. BETR-selected data reaches a lower target loss than unfiltered data at the same token budget (`betr-beats-random`;
#    abstract: 4.7x compute multiplier; trivial control: all data, same tokens);
# 2. the two steps beat a classifier trained directly on target examples vs. the pool (`betr-beats-target-classifier`;
#    Table 4: 62.3 vs. 59.7);
# 3. BETR beats a strong existing selector (`betr-beats-dsir`; abstract: 2.1x over DCLM-Baseline; here DSIR);
# 4. max aggregation (best rank) beats mean aggregation (`max-beats-mean`; Fig. 8c: 62.2 vs. 58.2);
# 5. the light classifier reproduces the embedding scores on held-out documents (`classifier-reproduces-scores`;
#    Fig. 8d: 75.4% accuracy).
#
# **Replicated here, as an analogue:** the DSIR / ZIP-FIT / CoLoR-Filter replications' pool: ~64-word chunks of seven
# offline corpora (KJV, GCIDE, WordNet glosses, fortunes, CPython stdlib code, gettext messages, LibreOffice help),
# each labelled with its domain. A *group* is one target domain and one seed: the target's chunks are split into a
# target sample (all the selectors see: the "benchmark examples"), a held-out evaluation split and the rest (which
# stays in the raw pool). Seven arms select `K` chunks each, and a tiny Llama-style LM trained from the same
# initialisation for the same number of tokens on each is scored on the target's held-out split. **Not replicated:**
# the 500-model scaling-law fits and compute multipliers (a budget sweep per arm), the 7B models, DCLM-RefinedWeb and
# Nemotron-CC, the Core / Noncore benchmark suites (see the README's scope table).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [10, 11, 12, 13, 14]  # one group per target and seed (the sizing pilot used 0-1, kept out of the record)
TARGETS = ["python"]  # target domains (shared.dataselect.pool.DOMAINS)
MAX_PER_DOMAIN = 300  # chunks kept per domain (drawn by POOL_SEED)
POOL_SEED = 0  # which chunks of each domain the pool keeps, and which form the scoring and check samples
CHUNK_WORDS = 64  # a document: consecutive lines of one source with at least this many words
N_SAMPLE = 20  # target examples (the paper's benchmark training examples): all the selectors see of the target
N_EVAL = 100  # held-out target documents the models are scored on
SCORE_N = 240  # the scoring sample: pool chunks embedded and ranked (a group uses those in its raw pool)
CHECK_N = 120  # further pool chunks embedded only to check the classifier on documents it was not trained on
TOP_FRAC = 0.1  # the share of the scored sample labelled positive (the paper's top 10%)
EMBED_LEN = 128  # word pieces per chunk the embedding model reads (median chunk: 103)
K = 150  # documents every selection keeps
BUCKETS = 10000  # hashed n-gram buckets (DSIR's, both classifiers')
VOCAB = 512  # the pool's most frequent BPE tokens kept (the rest share one id)
STEPS = 100  # training steps of every arm (the token budget: STEPS * BATCH * CTX)
BATCH = 16  # windows per step
CTX = 32  # window length, tokens
LR = 0.01  # peak learning rate (warmup + cosine)
DIM = 32  # model width
LAYERS = 2  # transformer layers
HEADS = 2  # attention heads

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.betr_2025 import method
from papers.betr_2025.claims import CLAIMS
from shared import models
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.dataselect import train as T
from shared.dataselect.plots import claim_intervals, loss_per_arm
from shared.dataselect.pool import build_pool, make_task
from shared.results import start_run

run = start_run("betr_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %%
pool = build_pool(chunk_words=CHUNK_WORDS, max_per_domain=MAX_PER_DOMAIN, seed=POOL_SEED)
tokens = T.pool_tokens(pool, VOCAB)
rng = np.random.default_rng([POOL_SEED, 147])
perm = rng.permutation(len(pool))
scoring, check = np.sort(perm[:SCORE_N]), np.sort(perm[SCORE_N : SCORE_N + CHECK_N])
tasks = [make_task(pool, t, N_SAMPLE, N_EVAL, s) for t in TARGETS for s in SEEDS]
encoder, enc_tok = models.load(method.EMBED_MODEL)
embed_fn = method.embedder(pool, encoder, enc_tok, EMBED_LEN)
t0 = time.perf_counter()
# everything the run embeds, in one call (fixed batches): the scoring and check samples and every group's examples
to_embed = np.unique(np.concatenate([scoring, check] + [t.sample for t in tasks]))
embed_fn(to_embed)
print(f"pool: {len(pool)} documents; per domain {pool.domain_counts()}")
print(f"{sum(len(t) for t in tokens):,} BPE tokens, {np.mean([len(t) for t in tokens]):.0f} per document")
print(f"embedded {len(to_embed)} chunks ({len(to_embed) / len(pool):.0%} of the pool) in "
      f"{time.perf_counter() - t0:.1f} s")  # fmt: skip

# %% [markdown]
# ## Sanity checks
# The batched embeddings equal the one-text-at-a-time reference; the fast ranks equal the plain loop; every embedding
# is a unit vector; a target example put into the scoring sample is the single top document (rank 1 from itself, similarity 1); every arm
# selects `K` distinct raw documents.

# %% tags=["nbval-check-output"]
some = [pool.texts[i] for i in scoring[:6]]
assert np.allclose(method.embed(encoder, enc_tok, some, EMBED_LEN), method.embed_reference(encoder, enc_tok, some,
                                                                                           EMBED_LEN), atol=1e-5)  # fmt: skip
e = embed_fn(to_embed)
assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
check_task = tasks[0]
sim = embed_fn(check_task.sample) @ embed_fn(scoring[:40]).T
assert np.array_equal(method.ranks(sim), method.ranks_reference(sim))
planted = np.r_[scoring[:40], check_task.sample[:1]]
sim_p = embed_fn(check_task.sample) @ embed_fn(planted).T
best = method.top_fraction(method.scores(method.ranks(sim_p), "max"), sim_p.max(axis=0), 1 / len(planted))
assert best[-1] and best.sum() == 1
for name, sel in method.arms(embed_fn, scoring, TOP_FRAC, BUCKETS).items():
    idx = sel.select(check_task, K, SEEDS[0])
    assert len(np.unique(idx)) == len(idx) == (len(check_task.raw) if name == "all data" else K)
print("batched embeddings = reference; unit vectors; fast ranks = plain loop; a planted target example scores best; "
      "every arm selects distinct raw documents: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per group (target x seed): the split; BETR's classifier is trained on the scored sample's labels; every arm selects
# `K` documents (all data: the whole raw pool); a fresh LM (width `DIM`, `LAYERS` layers, vocabulary `VOCAB`) from the
# same initialisation trains for `STEPS` steps of `BATCH` windows of `CTX` tokens on its selection; the target's
# held-out split is scored window by window. The classifier is also checked on the held-out check chunks.

# %%
train_kw = {"steps": STEPS, "batch": BATCH, "ctx": CTX, "lr": LR, "dim": DIM, "layers": LAYERS, "heads": HEADS}
rows, infos = [], []
t0 = time.perf_counter()
for task in tasks:
    r, info = method.run_group(task, tokens, K, VOCAB, train_kw, task.seed, embed_fn, scoring, check, TOP_FRAC,
                               BUCKETS)  # fmt: skip
    rows += r
    infos.append(info)
res = pd.DataFrame(rows)
res["group"] = res.target + "/" + res.seed.astype(str)
info = pd.DataFrame(infos)
info["group"] = info.target + "/" + info.seed.astype(str)
print(f"{len(tasks)} groups x {res.arm.nunique()} arms trained in {time.perf_counter() - t0:.0f} s; "
      f"{STEPS * BATCH * CTX:,} training tokens per arm")  # fmt: skip
res.groupby("arm")[["target_share", "loss", "tokens"]].mean().sort_values("loss")

# %% [markdown]
# Where each selector's picks come from (share of each source domain among the `K` picks), for the first group:

# %%
mix = {name: pd.Series(pool.domains[check_task.raw[sel.select(check_task, K, SEEDS[0])]]).map(
    dict(enumerate(pool.domain_names))).value_counts(normalize=True)
    for name, sel in method.arms(embed_fn, scoring, TOP_FRAC, BUCKETS).items() if name != "all data"}  # fmt: skip
pd.DataFrame(mix).fillna(0.0).round(3)

# %% [markdown]
# ## Paper vs ours
# Units: groups (target x seed), independent; arms are paired within a group. Claims 1-4: geometric means of
# per-group loss ratios, bootstrap over groups on the log scale; claim 1's trivial control (all data, same tokens): the
# per-group loss margin, which must lie above 0. Claim 5: the mean over groups of the held-out AUC, Student t interval.
# Preconditions: the domain oracle beats random (the setup can show a selection effect); the embedding scores' top 10%
# holds more target chunks than the scored sample as a whole.

# %%
wide = res.pivot(index="group", columns="arm", values="loss")
info = info.set_index("group").loc[wide.index]
gu = "groups (target x seed)"
measurements = {
    "betr-beats-random": Measurement.ratio(wide["BETR"], wide["random"], n_unit=gu),
    "betr-beats-target-classifier": Measurement.ratio(wide["BETR"], wide["target-vs-pool classifier"], n_unit=gu),
    "betr-beats-dsir": Measurement.ratio(wide["BETR"], wide["DSIR"], n_unit=gu),
    "max-beats-mean": Measurement.ratio(wide["BETR"], wide["BETR (mean rank)"], n_unit=gu),
    "classifier-reproduces-scores": Measurement.t_mean(info["auc"], n_unit=gu, bounds=(0.0, 1.0)),
}
controls = {"betr-beats-random": Measurement.paired_difference(wide["all data"], wide["BETR"], n_unit=gu)}
checks = {
    "oracle-beats-random": Measurement.paired_difference(wide["random"], wide["domain oracle"], n_unit=gu),
    "scores-find-target": Measurement.paired_difference(info["top_share"], info["base_share"], n_unit=gu),
    **{name: Measurement.exact(len(SEEDS) * len(TARGETS), unit="groups")
       for name in ("enough-groups-dsir", "enough-groups-classifier", "enough-groups-aggregation")},
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
print("control (all data - BETR, nats): " + str(controls["betr-beats-random"]))
verdict_table(claim_results)

# %% [markdown]
# Held-out target loss and target share per arm and target (means over seeds), the classifier's check per group, and
# the per-group losses:

# %%
for col in ("loss", "target_share"):
    print(f"{col}:\n" + res.pivot_table(index="arm", columns="target", values=col, aggfunc="mean").round(4).to_string())
print("BETR classifier, per group:")
print(info[["n_scored", "n_pos", "top_share", "base_share", "n_check", "n_check_pos", "auc", "spearman"]].round(3)
      .to_string())  # fmt: skip
print("per-group held-out losses:")
print(wide.round(4).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
loss_per_arm(axes[0], res, TARGETS)
ratios = {c: m for c, m in measurements.items() if c != "classifier-reproduces-scores"}
claim_intervals(axes[1], ratios, bar=0.98, ylabel="loss ratio (geometric mean, 95% CI)",
                title="Claims 1-4: BETR's loss over the baseline's")  # fmt: skip
fig.tight_layout()
run.save_figure(fig, "betr")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (the README has the verdicts of both profiles and the per-target tables).
#
# BETR finds the target: most of its picks are target chunks, and the model trained on them reaches a clearly lower
# held-out target loss than random selection and than all data for the same tokens (`betr-beats-random`, reproduced in
# both profiles); its light classifier reproduces the embedding ranking on chunks it never saw (AUC about 0.9, above the
# paper's 75.4% accuracy). Against DSIR, BETR is 2% better pooled over three targets in `full` (partially reproduced;
# better on GCIDE and LibreOffice help, worse on Python code); the default's single target cannot resolve it. The
# paper's two ablations did not show at this scale: BETR against a classifier trained directly on the target examples
# vs. the pool, and max against mean aggregation, differ by less than the runs resolve (inconclusive). Here the target
# is a whole domain that is 13% of the pool, so "looks like the examples" is itself a good selection, and a
# single-domain target gives the max and the mean nearly the same picks; the paper's gaps come from web pools where
# benchmark-like text is rare and from targets spread over ten benchmarks.
