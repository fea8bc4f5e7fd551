# %% [markdown]
# # Dual Process Learning (arXiv:2406.00053): structural in-context learning is transient; forgetting the embeddings keeps it
#
# Catalog id 132 (Anand, Lepori, Merullo & Pavlick, 2024). **Claims under test** (synthetic part-of-speech task, Secs.
# 3-5 of v1; abstract of v3): 1. structural in-context learning (ICL: answering for never-seen tokens from sentence
# structure) appears early in training and 2. then fades 3. as the in-weights solution (IWL) wins for frequent tokens;
# 4. active forgetting (re-initialising the token embeddings every k steps) keeps structural ICL 5. at the cost of IWL;
# 6.-7. temporary forgetting (resets only during the first N steps) keeps ICL for unseen tokens while frequent tokens
# are answered in weights: a dual process.
#
# **Replicated here:** the paper's toy task, scaled down: tiny causal decoders from `shared.lm` trained by the shared
# trainer, 5 seeds x 5 conditions (vanilla, active and temporary forgetting, the random-label control and a forced
# positive control),
# probed during training through the trainer's callback. **Not replicated:** the naturalistic experiments (MultiBERTs
# and Pythia checkpoints on POS/NER probes, GPT-2 fine-tuning with probabilistic temporary forgetting): see the README.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # independent units: one seed = initial weights, data order and probe sets of 4 models
STEPS = 300  # optimiser steps per model
BATCH = 64  # sequences per step
LR = 3e-3  # AdamW learning rate (constant after WARMUP)
WARMUP = 20  # linear warmup steps
WEIGHT_DECAY = 0.01  # as the official synthetic runs
FORGET_EVERY = 3  # k: steps between embedding resets (active and temporary forgetting; set by pilot 3)
TEMPORARY_STOP = 100  # N: last step at which temporary forgetting resets
PROBE_EVERY = 20  # steps between probes (the callback)
PROBE_N = 256  # queries per probe set
PER_CLASS = 64  # nouns (= adjectives)
UNSEEN = 32  # token ids never seen in training
ALPHA = 1.5  # Zipf exponent of token ranks (the official default)
AMBIGUOUS = 0.1  # share of each class that may take the other role (the official prop_amb)
HIDDEN = 32  # model width
LAYERS = 2  # transformer blocks
HEADS = 2  # attention heads
POSITION = "rope"  # position scheme of shared.lm.family
QK_SOURCE = "hidden"  # queries and keys from the hidden state (or "embeddings")
TRAIN_THREADS = 1  # torch threads for training (one core)

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd

from papers.dual_process_2024 import method
from papers.dual_process_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run

