# %% [markdown]
# # Active-dormant attention heads (arXiv:2410.13835): attention sinks, value-state drains and residual-state peaks in a Bigram-Backcopy transformer
#
# Guo, Pai, Bai, Jiao, Jordan & Mei, *Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token
# Phenomena in LLMs* (2024), catalog id 57.
#
# **The task.** A Bigram-Backcopy (BB) sequence starts with BOS and follows a fixed character-bigram Markov chain,
# except right after a *trigger* (one of the $k = 3$ most frequent characters), where the next token copies the token
# before the trigger. A transformer solves it with an attention head that copies the previous token after a trigger and
# must do nothing otherwise.
#
# **Claims under test** (Sec. 2 and 3 of the paper, reported there as figures):
# 1. *Active-dormant head* (1 layer): on non-trigger tokens the head is dormant and attends to BOS (an attention sink);
#    after a trigger it is active and attends to the previous token.
# 2. *Value-state drain*: the BOS value state has a much smaller norm than the others.
# 3. *Mutual reinforcement* (Fig. 4(b)): during training the BOS attention logit grows while the BOS value norm shrinks.
# 4. *Residual-state peak* (3 layers): the BOS residual state has a much larger norm than the others.
# 5. *Interventions*: ReLU attention instead of softmax removes the sink and the drain; SGD instead of Adam removes the
#    residual peak.
#
# **Replicated here:** all five on the BB task, scaled down (width 32, sequences of 32 tokens, a few hundred steps,
# 8 seeds of the 1-layer model, 12 of the ReLU model and 5 of the 3-layer models by default; the `full` profile
# trains 12, 12 and 10 seeds 2.5-40 times longer). The models, the task and the
# trainer are the project's shared ones (`shared.lm.family`, `shared.lm.tasks`, `shared.lm.trainer`). The bigram
# chain is estimated from the King James Bible instead of tiny-Shakespeare. **Not replicated:** the pretrained-LLM
# half of the paper (active-dormant heads in Llama-2 and OLMo, OLMo's pretraining checkpoints) and the theorems' exact
# rates.
#
# **Power preconditions** (issue 14, item 3): each claim needs a minimum number of seeds entering it
# (`claims.MIN_SEEDS`), derived in `claims.py` from the per-seed spread of the committed `full` record and the
# estimate's distance to its nearest bar; the ReLU claims count the seeds whose ReLU model learned the copy. The
# default says *inconclusive* on `dormant-sink` (579 seeds), `mutual-reinforcement` (192) and `sgd-no-peak` (6) by
# precondition; the `full` meets every minimum but those of `dormant-sink` and `mutual-reinforcement`, out of reach.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]  # independent training runs (initialisation and data): the units; the 1-layer
# softmax model and its BOS- and placebo-clamped runs train on all of them (claims.MIN_SEEDS: how many each claim needs)
N_SEEDS_3L = 5  # the 3-layer models (Adam and SGD) train on the first N_SEEDS_3L of SEEDS
RELU_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]  # seeds of the 1-layer ReLU model (its claims count those that
# learned the copy: at least 8 of them for relu-no-drain, so two or three seeds may fail)
N_VERSES = 5000  # KJV verses the bigram chain is estimated from
K_TRIGGERS = 3  # trigger tokens: the k most frequent characters (the paper's k = 3)
DIM = 32  # residual width (paper: 256)
LENGTH = 32  # tokens after BOS per sequence (paper: 256)
BATCH = 32  # fresh sequences per step (paper: 512)
LR = 0.01  # AdamW step size (paper: 3e-4 over 10k-100k steps)
SGD_LR = 0.03  # SGD step size, momentum 0.9 (the paper's SGD setting)
STEPS_1L = 400  # training steps of the plain 1-layer softmax model
STEPS_RELU = 400  # training steps of the 1-layer ReLU model (250 left a seed without the copy)
CLAMP_STEPS = 160  # steps of the BOS-clamped and placebo-clamped runs (a multiple of LOG_EVERY), compared with the
# plain run's checkpoints up to the same step (constant step size, no warmup, the same data: the same first steps)
STEPS_3L = 40  # training steps of the 3-layer models (Adam and SGD): a token measurement, the `full` profile decides
LOG_EVERY = 20  # steps between dynamics checkpoints of the 1-layer softmax model
PROBE = 64  # fixed probe sequences every statistic is measured on

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from papers.active_dormant_2024.claims import CLAIMS, ENOUGH_SEEDS, RELU_COPY_BAR
from papers.active_dormant_2024.method import BBConfig, extreme_token_stats, ratio_of_means, split_loss, train_bb
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import data_path, read_jsonl
from shared.lm.family import trace
from shared.lm.tasks import BigramBackcopy
from shared.lm.trainer import TrainingDiverged
from shared.results import start_run

