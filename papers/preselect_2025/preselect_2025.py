# %% [markdown]
# # PreSelect (arXiv:2503.00808): the data on which models' losses predict their abilities teaches best
#
# Shum, Huang, Zou, Ding, Liao, Chen, Liu & He, *Predictive Data Selection: The Data That Predicts Is the Data That
# Teaches* (2025), catalog id 146.
#
# **The method.** A family of models with known abilities (the paper: six Llama-1/2 models and their downstream
# benchmark average) computes its normalised loss (bits per character) on a sample of the pretraining pool. A
# document's *predictive strength* is how well the models' loss order on it matches their ability order: the share of
# model pairs in which the more able model has the lower loss. Documents with every pair in order are positives, as
# many of the lowest strength negatives; a light classifier (fastText in the paper) learns to tell them apart and scores
# the whole pool, whose top is kept. The family, the strength, the labels and the classifier are `method.PreSelect`
# (plain references `method.doc_nats_reference` and `method.concordance_reference`, tested against the fast paths);
# the rest is the shared engine `shared.dataselect` (pool, targets, DSIR, the target-vs-pool classifier, controls,
# trainer).
#
# **Claims under test** (abstract of v1; the rule from the authors' code):
# 1. PreSelect data reaches a lower target loss than random data at the same token budget (`preselect-beats-random`;
#    abstract: 30B PreSelect tokens beat 300B random tokens, a 10x compute reduction; trivial control: all data, same
#    tokens);
# 2. the hypothesis itself: the documents of highest predictive strength teach better than random ones, with no
#    classifier in between (`predictive-data-teaches`);
# 3.-5. PreSelect beats other selectors (abstract: "significantly outperforms other competitive data selection
#    baselines"): a perplexity filter built from the same family (`preselect-beats-perplexity-filter`), a
#    reference-vs-pool classifier, the DCLM recipe (`preselect-beats-reference-classifier`), and DSIR
#    (`preselect-beats-dsir`).
#
# **Replicated here, as an analogue:** the engine's pool (the DSIR, ZIP-FIT, CoLoR-Filter and BETR replications'):
# ~64-word chunks of seven offline corpora (KJV, GCIDE, WordNet glosses, fortunes, CPython stdlib code, gettext
# messages, LibreOffice help), each labelled with its domain. A *group* is one target domain and one seed: the target's
# chunks are split into a target sample (all the selectors see of the target; the family's abilities are measured on
# it), a held-out evaluation split and the rest (which stays in the raw pool). The family is six tiny LMs trained in
# the notebook on the raw pool, each on its own domain mixture, width and step count, so that their abilities on the
# target differ; "ability" is minus their bits per character on the target sample. Seven arms select `K` chunks each,
# and a tiny Llama-style LM trained from the same initialisation for the same number of tokens on each is scored on the
# target's held-out split. **Not replicated:** the 1B and 3B models, RefinedWeb and the 17 downstream tasks, the Llama
# family, the compute-multiplier sweeps and FineWeb-Edu (an LLM-annotated classifier; see the README's scope table).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [20, 21, 22, 23, 24]  # one group per target and seed (sizing pilots and timing runs used 0-4 and 10-14)
TARGETS = ["python"]  # target domains (shared.dataselect.pool.DOMAINS)
MAX_PER_DOMAIN = 300  # chunks kept per domain (drawn by POOL_SEED)
POOL_SEED = 0  # which chunks of each domain the pool keeps
CHUNK_WORDS = 64  # a document: consecutive lines of one source with at least this many words
N_SAMPLE = 20  # target sample: the family's abilities are measured on it; DSIR and the classifier fit on it
N_EVAL = 100  # held-out target documents the trained models are scored on
K = 150  # documents every selection keeps
SCORE_FRAC = 0.25  # the share of each group's raw pool the family scores (the paper scores a sample of its pool)
MIN_POS = 25  # positives when fewer scored documents have perfect strength (then the top MIN_POS), as many negatives
N_MEMBERS = 6  # family members (the paper: six Llama-1/2 models)
ALPHA = 0.5  # Dirichlet concentration of the members' domain mixtures
MEMBER_DOCS = 400  # raw documents (drawn with replacement by the mixture) in a member's training stream
MEMBER_DIMS = [16, 24]  # member widths (member i: MEMBER_DIMS[i % 2])
MEMBER_STEPS = [30, 45, 60]  # member training steps (member i: MEMBER_STEPS[i % 3])
MEMBER_LAYERS = 1  # member layers
BUCKETS = 10000  # hashed n-gram buckets (DSIR's, both classifiers')
VOCAB = 512  # the pool's most frequent BPE tokens kept (the rest share one id)
STEPS = 70  # training steps of every arm (the token budget: STEPS * BATCH * CTX)
BATCH = 16  # windows per step (every model)
CTX = 32  # window length, tokens (every model)
LR = 0.01  # peak learning rate (warmup + cosine; every model)
DIM = 32  # arm model width
LAYERS = 2  # arm model layers
HEADS = 2  # attention heads (every model)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.preselect_2025 import method
from papers.preselect_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.dataselect import train as T
from shared.dataselect.plots import claim_intervals, loss_per_arm
from shared.dataselect.pool import build_pool, make_task
from shared.results import start_run