run = start_run("dual_process_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
TASK = method.PosTask(per_class=PER_CLASS, unseen=UNSEEN, alpha=ALPHA, ambiguous=AMBIGUOUS)
CFG = method.RunConfig(steps=STEPS, batch=BATCH, lr=LR, warmup=WARMUP, weight_decay=WEIGHT_DECAY,
                       forget_every=FORGET_EVERY, temporary_stop=TEMPORARY_STOP, probe_every=PROBE_EVERY,
                       probe_n=PROBE_N, hidden=HIDDEN, layers=LAYERS, heads=HEADS, position=POSITION,
                       qk_source=QK_SOURCE, task=TASK)  # fmt: skip

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The task's targets are the structural answer; unseen tokens never occur in training; the conflict probes put every
# head token in the other class's slot; the random-label task agrees with structure only by chance; a reset redraws the
# embedding matrix and nothing else.

# %% tags=["nbval-check-output"]
import torch  # noqa: E402

gen = torch.Generator().manual_seed(0)
batch = TASK.sample(2048, gen)
ids, tgt = batch["input_ids"], batch["targets"][:, -1]


def structural_answer(ids):
    cop = (ids[:, :3] == TASK.cop).float().argmax(1)
    return torch.where(ids[:, 3] == ids[torch.arange(len(ids)), cop + 1], TASK.adj_label, TASK.noun_label)


assert torch.equal(tgt, structural_answer(ids))
assert not torch.isin(ids, TASK.unseen_ids).any()
sets = TASK.probe_sets(PROBE_N, SEEDS[0])
q = sets["conflict"]["input_ids"][:, 3]
assert ((q >= TASK.per_class) == ~sets["conflict"]["query_is_adj_slot"]).all()

rand = TASK.sample(4096, gen, labels="random")
assert abs((rand["targets"][:, -1] == structural_answer(rand["input_ids"])).float().mean().item() - 0.5) < 0.05
probe_model = method.make_model(method.make_spec(CFG), seed=0)
before = {n: p.detach().clone() for n, p in probe_model.named_parameters()}
method.EmbeddingForgetting(probe_model, every=FORGET_EVERY, stop=None, seed=0)(FORGET_EVERY)
changed = [n for n, p in probe_model.named_parameters() if not torch.equal(before[n], p)]
assert changed == ["model.embed_tokens.weight"], changed
print("task targets = structure; unseen tokens held out; conflict probes swap roles; a reset touches only embeddings")

# %% [markdown]
# ## Experiment
# One seed gives four models with the same initial weights and probe sets (the first three also the same data
# stream): vanilla, active forgetting (input embeddings redrawn every `FORGET_EVERY` steps, with their AdamW moments
# zeroed), temporary forgetting (the same until step `TEMPORARY_STOP`) and the random-label control. The trainer's
# `callback(step, row)` probes every `PROBE_EVERY` steps (before a reset due at that step) and then applies the reset.

# %%
t0 = time.perf_counter()
rows = []
for seed in SEEDS:
    for condition in method.CONDITIONS:
        out = method.run_condition(condition, seed, CFG, threads=TRAIN_THREADS)
        for r in out["probes"]:
            rows.append({"seed": seed, "condition": condition, **r})
curves = pd.DataFrame(rows)
train_seconds = time.perf_counter() - t0
last = curves[curves.step == STEPS].set_index(["condition", "seed"])
peak = curves[curves.step > 0].groupby(["condition", "seed"]).unseen_acc.max()
summary = last[["unseen_acc", "head_acc", "tail_acc", "conflict_iwl"]].assign(peak_unseen=peak)
summary.groupby("condition").mean()

# %% [markdown]
# ## Paper vs ours


# %%
def per_seed(table, condition, column):
    return [float(table.loc[(condition, s), column]) for s in SEEDS]


share = dict(n_unit="seeds", bounds=(0.0, 1.0))
van_peak, rnd_peak = per_seed(summary, "vanilla", "peak_unseen"), per_seed(summary, "random_label", "peak_unseen")
van_final, act_final = per_seed(summary, "vanilla", "unseen_acc"), per_seed(summary, "active", "unseen_acc")
tmp_final = per_seed(summary, "temporary", "unseen_acc")
van_iwl, act_iwl = per_seed(summary, "vanilla", "conflict_iwl"), per_seed(summary, "active", "conflict_iwl")
tmp_iwl = per_seed(summary, "temporary", "conflict_iwl")
measurements = {
    "icl-emerges": Measurement.mean(van_peak, **share),
    "icl-transient": Measurement.paired_difference(van_peak, van_final, n_unit="seeds"),
    "iwl-wins": Measurement.mean(van_iwl, **share),
    "active-keeps-icl": Measurement.mean(act_final, **share),
    "active-costs-iwl": Measurement.mean(act_iwl, **share),
    "temporary-keeps-icl": Measurement.mean(tmp_final, **share),
    "temporary-iwl-head": Measurement.mean(tmp_iwl, **share),
}
controls = {
    "icl-emerges": Measurement.paired_difference(van_peak, rnd_peak, n_unit="seeds"),
    "active-keeps-icl": Measurement.paired_difference(act_final, van_final, n_unit="seeds"),
    "active-costs-iwl": Measurement.paired_difference(van_iwl, act_iwl, n_unit="seeds"),
    "temporary-keeps-icl": Measurement.paired_difference(tmp_final, van_final, n_unit="seeds"),
    "temporary-iwl-head": Measurement.paired_difference(tmp_iwl, act_iwl, n_unit="seeds"),
}
checks = {
    "forced-icl-learnable": Measurement.mean(per_seed(summary, "forced", "unseen_acc"), **share),
    "vanilla-learned-task": Measurement.mean(per_seed(summary, "vanilla", "head_acc"), **share),
    "vanilla-icl-appeared": Measurement.mean(van_peak, **share),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
colors = {"vanilla": "C0", "active": "C3", "temporary": "C2", "random_label": "0.6", "forced": "C4"}
mean_curves = curves.groupby(["condition", "step"])[["unseen_acc", "conflict_iwl"]].mean().reset_index()
for condition, g in mean_curves.groupby("condition"):
    axes[0].plot(g.step, g.unseen_acc, color=colors[condition], label=condition)
    axes[1].plot(g.step, g.conflict_iwl, color=colors[condition], label=condition)
for ax, title in zip(axes, ["structural ICL: accuracy on unseen tokens", "IWL: conflict queries answered by class"]):
    ax.axhline(0.5, color="k", lw=0.5, ls=":")
    ax.axvline(TEMPORARY_STOP, color="C2", lw=0.5, ls="--")
    ax.set(title=title, xlabel="step", ylim=(0, 1.02))
axes[0].legend(loc="lower left")
run.save_figure(fig, "dynamics")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# **The setup cannot show structural ICL at this scale.** The positive control fails: with the embeddings redrawn after
# every step, where only structure can answer, the 5 forced models stay at chance on unseen tokens (0.52) and at chance
# loss. A 2-layer d = 32 decoder does not learn the identity-matching circuit the structural answer needs within 300
# steps, so the five claims about structural ICL (its early appearance and fade, and what active and temporary
# forgetting do to it) are *inconclusive*, not refuted: vanilla's unseen-token accuracy peaks at 0.56 and ends near 0.5,
# active and temporary forgetting end at 0.52 and 0.52. What would decide them: a model and budget for which the forced
# control passes (the pilot found no structural ICL at k = 1 or 3 either; the paper trains 6-layer models ~62k steps).
#
# **The in-weights side reproduces.** Vanilla models answer every conflict query by the token's class (IWL share 1.0),
# and temporary forgetting hands the head tokens back to IWL within ~20 steps of the last reset (1.0, against 0.71 for
# active forgetting, which keeps relearning the head embeddings between resets every 3 steps). Without structural ICL,
# that is only the in-weights half of the paper's dual process. Seeds 5-9 (run on the family before the fix of
# 2026-12-06) gave the same seven verdicts. The default re-run on the fixed family (token 0 no longer frozen at zero;
# the SwiGLU MLP is untouched by the initialiser fix) kept all seven verdicts; only the values above moved a little.
#
# **Full run** (10 seeds x 1,500 steps, temporary stop at step 500; 540 s, fixed family). The same seven verdicts.
# Five times the steps still leave the forced control at 0.53 [0.49, 0.60] on unseen tokens (bar 0.8), so the five
# ICL claims stay *inconclusive*: vanilla peaks at 0.58 and drops by 0.06, active forgetting ends at 0.65 with a
# conflict IWL share of 0.45, temporary at 0.56. `iwl-wins` (1.0) and `temporary-iwl-head` (0.99 [0.96, 1.0], margin
# 0.54 over active forgetting) stay *reproduced*. Longer training does not bring structural ICL to this model.