run = start_run("active_dormant_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
verses = read_jsonl(data_path("text/kjv/verses.jsonl"))[:N_VERSES]
task = BigramBackcopy.from_text("\n".join(v["text"] for v in verses), k=K_TRIGGERS)
probe = task.sample(PROBE, LENGTH, torch.Generator().manual_seed(12345))
placebo = int(probe[:, 1].mode().values)  # the placebo token of the clamp control: the most frequent first character

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The probe sequences obey the BB rules (copies after triggers, allowed bigram transitions elsewhere), and an untrained
# model's softmax attention rows sum to one and its loss is near $\log V$. The Bayes-optimal loss on non-trigger
# positions is the bigram chain's conditional entropy; on trigger positions it is 0.

# %% tags=["nbval-check-output"]
body = probe[:, 1:]
trig = task.is_trigger(body[:, 1:-1])
assert torch.equal(body[:, 2:][trig], body[:, :-2][trig]), "a copy follows every trigger"
assert (task.transition[body[:, 1:-1][~trig], body[:, 2:][~trig]] > 0).all(), "bigram steps elsewhere"
untrained, hist0 = train_bb(task, BBConfig(dim=DIM, length=LENGTH, steps=0), seed=0, probe=probe)
assert abs(hist0[0]["loss"] - np.log(task.vocab + 1)) < 0.5
traces = trace(untrained, probe[:, :-1])
torch.testing.assert_close(traces[0]["weights"].sum(-1), torch.ones(PROBE, 1, LENGTH))
print("probe sequences follow the BB rules; untrained model: attention rows sum to 1, loss near log V")

# %%
print(f"vocabulary {task.vocab + 1} (with BOS), triggers {[task.itos[i] for i in task.triggers]}, "
      f"trigger share of positions {task.is_trigger(probe[:, 1:-1]).float().mean():.3f}, "
      f"bigram optimum {split_loss(untrained, task, probe)['bigram_optimum']:.3f} nats")  # fmt: skip

# %% [markdown]
# ## Experiment
# Six configurations, each trained once per seed on fresh BB batches: the 1-layer softmax model with Adam (the paper's
# core setting, with its dynamics logged); the same model trained for `CLAMP_STEPS` steps with its BOS value-state norm
# held at the others' mean after every optimiser step (the mutual-reinforcement intervention: the value state cannot
# drain) and, as the trivial control, with the same clamp on a placebo token; the same model with ReLU attention (on
# `RELU_SEEDS`); and a 3-layer softmax model trained with Adam and with SGD. Every statistic is measured on the same
# fixed probe sequences. A run whose loss turns NaN (one run of the `full` profile did on an Intel AVX-512 host, not
# on the AMD host of the earlier record) is reported below and left out of every claim it enters; a claim still
# needs at least 5 seeds.

# %%
configs = {
    "1L softmax Adam": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_1L, lr=LR,
                                log_every=LOG_EVERY),
    "1L softmax Adam, BOS value clamped": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=CLAMP_STEPS,
                                                   lr=LR, log_every=LOG_EVERY, clamp="bos"),
    "1L softmax Adam, placebo clamped": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=CLAMP_STEPS,
                                                 lr=LR, log_every=LOG_EVERY, clamp="placebo"),
    "1L ReLU Adam": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_RELU, lr=LR,
                             attention="relu", log_every=STEPS_RELU),
    "3L softmax Adam": BBConfig(layers=3, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_3L, lr=LR,
                                log_every=STEPS_3L),
    "3L softmax SGD": BBConfig(layers=3, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_3L, lr=SGD_LR,
                               optimizer="sgd", log_every=STEPS_3L),
}  # fmt: skip
torch.set_num_threads(1)  # models this small train fastest on one thread, and then no runner setting moves a digit
rows, dynamics, models, diverged = [], [], {}, []
for name, cfg in configs.items():
    for seed in RELU_SEEDS if name == "1L ReLU Adam" else SEEDS[:N_SEEDS_3L] if name.startswith("3L") else SEEDS:
        try:
            model, hist = train_bb(task, cfg, seed, probe, placebo_token=placebo)
        except TrainingDiverged as e:  # a NaN loss: the run is reported and left out of every claim it enters
            diverged.append(f"{name}, seed {seed}: {str(e).split('.')[0]}")
            continue
        models[name, seed] = model
        if name.startswith("1L softmax"):
            dynamics += [{"model": name, "seed": seed, **r} for r in hist]
        losses = split_loss(model, task, probe)
        for r in extreme_token_stats(model, task, probe[:, :-1]):
            rows.append({"model": name, "seed": seed, **r, **losses})
