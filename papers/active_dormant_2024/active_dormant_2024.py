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
# 3 seeds by default; the `full` profile trains 5-8 times longer with 4 seeds). The bigram chain is estimated
# from the King James Bible instead of tiny-Shakespeare. **Not replicated:** the pretrained-LLM half of the paper
# (active-dormant heads in Llama-2 and OLMo, OLMo's pretraining checkpoints) and the theorems' exact rates.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # independent training runs (initialisation and data) per configuration: the units
RELU_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # seeds of the 1-layer ReLU model (cheap; its BOS share is 0 or ~0.1)
N_VERSES = 5000  # KJV verses the bigram chain is estimated from
K_TRIGGERS = 3  # trigger tokens: the k most frequent characters (the paper's k = 3)
DIM = 32  # residual width (paper: 256)
LENGTH = 32  # tokens after BOS per sequence (paper: 256)
BATCH = 32  # fresh sequences per step (paper: 512)
LR = 0.01  # AdamW step size (paper: 3e-4 over 10k-100k steps)
SGD_LR = 0.03  # SGD step size, momentum 0.9 (the paper's SGD setting)
STEPS_1L = 400  # training steps of the 1-layer models (softmax and ReLU)
STEPS_3L = 250  # training steps of the 3-layer models (Adam and SGD)
LOG_EVERY = 20  # steps between dynamics checkpoints of the 1-layer softmax model
PROBE = 64  # fixed probe sequences every statistic is measured on

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from papers.active_dormant_2024.claims import CLAIMS
from papers.active_dormant_2024.method import BBConfig, extreme_token_stats, split_loss, train_bb
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import data_path, read_jsonl
from shared.lm.family import trace
from shared.lm.tasks import BigramBackcopy
from shared.results import start_run

run = start_run("active_dormant_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
verses = read_jsonl(data_path("text/kjv/verses.jsonl"))[:N_VERSES]
task = BigramBackcopy.from_text("\n".join(v["text"] for v in verses), k=K_TRIGGERS)
probe = task.sample(PROBE, LENGTH, torch.Generator().manual_seed(12345))

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
# Four configurations, each trained once per seed on fresh BB batches: the 1-layer softmax model with Adam (the
# paper's core setting, with its dynamics logged), the same with ReLU attention (on `RELU_SEEDS`: its BOS share is 0 in
# most seeds and about 0.1 in some, so it needs more of them), and a 3-layer softmax model trained with Adam and with
# SGD. Every statistic is measured on the same fixed probe sequences.

# %%
configs = {
    "1L softmax Adam": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_1L, lr=LR,
                                log_every=LOG_EVERY),
    "1L ReLU Adam": BBConfig(layers=1, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_1L, lr=LR,
                             attention="relu", log_every=STEPS_1L),
    "3L softmax Adam": BBConfig(layers=3, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_3L, lr=LR,
                                log_every=STEPS_3L),
    "3L softmax SGD": BBConfig(layers=3, dim=DIM, length=LENGTH, batch=BATCH, steps=STEPS_3L, lr=SGD_LR,
                               optimizer="sgd", log_every=STEPS_3L),
}  # fmt: skip
torch.set_num_threads(1)  # models this small train fastest on one thread, and then no runner setting moves a digit
rows, dynamics, models = [], [], {}
for name, cfg in configs.items():
    for seed in RELU_SEEDS if name == "1L ReLU Adam" else SEEDS:
        model, hist = train_bb(task, cfg, seed, probe)
        models[name, seed] = model
        if name == "1L softmax Adam":
            dynamics += [{"seed": seed, **r} for r in hist]
        losses = split_loss(model, task, probe)
        for r in extreme_token_stats(model, task, probe[:, :-1]):
            rows.append({"model": name, "seed": seed, **r, **losses})
stats_df = pd.DataFrame(rows)
dyn = pd.DataFrame(dynamics)
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
peak = stats_df.groupby(["model", "seed"]).residual_ratio.max()
rho = dyn.groupby("seed").apply(lambda g: stats.spearmanr(g.logit_gap, g.value_ratio).statistic, include_groups=False)
weight = {"n_unit": "seeds", "bounds": (0.0, 1.0)}  # attention weights and shares
ratio = {"n_unit": "seeds", "bounds": (0.0, float("inf"))}  # norm ratios
measurements = {
    "dormant-sink": Measurement.mean(one.sink_nontrigger, **weight),
    "active-copy": Measurement.mean(one.prev_trigger, **weight),
    "value-drain": Measurement.mean(one.value_ratio, **ratio),
    "mutual-reinforcement": Measurement.mean(rho, n_unit="seeds", bounds=(-1.0, 1.0)),
    "residual-peak": Measurement.mean(peak["3L softmax Adam"], **ratio),
    "relu-no-sink": Measurement.mean(relu.sink_share_nontrigger, **weight),
    "relu-no-drain": Measurement.mean(relu.value_ratio, **ratio),
    "sgd-no-peak": Measurement.ratio(peak["3L softmax Adam"], peak["3L softmax SGD"], n_unit="seeds"),
}
checks = {
    "relu-learns-copy": Measurement.mean(relu.copy_loss, **ratio),
    "adam-has-peak": Measurement.mean(peak["3L softmax Adam"], **ratio),
}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# The per-seed values behind the intervals (each row one training seed).

# %%
pd.DataFrame({"sink (1L)": one.sink_nontrigger, "copy (1L)": one.prev_trigger, "value ratio (1L)": one.value_ratio,
              "rho": rho, "peak 3L Adam": peak["3L softmax Adam"], "peak 3L SGD": peak["3L softmax SGD"],
              "ReLU sink share": relu.sink_share_nontrigger, "ReLU value ratio": relu.value_ratio,
              "ReLU copy loss": relu.copy_loss}).round(3)  # fmt: skip