run = start_run("preselect_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %%
pool = build_pool(chunk_words=CHUNK_WORDS, max_per_domain=MAX_PER_DOMAIN, seed=POOL_SEED)
tokens = T.pool_tokens(pool, VOCAB)
member_kw = {"batch": BATCH, "ctx": CTX, "lr": LR, "layers": MEMBER_LAYERS, "heads": HEADS}
fam = {"n_members": N_MEMBERS, "alpha": ALPHA, "n_docs": MEMBER_DOCS, "dims": MEMBER_DIMS, "steps": MEMBER_STEPS,
       "train_kw": member_kw}  # fmt: skip
train_kw = {"steps": STEPS, "batch": BATCH, "ctx": CTX, "lr": LR, "dim": DIM, "layers": LAYERS, "heads": HEADS}
print(f"pool: {len(pool)} documents; per domain {pool.domain_counts()}")
print(f"{sum(len(t) for t in tokens):,} BPE tokens, {np.mean([len(t) for t in tokens]):.0f} per document")

# %% [markdown]
# ## Sanity checks
# The batched document losses equal the one-window-at-a-time reference on pool documents; the vectorised predictive
# strength equals the authors' pair loop (abilities with ties included); a document whose loss order matches the
# ability order exactly has strength 1 and the reversed order 0; positives and negatives are disjoint, equally many,
# and no negative is stronger than a positive.

# %% tags=["nbval-check-output"]
m0 = T.make_lm(VOCAB, 16, 1, HEADS, CTX + 1, 0).eval()
some = [tokens[i] for i in np.random.default_rng(0).choice(len(pool), 8, replace=False)]
assert np.allclose(method.doc_nats(m0, some, CTX), method.doc_nats_reference(m0, some, CTX), rtol=1e-5)
rng = np.random.default_rng(0)
b, ab = rng.normal(size=(N_MEMBERS, 50)), np.r_[rng.normal(size=N_MEMBERS - 1), 0.0]
ab[-1] = ab[0]  # a tie in ability: that pair does not count
assert np.allclose(method.concordance(b, ab), method.concordance_reference(b, ab))
order = np.c_[-ab, ab]  # lower loss for the more able member, then the reverse
assert np.allclose(method.concordance(order, ab), [1.0, 0.0])
s = rng.integers(0, 16, size=300) / 15
pos, neg = method.labels(s, MIN_POS, 0)
assert len(pos) == len(neg) >= MIN_POS and not set(pos) & set(neg) and s[pos].min() >= s[neg].max()
print("batched document losses = reference; vectorised strength = pair loop; perfect order -> 1, reversed -> 0; "
      "positives and negatives disjoint and ordered: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per group (target x seed): the split; the family (`N_MEMBERS` members, each on its own Dirichlet mixture of the raw
# pool's domains, widths `MEMBER_DIMS`, steps `MEMBER_STEPS`), its abilities on the target sample, the predictive
# strength of a random `SCORE_FRAC` of the raw pool, the labels and the classifier; every arm selects `K` documents
# (all data: the whole raw pool); a fresh LM (width `DIM`, `LAYERS` layers, vocabulary `VOCAB`) from the same
# initialisation trains for `STEPS` steps of `BATCH` windows of `CTX` tokens on its selection; the target's held-out
# split is scored window by window.

# %%
rows, infos = [], []
t0 = time.perf_counter()
for target in TARGETS:
    for seed in SEEDS:
        task = make_task(pool, target, N_SAMPLE, N_EVAL, seed)
        r, info = method.run_group(task, tokens, K, VOCAB, train_kw, seed, fam, SCORE_FRAC, MIN_POS, BUCKETS)
        rows += r
        infos.append(info)
res = pd.DataFrame(rows)
res["group"] = res.target + "/" + res.seed.astype(str)
info = pd.DataFrame(infos)
info["group"] = info.target + "/" + info.seed.astype(str)
assert ((res.docs == K) | (res.arm == "all data")).all()
print(f"{len(infos)} groups x {res.arm.nunique()} arms trained in {time.perf_counter() - t0:.0f} s; "
      f"{STEPS * BATCH * CTX:,} training tokens per arm")  # fmt: skip
res.groupby("arm")[["target_share", "loss", "tokens"]].mean().sort_values("loss")

# %% [markdown]
# ## Paper vs ours
# Units: groups (target x seed), independent; arms are paired within a group. Every claim is a geometric mean of
# per-group loss ratios with a bootstrap over groups on the log scale; claims 1 and 2 also pass their margin over the
# trivial control all data (same tokens), which must lie above 0. Precondition of every claim: the paper's premise
# holds here, i.e. PreSelect's positives hold more target chunks than the scored sample as a whole. The DSIR claim
# also needs 152 groups (a power precondition from the recorded full: `claims.py`), more than either profile runs.

# %%
wide = res.pivot(index="group", columns="arm", values="loss")
info = info.set_index("group").loc[wide.index]
gu = "groups (target x seed)"
measurements = {
    "preselect-beats-random": Measurement.ratio(wide["PreSelect"], wide["random"], n_unit=gu),
    "predictive-data-teaches": Measurement.ratio(wide["strength top-k"], wide["random"], n_unit=gu),
    "preselect-beats-perplexity-filter": Measurement.ratio(wide["PreSelect"], wide["perplexity filter"], n_unit=gu),
    "preselect-beats-reference-classifier": Measurement.ratio(
        wide["PreSelect"], wide["target-vs-pool classifier"], n_unit=gu
    ),  # fmt: skip
    "preselect-beats-dsir": Measurement.ratio(wide["PreSelect"], wide["DSIR"], n_unit=gu),
}
controls = {
    "preselect-beats-random": Measurement.paired_difference(wide["all data"], wide["PreSelect"], n_unit=gu),
    "predictive-data-teaches": Measurement.paired_difference(wide["all data"], wide["strength top-k"], n_unit=gu),
}
checks = {
    "strength-finds-target": Measurement.paired_difference(info["pos_share"], info["base_share"], n_unit=gu),
    "enough-groups-dsir": Measurement.exact(len(SEEDS) * len(TARGETS), unit="groups"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
print("controls (all data - arm, nats): " + "; ".join(f"{k} {v}" for k, v in controls.items()))
verdict_table(claim_results)

# %% [markdown]
# Held-out target loss and target share per arm and target (means over seeds), the family and the labels per group,
# and the per-group losses:

# %%
for col in ("loss", "target_share"):
    print(f"{col}:\n" + res.pivot_table(index="arm", columns="target", values=col, aggfunc="mean").round(4).to_string())
print("family and labels, per group (ability = minus bits per character on the target sample):")
print(info[["n_scored", "n_perfect", "n_pos", "pos_share", "neg_share", "base_share", "strength_mean", "ability_min",
            "ability_max", "target_weight_r"]].round(3).to_string())  # fmt: skip
print("per-group held-out losses:")
print(wide.round(4).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
loss_per_arm(axes[0], res, TARGETS)
claim_intervals(axes[1], measurements, bar=0.98, ylabel="loss ratio (geometric mean, 95% CI)",
                title="Claims: PreSelect's (or strength top-k's) loss over the baseline's")  # fmt: skip
fig.tight_layout()
run.save_figure(fig, "preselect")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (the README has the verdicts of both profiles and the per-target tables).
#
# The family's losses find the target: on target chunks the members' loss order follows their ability order, so
# PreSelect's positives are mostly target chunks, and its picks train a clearly lower held-out target loss than random
# chunks or the whole pool for the same tokens (`preselect-beats-random`, reproduced in both profiles). The
# high-strength chunks teach better than random ones with no classifier (`predictive-data-teaches`), and the
# agreement of loss order with ability order beats the loss level itself: a perplexity filter from the same family
# picks easy text of other domains. Against the two baselines that fit the target sample directly, PreSelect does
# not win here: the reference-vs-pool classifier (DCLM's recipe) is about 2% better over 48 groups (not reproduced;
# the gap comes from LibreOffice help, where the family's abilities spread little), and DSIR is within 1-2%
# (inconclusive by design: 152 groups needed). With a single-domain target whose examples the baselines see, "looks
# like the target" is the best rule; the paper's DCLM reference set is not its benchmarks.