stats_df = pd.DataFrame(rows)
dyn = pd.DataFrame(dynamics)
print("runs that diverged (left out):", "; ".join(diverged) or "none")
summary_cols = ["sink_nontrigger", "sink_trigger", "prev_trigger", "sink_share_nontrigger", "value_ratio",
                "residual_ratio", "copy_loss", "bigram_loss"]  # fmt: skip

# %% [markdown]
# Per model and layer, mean over seeds: attention on BOS from non-trigger and trigger queries, attention on the
# previous token from trigger queries, the BOS share of the attention mass (differs from the weight only for ReLU),
# the BOS/other norm ratios of value and residual states, and the losses at trigger (copy) and other (bigram) positions.

# %%
stats_df.groupby(["model", "layer"])[summary_cols].mean().round(3)

# %% [markdown]
# ## Paper vs ours

# %%
one = stats_df[(stats_df.model == "1L softmax Adam")].set_index("seed")
relu = stats_df[(stats_df.model == "1L ReLU Adam")].set_index("seed")
# the ReLU claims are judged over the seeds whose ReLU model learned the copy (per-seed copy loss at most
# claims.RELU_COPY_BAR); how many did is their power precondition (claims.MIN_SEEDS)
learned = relu.copy_loss <= RELU_COPY_BAR
relu_ok = relu[learned] if learned.any() else relu  # none learned: the precondition fails, the value is not judged
print(f"ReLU seeds that learned the copy: {int(learned.sum())} of {len(relu)}"
      + (f" (not: seeds {', '.join(map(str, relu.index[~learned]))})" if (~learned).any() else ""))
peak = stats_df.groupby(["model", "seed"]).residual_ratio.max()
peaks = peak.unstack("model")[["3L softmax Adam", "3L softmax SGD"]].dropna()  # seeds with both optimisers
# mutual reinforcement: per seed, the mean BOS logit gap over the checkpoints up to CLAMP_STEPS (step 0 excluded)
window = dyn[(dyn.step > 0) & (dyn.step <= CLAMP_STEPS)]
growth = window.groupby(["model", "seed"]).logit_gap.mean().unstack("model").dropna()  # seeds with all three arms
left = growth["1L softmax Adam, BOS value clamped"] / growth["1L softmax Adam"]  # per-seed share left (descriptive)
left_placebo = growth["1L softmax Adam, placebo clamped"] / growth["1L softmax Adam"]
clamped = stats_df[stats_df.model == "1L softmax Adam, BOS value clamped"].value_ratio
assert clamped.between(0.9, 1.1).all(), "the clamp holds the BOS value norm at the others' mean"
plain = dyn[dyn.model == "1L softmax Adam"]
rho = plain.groupby("seed").apply(lambda g: stats.spearmanr(g.logit_gap, g.value_ratio).statistic,
                                  include_groups=False)  # the v1 statistic, descriptive only (not a claim)