# %% [markdown]
# ## Plots
# Left: the 1-layer head's attention on one probe sequence: triggers (marked on the axis) send their query to the
# previous token, all other queries go to BOS. Middle: the mutual-reinforcement dynamics, mean over seeds. Right: the
# three extreme-token statistics for the four configurations.

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 5))
ax = axes[0]
seq = probe[0, :-1]
traces = trace(models["1L softmax Adam", SEEDS[0]], seq.view(1, -1))
ax.imshow(traces[0]["weights"][0, 0].numpy(), cmap="viridis", vmin=0, vmax=1)
labels = ["BOS" if int(t) == task.bos else repr(task.itos[int(t)])[1:-1] for t in seq]
ax.set_xticks(range(len(seq)), labels, fontsize=6, rotation=90)
ax.set_yticks(range(len(seq)), labels, fontsize=6)
for tick, t in zip(ax.get_yticklabels(), seq, strict=True):
    tick.set_color("red" if int(t) in task.triggers else "black")
ax.set(xlabel="key", ylabel="query (red: trigger)", title="1-layer head: active after triggers, dormant on BOS")

ax = axes[1]
mean = dyn.groupby("step")[["logit_gap", "value_ratio", "sink_nontrigger"]].mean()
ax.plot(mean.index, mean.logit_gap, color="C0", label="BOS logit gap (non-trigger queries)")
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
                    "BOS residual peak (max layer)": peak.groupby("model").mean()}).loc[list(configs)]  # fmt: skip
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
# **Default run** (400 / 250 steps, 5 seeds, 10 for the ReLU model; 95% bootstrap intervals over seeds): the active
# half of the mechanism is there: after a trigger the head puts 0.94 [0.92, 0.96] of its attention on the previous
# token and the copy loss is near zero (*reproduced*). The dormant half is still forming: the sink on BOS reaches
# 0.69 [0.55, 0.86] and the BOS value ratio 0.23 [0.20, 0.27], both past the partial bars but not the full ones
# (*partially reproduced*). The dynamics plot shows why: the BOS logit gap is still climbing at the last step (the
# paper's theory has it grow without bound, logarithmically), and over the run it moves opposite to the BOS value norm
# (Spearman -0.90 [-0.95, -0.76] on average, *reproduced*), the mutual reinforcement the paper describes. That
# statistic is a rank correlation between two trends over one run's checkpoints, which any two monotone curves would
# give; it is kept as in v1 and listed for a redesign (issue 14).
#
# **Full run** (2,000 steps, 4 seeds; `results/full.json`, judged by the v1 engine and not re-run since): with
# training long enough, the 1-layer claims hold: attention on BOS from non-trigger queries 0.93 [0.82, 1.03], on the
# previous token after triggers 0.99, BOS value norm 0.12 of the others. The logit-value correlation over the whole
# run weakens to about -0.73: once the value norm has collapsed it only fluctuates while the logit keeps growing.
#
# **Interventions.** ReLU attention removes the sink in most seeds: the BOS share of the attention mass is 0 in 8 of
# the 10 default seeds and 0.05-0.11 in the other two, 0.016 [0.0001, 0.055] on average (*reproduced*; the ReLU models
# learned the copy, copy loss 0.03, the precondition). The head goes dormant by giving every key a non-positive logit,
# which ReLU maps to zero weight, so it needs no sink. It is not universal: with seeds 10-19 one ReLU model kept a full
# BOS sink (share 0.96) and the mean became 0.10 [0, 0.48] (*inconclusive*). The BOS value state keeps a normal norm,
# 0.95 [0.75, 1.11] of the others (*reproduced*). The v1 verdict (*inconclusive*, [0.43, 1.78] over 3 seeds, moved to
# *reproduced* on another machine) was the Student-t interval of three seeds (t = 4.3) stretched across the 0.5 bar by
# one lower seed: the seeds whose ReLU head keeps some weight on BOS are the ones whose BOS value norm is lower (seed 2:
# share 0.11, ratio 0.80), a little of the softmax mechanism. With 10 seeds and a bootstrap the interval sits well
# above the bar in every rerun. An observation outside the claims: the ReLU models have the largest BOS residual ratio
# of all configurations (about 3), so in our setting ReLU attention moves rather than removes that statistic.
#
# **Residual peak: not found at this scale.** Our 3-layer models solve BB with the head of their *first* layer,
# which sinks on BOS like the 1-layer model; the later heads stay diffuse, and the BOS residual norm is only 1.44
# [1.28, 1.52] times the median (*not reproduced*; 2x in the v1 full run), far from a peak. With seeds 5-9 two models
# reach 2.0-2.4 and the interval [1.24, 2.09] touches the partial bar (*inconclusive*), so a peak may start to form
# in some seeds. Nothing downstream needs a massive BOS state to find the sink, since the first layer sees the raw BOS
# embedding. The paper's 3-layer runs trained up to 100,000 steps at width 256; whether the peak needs that length,
# or a model whose copying head sits after an MLP (the official code also has such "minimal" variants), we cannot
# tell from our runs. Without a peak under Adam the SGD comparison cannot show anything: its precondition fails and
# it is *inconclusive* (the Adam/SGD peak ratio is 1.26 [1.08, 1.43]); note also that the SGD runs learn the copy more
# slowly (copy loss 1.25 after 250 steps).
#
# **How firm.** Re-run with the same seeds on another CPU code path (AVX2 instead of AVX-512) and with 2 training
# threads, every value moved by at most 3.5% (the ReLU BOS share by 0.006) and no verdict moved; the declared
# tolerances are those moves. With other seeds (5-9, ReLU 10-19), `residual-peak` and `relu-no-sink` moved as
# described above.
