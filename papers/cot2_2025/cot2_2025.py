# %% [markdown]
# # CoT2 (arXiv 2505.23648): continuous chain of thought tracks several traces at once and beats discrete CoT on the minimum non-negative sum
#
# Gozeten, Ildiz, Zhang, Harutyunyan, Rawat & Oymak, *Continuous Chain of Thought Enables Parallel Exploration and
# Reasoning* (arXiv:2505.23648v2), catalog id 176. CoT2 feeds back, at each reasoning step, the softmax-weighted
# mixture of token embeddings instead of one sampled token; continuous supervision (CSFT) fits the softmax at step t
# to the empirical distribution of the tokens of a set of target traces. On the minimum non-negative sum task (MNNS:
# choose signs for m digits so that the signed sum is the smallest non-negative value) the traces are the partial sums
# of every sign pattern. **Claims under test:** (1) a CSFT-trained CoT2 model beats discrete CoT trained on one trace
# (Abstract; Sec. 5); (2) the advantage needs a sufficient embedding dimension (Abstract; Sec. 3-5); (3) the continuous
# state at each step spreads over the reachable partial sums, i.e. tracks the traces in parallel (Abstract; Sec. 3).
#
# **Replicated here (scaled-down):** MNNS with m = 4 digits in 1..5, held-out digit multisets, 2-layer 2-head family
# models of width 16 and 32 trained for the same number of AdamW steps and sequence length by CSFT (CoT2), by
# supervised fine-tuning on one optimal trace (discrete CoT), and, as the trivial control, to answer behind m-1
# filler tokens (no CoT); 20 seeds. The default profile's trained weights ship with the paper (fp16, `checkpoints/`). **Not replicated:** the policy-optimisation stage (GRPO with multi-token or
# Dirichlet sampling), ProntoQA/ProsQA, the theory (see the README).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]  # training seeds: the claims' units
M = 4  # digits per instance (m): m-1 continuous steps, then the answer
HIGH = 5  # digits are drawn from 1..HIGH; every one of the HIGH^M instances is used once
TRAIN_FRAC = 0.8  # share of the digit multisets used for training (the rest is held out, all orderings together)
WIDTHS = [16, 32]  # embedding widths d; CoT2 and discrete CoT are trained at each
REF_WIDTH = 32  # the reference (moderate) width of claims 1 and 3 and of the no-CoT control
NARROW_WIDTH = 16  # the narrow width of claim 2
LAYERS = 2  # transformer layers
HEADS = 2  # attention heads
STEPS = 800  # AdamW steps per model (all methods alike)
BATCH = 128  # instances per step
LR = 0.01  # peak learning rate (warmup 50 steps, cosine to a tenth)
THREADS = 1  # torch threads of training and evaluation
CHECKPOINT_DIR = "checkpoints/default"  # trained weights (fp16), relative to the paper folder (or absolute)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.cot2_2025 import method
from papers.cot2_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm.tasks import min_nonneg_sum
from shared.results import start_run