weight = {"n_unit": "seeds", "bounds": (0.0, 1.0)}  # attention weights and shares
ratio = {"n_unit": "seeds", "bounds": (0.0, float("inf"))}  # norm ratios
measurements = {
    "dormant-sink": Measurement.mean(one.sink_nontrigger, **weight),
    "active-copy": Measurement.mean(one.prev_trigger, **weight),
    "value-drain": Measurement.mean(one.value_ratio, **ratio),
    # the ratio of the mean gaps (clamped over plain), bootstrapping seeds as (clamped, plain) pairs: defined when a
    # clamped run's gap is not positive (claims.py, amendment of the third pass)
    "mutual-reinforcement": Measurement.bootstrap(
        list(zip(growth["1L softmax Adam, BOS value clamped"], growth["1L softmax Adam"], strict=True)),
        ratio_of_means, n_unit="seeds",
    ),
    "residual-peak": Measurement.mean(peak["3L softmax Adam"], **ratio),
    "relu-no-sink": Measurement.mean(relu_ok.sink_share_nontrigger, **weight),
    "relu-no-drain": Measurement.mean(relu_ok.value_ratio, **ratio),
    "sgd-no-peak": Measurement.ratio(*peaks.T.values, n_unit="seeds"),
}
checks = {
    "adam-has-peak": Measurement.mean(peak["3L softmax Adam"], **ratio),
    "sink-grows": Measurement.mean(growth["1L softmax Adam"], n_unit="seeds"),
}
# the power preconditions (claims.MIN_SEEDS): the number of seeds that enter each claim (a diverged run's seed does not)
n_seeds = {"dormant-sink": len(one), "active-copy": len(one), "value-drain": len(one),
           "mutual-reinforcement": len(growth), "residual-peak": int(peak["3L softmax Adam"].count()),
           "relu-no-sink": int(learned.sum()), "relu-no-drain": int(learned.sum()), "sgd-no-peak": len(peaks)}  # fmt: skip
checks.update({p.id: Measurement.exact(n_seeds[cid], n_unit="seeds") for cid, p in ENOUGH_SEEDS.items()})
# control margin: placebo-clamped minus BOS-clamped mean logit gap, per seed (logit units; > 0: clamping BOS removed
# more of the sink's growth than clamping the placebo)
controls = {"mutual-reinforcement": Measurement.paired_difference(
    growth["1L softmax Adam, placebo clamped"], growth["1L softmax Adam, BOS value clamped"], n_unit="seeds")}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# The per-seed values behind the intervals (each row one training seed).

# %%
pd.DataFrame({"sink (1L)": one.sink_nontrigger, "copy (1L)": one.prev_trigger, "value ratio (1L)": one.value_ratio,
              "gap plain": growth["1L softmax Adam"], "growth left (BOS clamp)": left,
              "growth left (placebo)": left_placebo, "rho (v1, descriptive)": rho, "peak 3L Adam": peak["3L softmax Adam"], "peak 3L SGD": peak["3L softmax SGD"],
              "ReLU sink share": relu.sink_share_nontrigger, "ReLU value ratio": relu.value_ratio,
              "ReLU copy loss": relu.copy_loss, "ReLU learned the copy": learned}).round(3)  # fmt: skip

# %% [markdown]
# ## Plots
# Left: the 1-layer head's attention on one probe sequence: triggers (marked on the axis) send their query to the
# previous token, all other queries go to BOS. Middle: the mutual-reinforcement dynamics, mean over seeds, with the
# BOS logit gap of the runs whose BOS (dotted) or placebo (dash-dotted) value norm was clamped. Right: the
# three extreme-token statistics for the four configurations.

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 5))
ax = axes[0]
seq = probe[0, :-1]
traces = trace(models["1L softmax Adam", min(one.index)], seq.view(1, -1))
ax.imshow(traces[0]["weights"][0, 0].numpy(), cmap="viridis", vmin=0, vmax=1)
labels = ["BOS" if int(t) == task.bos else repr(task.itos[int(t)])[1:-1] for t in seq]
ax.set_xticks(range(len(seq)), labels, fontsize=6, rotation=90)
ax.set_yticks(range(len(seq)), labels, fontsize=6)
for tick, t in zip(ax.get_yticklabels(), seq, strict=True):
    tick.set_color("red" if int(t) in task.triggers else "black")
ax.set(xlabel="key", ylabel="query (red: trigger)", title="1-layer head: active after triggers, dormant on BOS")

ax = axes[1]
mean = plain.groupby("step")[["logit_gap", "value_ratio", "sink_nontrigger"]].mean()
ax.plot(mean.index, mean.logit_gap, color="C0", label="BOS logit gap (non-trigger queries)")
for arm, ls in (("BOS value clamped", ":"), ("placebo clamped", "-.")):
    arm_mean = dyn[dyn.model == f"1L softmax Adam, {arm}"].groupby("step").logit_gap.mean()
    ax.plot(arm_mean.index, arm_mean, color="C0", ls=ls, label=f"BOS logit gap, {arm}")
ax.set(xlabel="training step", ylabel="BOS logit - mean other logit", title="Mutual reinforcement (1 layer, Adam)")
ax2 = ax.twinx()
ax2.plot(mean.index, mean.value_ratio, color="C3", label="BOS value norm / others")
ax2.plot(mean.index, mean.sink_nontrigger, color="C2", ls="--", label="attention on BOS (non-trigger)")
ax2.set(ylabel="ratio / attention weight", ylim=(0, 1.3))
handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
ax.legend(handles=handles, fontsize=8, loc="center right")

ax = axes[2]
agg = pd.DataFrame({"attention sink (layer 0)": stats_df[stats_df.layer == 0].groupby("model").sink_share_nontrigger.mean(),
                    "BOS value ratio (layer 0)": stats_df[stats_df.layer == 0].groupby("model").value_ratio.mean(),
                    "BOS residual peak (max layer)": peak.groupby("model").mean()}).loc[
    ["1L softmax Adam", "1L ReLU Adam", "3L softmax Adam", "3L softmax SGD"]]  # fmt: skip
x = np.arange(len(agg))
for i, col in enumerate(agg.columns):
    ax.bar(x + (i - 1) * 0.27, agg[col], width=0.27, label=col)