run = start_run("cot2_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
torch.set_num_threads(THREADS)
task = method.MNNS(m=M, high=HIGH)
instances = task.instances()
PAPER_DIR = Path(method.__file__).parent
CKPT = Path(CHECKPOINT_DIR) if Path(CHECKPOINT_DIR).is_absolute() else PAPER_DIR / CHECKPOINT_DIR

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The answers agree with the shared generator `shared.lm.tasks.min_nonneg_sum` and with hand-computed cases; the
# discrete trace is an optimal sign pattern ending at the answer; the CSFT targets are distributions whose last step
# contains the answer; the three methods see sequences of the same length; the held-out multisets never occur in
# training.

# %% tags=["nbval-check-output"]
a, best = min_nonneg_sum(256, M, HIGH, torch.Generator().manual_seed(0))
assert torch.equal(task.answers(a), best), "answers disagree with shared.lm.tasks.min_nonneg_sum"
assert task.answers(torch.tensor([[1, 2, 3, 4], [5, 5, 5, 1], [5, 1, 1, 1]])).tolist() == [0, 4, 2]
tr = task.trace(a)
assert torch.equal(tr[:, -1], best) and ((tr.diff(dim=1).abs() == a[:, 1:]).all()) and (tr[:, 0].abs() == a[:, 0]).all()
targets = task.reachable(a)
assert torch.allclose(targets.sum(-1), torch.ones(len(a), M, dtype=torch.float64))
assert (targets[torch.arange(len(a)), -1, task.sum_id(best)] > 0).all(), "the answer is a reachable final sum"
assert targets[0, 0, task.sum_id(a[0, 0])] == 0.5 and targets[0, 0, task.sum_id(-a[0, 0])] == 0.5
lengths = {name: make(task, a[:4])["input_ids"].shape[1] + (M - 1) * (name == "cot2")
           for name, make in method.BATCHES.items()}  # fmt: skip
assert set(lengths.values()) == {task.seq_len}, lengths
tr_idx, va_idx = task.split(instances, TRAIN_FRAC, seed=0)
seen = {tuple(sorted(r)) for r in instances[tr_idx].tolist()}
assert not any(tuple(sorted(r)) in seen for r in instances[va_idx].tolist()), "held-out multisets leaked into training"
assert len(tr_idx) + len(va_idx) == HIGH**M
print("answers, traces, targets, sequence lengths and split as specified")

# %% [markdown]
# ## Experiment: CoT2 (CSFT), discrete CoT (one trace) and no CoT, per seed and width
# Per seed: a fresh split of the instances, then one model per method and width, all with the same steps, batch and
# sequence length. Training 100 models is past the 60 s budget, so the weights are stored in fp16 under
# `checkpoints/default/` (keyed by every setting and the engine code): the recorded run trained them, every later run
# evaluates them (delete the folder to retrain). Evaluation rolls each model out on its held-out instances with its own outputs fed back: the
# softmax mixture (CoT2), the greedy token (discrete CoT), filler tokens (no CoT).

# %%
rows = []
for seed in SEEDS:
    tr_idx, va_idx = task.split(instances, TRAIN_FRAC, seed=seed)
    held = instances[va_idx]
    ans = task.answers(held)
    floor = (ans == ans.mode().values).float().mean().item()  # always answering the commonest held-out answer
    for width in WIDTHS:
        for name in method.METHODS:
            if name == "no_cot" and width != REF_WIDTH:
                continue
            model, trained_here = method.train_or_load(CKPT, task, name, instances[tr_idx], hidden=width, layers=LAYERS,
                                                       heads=HEADS, steps=STEPS, batch=BATCH, lr=LR, seed=seed,
                                                       threads=THREADS)  # fmt: skip
            if (seed, width, name) == (SEEDS[0], REF_WIDTH, "cot2"):
                example_model, example_held = model, held  # shown in the plot
            rows.append({"seed": seed, "width": width, "method": name, "floor": floor,
                         "trained_here": trained_here, **method.evaluate(model, task, held, name)})  # fmt: skip
results = pd.DataFrame(rows)

# %%
results.groupby(["width", "method"])[["accuracy", "overlap", "overlap_last", "eff_support", "floor"]].mean()

# %% [markdown]
# ## Paper vs ours

# %%
acc = results.pivot_table(index="seed", columns=["width", "method"], values="accuracy").loc[SEEDS]
ovl = results.pivot_table(index="seed", columns=["width", "method"], values="overlap").loc[SEEDS]
ref, narrow = REF_WIDTH, NARROW_WIDTH
gap_ref = acc[ref, "cot2"] - acc[ref, "discrete"]
gap_narrow = acc[narrow, "cot2"] - acc[narrow, "discrete"]
seeds = {"n_unit": "seeds"}
measurements = {
    "cot2-beats-discrete": Measurement.paired_difference(acc[ref, "cot2"], acc[ref, "discrete"], **seeds),
    "advantage-needs-width": Measurement.paired_difference(gap_ref, gap_narrow, **seeds),
    "tracks-reachable-sums": Measurement.mean(ovl[ref, "cot2"], bounds=(0.0, 1.0), **seeds),
}
controls = {
    "cot2-beats-discrete": Measurement.paired_difference(acc[ref, "cot2"], acc[ref, "no_cot"], **seeds),
    "tracks-reachable-sums": Measurement.paired_difference(ovl[ref, "cot2"], ovl[ref, "discrete"], **seeds),
}
floor = results.groupby("seed").floor.first().loc[SEEDS]
best_mean = max(acc[ref, name].mean() for name in method.METHODS)
checks = {"task-learned": Measurement.exact(best_mean - floor.mean(), n=len(SEEDS), n_unit="seeds")}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
ax = axes[0]
for name, style in [("cot2", "o-"), ("discrete", "s-"), ("no_cot", "^")]:
    m = results[results.method == name].groupby("width").accuracy
    ax.errorbar(m.mean().index, m.mean().values, yerr=m.sem().values, fmt=style, capsize=3, label=name)
ax.axhline(floor.mean(), color="grey", ls=":", label="commonest answer")
ax.set(xlabel="embedding width d", ylabel="held-out answer accuracy", title="MNNS, m = 4, digits 1..5", ylim=(0, 1))
ax.legend(fontsize=8)
ax = axes[1]
ex = example_held[:1]
probs = method.rollout(example_model, task, ex, "cot2")["probs"][0]
target = task.reachable(ex)[0]
sums = np.arange(-task.max_sum, task.max_sum + 1)
for t in range(M - 1):
    ax.bar(
        sums + 0.2 * (t - 1), probs[t, task.sum_id(torch.tensor(sums))].numpy(), width=0.2, label=f"step {t + 1} model"
    )
    ax.plot(sums, target[t, task.sum_id(torch.tensor(sums))].numpy(), "k_", ms=8)
ax.set(xlabel="partial sum", ylabel="probability", xlim=(-task.max_sum - 1, task.max_sum + 1),
       title=f"CoT2 state on digits {ex[0].tolist()} (black: reachable-sum targets)")  # fmt: skip
ax.legend(fontsize=7)
fig.tight_layout()
run.save_figure(fig, "cot2_mnns")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run (recorded, 2026-12-06, session 8):* 20 seeds; MNNS with m = 4 digits in 1..5, about a fifth of the 625
# instances held out per seed (digit multisets never seen in training); 2-layer 2-head models of width 16 and 32; 800
# AdamW steps of 128 instances for every method. Intervals are 95% bootstrap intervals over seeds. The 100 models ship
# in fp16 under `checkpoints/default/`; reruns evaluate them (the `full` profile retrains them all).
#
# **CoT2 beats discrete CoT.** At width 32 the CoT2 roll-out answers 0.81 of the held-out instances, discrete CoT 0.56
# (the majority-answer floor is 0.51): a paired gain of +0.26 [0.18, 0.33], wholly above the 10-point bar:
# *reproduced*. Discrete CoT, trained on a single optimal trace, stays near the floor. A likely reason (not measured
# here): its first token already commits to a sign, which is right only if the model has solved the whole search in one
# forward pass, the failure the paper's parallel search is meant to avoid. The trivial control, the same model trained
# to answer behind three filler tokens (same length and compute), reaches only 0.30, below the floor, so extra
# positions alone do not explain CoT2's accuracy here; that control is undertrained at this budget, which shows that
# answer-only training does not learn MNNS in 800 steps, not that it cannot.
#
# **Width.** At width 16 CoT2 falls to 0.50 while discrete CoT reaches 0.57; the CoT2 minus discrete gap grows from
# -0.07 at width 16 to +0.26 at width 32, a difference of +0.32 [0.23, 0.44]: *reproduced* (the advantage needs a
# sufficient embedding dimension). At width 16 the CoT2 state still follows the targets (overlap 0.91, 0.76 at the
# last continuous step against 0.97 at width 32): the narrow model tracks most of the superposition but cannot read the
# smallest non-negative final sum out of it. Two widths are a coarse test of "governed by the embedding dimension".
#
# **Parallel tracking.** The continuous state after each of the first three digits overlaps the distribution of the
# partial sums of all sign patterns by 0.985 [0.981, 0.987] (1 minus total variation), against 0.29 for the one token
# that discrete CoT commits to: *reproduced*. After three digits the state spreads over about 6.5 sums (exp of its
# entropy; the targets have up to 8 distinct sums). Part of this is what CSFT trains for, but it is measured on
# held-out instances and on the model's own roll-out, where each step is fed the previous step's mixture and no
# target.
#
# **Design history.** Sizing pilots (seeds 100-101, not in the record) put digits 1..9 and 300-600 steps out of reach
# of every method in the budget, so the task uses digits 1..5; one exploratory run at 500 steps (seeds 0-4, before the
# pre-registration) had CoT2 at the edge of taking off, which is why the pre-registered run trains 800 steps. The first
# recorded default had 5 seeds; its stability rerun (seeds 5-9) moved 2 of 3 verdicts, so the default went to 10 seeds,
# where `cot2-beats-discrete` sat on its bar (lower bound 0.097 against 0.10; seeds 10-19 gave *reproduced*), and then
# to 20 seeds (each step pre-registered before its run; the bars and the task never changed). Tolerances are
# provisional (declared in `claims.py`); the rerun contract compares evaluations of the shipped weights.
#
# **Stability (seeds 20-39, `papers stability`, 100 models trained afresh).** No verdict moved (0 of 3): CoT2 beats
# discrete CoT by +0.33 [0.27, 0.40], the width effect is +0.43 [0.30, 0.54], the tracking overlap 0.987 [0.985,
# 0.988]. The effect sizes are stable to within their intervals; what 5 and 10 seeds could not settle was only whether
# the gain's interval clears the 10-point bar, which it does with room at 20.