ax.axhline(1.0, color="gray", lw=0.8)
ax.set_xticks(x, agg.index, fontsize=8)
ax.set(ylabel="ratio / share", title="Extreme-token statistics by configuration")
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "active_dormant")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# The numbers of this run are in the verdict table and the per-seed table above; the README gives them for both
# profiles (`results/default.json`, `results/full.json`), with the stability checks. This section says what the design
# can and cannot show.
#
# **Issue 14.** `mutual-reinforcement` is no longer a rank correlation of two trends (which any two monotone curves
# pass) but an intervention that can fail: the 1-layer model is trained again from the same seed and data with its BOS
# value-state norm held at the others' mean after every optimiser step, and the claim is the share of the plain run's
# BOS logit-gap growth that is left at equal steps (a clamp that changes nothing gives 1). A placebo clamp on a real
# character is the trivial control. The paper states the mechanism in its abstract ("Our theoretical analysis of the
# training dynamics reveals that these phenomena are driven by a mutual reinforcement mechanism", arXiv:2410.13835v2)
# without a number; the bar (at most half of the growth left) is ours.
#
# **The default profile's budget (issue 14, second pass).** Two verdicts of the 5-seed default were fragile: the sink
# on BOS sat on its 0.5 partial bar (partially reproduced on one CPU code path, inconclusive on another), and
# `mutual-reinforcement` moved from not reproduced to inconclusive under seeds 5-9. Both are properties of the 1-layer
# model, whose seeds differ a lot (the sink after 400 steps ranges from about 0.4 to 0.9 over seeds; more steps raise
# its mean only slowly, about +0.03 per 300 steps in a pilot on seeds 100-109, while the spread stays). So the default
# now spends its time on seeds of the 1-layer model and its two clamped runs (12 instead of 5), and trims the parts
# whose claims only the `full` profile can decide: the 3-layer models train 40 steps on 5 seeds (a token measurement;
# they have not learned the copy yet, so their residual ratio says nothing about a peak) and the ReLU model keeps its
# minimum of 5 seeds x 400 steps. `mutual-reinforcement` became a geometric mean of the per-seed shares with a
# log-scale interval (the arithmetic mean let one seed with a share of 1.4-2.3 stretch the interval); in the third
# pass a ratio of the mean gaps over seed pairs, since a clamped run can end with no growth at all (a non-positive
# gap has no log share), with the placebo margin as a per-seed difference of gaps.
#
# **Power preconditions (issue 14, third pass).** Even 12 seeds left `dormant-sink` and both ReLU claims moving with
# the seed set, and the host change moved two verdicts of the 10-seed full. Each claim now needs a pre-registered
# number of seeds (`claims.MIN_SEEDS`, from the spread of the 10-seed full record and its estimate's distance to the
# nearest bar: 579 for `dormant-sink`, whose full estimate 0.8155 sits on the 0.8 bar; 192 for
# `mutual-reinforcement`, 0.74 as a ratio of means against the 0.8 bar; 8 for `relu-no-drain`; 5-6 for the rest), so a profile too small to decide a claim says so on any seeds. The default
# therefore moved its budget from the 1-layer seeds (8 instead of 12: its two knife-edge claims cannot be decided in
# any of our budgets) to the ReLU model (12 seeds instead of 5), and the ReLU claims are judged over the seeds whose model
# learned the copy, their number being the precondition, instead of on a mean copy loss that one failed seed decided.
#
# **What the design can show.** The active half of the mechanism (attention on the previous token after triggers)
# forms within a few hundred steps. The dormant half forms slowly at this scale: non-trigger queries split their
# attention between BOS and a few other keys (secondary sinks, visible in the attention plot), and the value drain is
# still under way. The clamp test compares the BOS logit's growth with and without a drained BOS value state over the
# first `CLAMP_STEPS` steps; a share near 1 means the logit grows whether or not the value can drain. Two readings stay
# open whatever the share: the clamp fixes only the norm, so a model can still mute BOS by turning its value into
# directions the output projection ignores; and the other direction of the mechanism (hold the logit, does the value
# still drain?) is not tested. The v1 statistic is shown for reference in the per-seed table.
#
# **Residual peak and interventions.** In the default the 3-layer models are a token measurement, so `residual-peak`
# and `sgd-no-peak` (which needs an Adam peak first, its precondition) are decided by the `full` profile only. ReLU
# attention is judged over the seeds whose ReLU model learned the copy (at least 5 of them for the sink, 8 for the
# drain).
#
# **How firm.** Training is pinned to one thread, so a re-execution on the same machine reproduces every value. The
# tolerances were measured on the AVX2 code path against the default one with the same seeds (at most 7%), on the
# 5-seed design; with more seeds a mean moves less. The stability checks (other seed sets) are reported in the README.
