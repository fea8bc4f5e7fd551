# %% [markdown]
# # Zero-TPrune (arXiv:2305.17328): zero-shot token pruning by PageRank importance and similarity, on DINOv2-S
#
# Wang, Dedhia, Jha, *Zero-TPrune: Zero-Shot Token Pruning through Leveraging of the Attention Graph in Pre-Trained
# Transformers* (CVPR 2024), catalog id 8.
#
# **Claims under test** (abstract, v3): 1. without fine-tuning, Zero-TPrune cuts DeiT-S's FLOPs by 34.7% with only
# 0.4% accuracy loss; 2. against fine-tuning-free methods it loses up to 49% less accuracy: here against
# importance-only pruning (CLS-attention top-k) and similarity-only merging (ToMe).
#
# **Replicated here:** the two stages on the shared engine `shared.vision`: the I-stage ranks patch tokens by weighted
# PageRank on each head's attention graph (heads combined by root-sum-of-squares) and drops the least important; the
# S-stage splits the survivors by importance and drops the less important tokens most similar to the more important
# half. They run once, before block `LAYER` of the zoo's pretrained DINOv2-S, at keep ratios of 30-70%, beside
# CLS-attention top-k, ToMe-style bipartite merging and the trivial controls random selection and spatial
# downsampling. The classifier is a linear probe on the CLS token, trained once on unpruned features of Fashion-MNIST
# training images and frozen; each arm is judged on the same test images. The unit is a split seed: each draws its own
# training images, fits its own probe and draws its own test images, so the probe's own luck is resampled.
# **Not replicated, and why:** ImageNet and DeiT/LV-ViT/AugReg backbones (not offline; the ViT here is DINOv2-S,
# most likely fine-tuned for saliency); progressive pruning in several layers, the variance-based head filter and the
# per-layer iteration counts; GPU throughput (the forward-time ratio is printed as a CPU benchmark, not judged).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEED = 0  # the split seeds are SEED * 1000 + 0 .. N_SEEDS - 1 (a pilot used seed 100: kept out of recorded runs)
IMAGE_SIZE = 112  # px, a multiple of the patch size 14: an 8 x 8 grid of 64 patch tokens + CLS
LAYER = 3  # the units prune before this block (0-based, of 12), reading the previous block's attention and keys
N_SEEDS = 3  # split seeds, the unit of every claim: each draws its own training images, probe and test images
N_TRAIN = 200  # Fashion-MNIST training images each seed's probe is fitted on (unpruned features)
N_TEST = 80  # test images per split seed
KEEP_RATIOS = [0.3, 0.5, 0.7]  # shares of patch tokens kept (the paper's 30-70% range)
KEEP_HEADLINE = 0.5  # the keep ratio of the small-loss claim (-37.1% MACs, the paper's -34.7% FLOPs)
BATCH = 125  # images per forward pass
BENCH_IMAGES = 16  # images in the timing benchmark's batch
BENCH_RATIOS = [0.1, 0.25, 0.5]  # keep ratios of the timing benchmark
BENCH_REPEATS = 5  # interleaved repeats of the timing benchmark

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.zero_tprune_2024.claims import CLAIMS
from papers.zero_tprune_2024.method import cls_features, forward_times, t_geomean, t_mean
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data import load_images
from shared.models import load
from shared.results import start_run
from shared.vision import BipartiteMerge, PageRank, TokenContext, ZeroTPrune, n_keep_for, vit_macs
from shared.vision.flops import pruned_tokens
from shared.vision.probe import LinearProbe, split_indices, to_pixels
from shared.vision.select import pagerank_fast, pagerank_reference
from shared.vision.vit import PrunedViT

run = start_run("zero_tprune_2024", globals(), seeds=[SEED])
pd.options.display.float_format = "{:.4g}".format
ARMS = ["zero_tprune", "cls_attention", "bipartite_merge", "random", "downsample"]
assert KEEP_HEADLINE in KEEP_RATIOS

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The block-by-block runner equals the model's own forward pass when nothing is pruned; the fast paths of PageRank,
# Zero-TPrune and ToMe's matching select what their plain references select on a real attention map; the MAC count
# gives DeiT-S's published 4.6 GFLOPs, and keep 50% before block 3 cuts about as much as the paper's headline setting.

# %% tags=["nbval-check-output"]
model, _ = load("dinov2-s")
vit = PrunedViT(model)
train_x, train_y = load_images("fashion_mnist", "train")
test_x, test_y = load_images("fashion_mnist", "test")
px = to_pixels(test_x[:2], IMAGE_SIZE)
with torch.no_grad():
    ref = model(pixel_values=px, output_attentions=True)
ours, _ = vit.forward(px, None, 1.0, LAYER)
assert (ours - ref.last_hidden_state).abs().max() < 1e-4
state = vit.prefix(px, LAYER)
assert (state.attn - ref.attentions[LAYER - 1]).abs().max() < 1e-5
ctx = TokenContext(hidden=state.hidden[:, 1:], attn=state.attn, keys=state.keys[:, 1:], grid=vit.grid(px))
assert (pagerank_fast(state.attn[:1], 5).double() - pagerank_reference(state.attn[:1], 5)).abs().max() < 1e-6
k = n_keep_for(0.5, ctx.n)
sub = TokenContext(hidden=ctx.hidden[:1], attn=ctx.attn[:1], keys=ctx.keys[:1], grid=ctx.grid)
for fast, slow in [(ZeroTPrune(), ZeroTPrune(impl="reference")), (BipartiteMerge(), BipartiteMerge(impl="reference")),
                   (PageRank(), PageRank(impl="reference"))]:  # fmt: skip
    assert torch.equal(fast.select(sub, k).keep, slow.select(sub, k).keep), type(fast).__name__
assert abs(vit_macs([197] * 12, 384, 1536, 16) / 4.6e9 - 1) < 0.01
n_patch = (IMAGE_SIZE // 14) ** 2
macs_full = vit_macs([1 + n_patch] * 12)
macs_cut = {r: 1 - vit_macs(pruned_tokens(n_patch, n_keep_for(r, n_patch), LAYER)) / macs_full for r in KEEP_RATIOS}
print("runner = Dinov2Model; fast paths = references; MAC counts checked")

# %% [markdown]
# ## Experiment
# For each of `N_SEEDS` split seeds: a probe is fitted on unpruned CLS features of `N_TRAIN` training images drawn by
# that seed and frozen; then every arm runs on the seed's own `N_TEST` test images at every keep ratio (the blocks
# before `LAYER` are computed once and shared).

# %%
split_seeds = [SEED * 1000 + i for i in range(N_SEEDS)]
per_seed = []  # per split seed: {(arm, keep ratio): per-image correctness}
for s in split_seeds:
    train_idx, test_idx = split_indices(s, len(train_y), len(test_y), N_TRAIN, N_TEST)
    feats_train = cls_features(vit, train_x[train_idx], IMAGE_SIZE, LAYER, [], [], BATCH, s)[("none", 1.0)]
    probe = LinearProbe().fit(feats_train, train_y[train_idx])
    feats = cls_features(vit, test_x[test_idx], IMAGE_SIZE, LAYER, ARMS, KEEP_RATIOS, BATCH, s)
    y = test_y[test_idx]
    per_seed.append({key: (probe.predict(f) == y).double().numpy() for key, f in feats.items()})
    print(f"split seed {s}: unpruned accuracy {per_seed[-1][('none', 1.0)].mean():.4g} on {N_TEST} test images "
          f"(train accuracy {(probe.predict(feats_train) == train_y[train_idx]).double().mean():.4g})")
correct = {key: np.concatenate([c[key] for c in per_seed]) for key in per_seed[0]}  # pooled, for tables and plots
full = correct[("none", 1.0)]
rows = [{"arm": arm, "keep_ratio": r, "accuracy": correct[(arm, r)].mean(), "loss": full.mean() - correct[(arm, r)].mean(),
         "MACs cut": macs_cut[r]} for arm in ARMS for r in KEEP_RATIOS]  # fmt: skip
summary = pd.DataFrame(rows)
summary.pivot(index="arm", columns="keep_ratio", values="accuracy")

# %% [markdown]
# ## Paper vs ours

# Every quantity is computed per split seed (means over that seed's test images, and over `KEEP_RATIOS` where a claim
# says so); the intervals are Student-t intervals over seeds (on the log scale for the loss ratios).

# %%
def seed_acc(c, arm):  # accuracy of an arm on one seed's test images, mean over the keep ratios
    return float(np.mean([c[(arm, r)].mean() for r in KEEP_RATIOS]))


seed_rows = []
for s, c in zip(split_seeds, per_seed):
    row = {"split seed": s, "unpruned": c[("none", 1.0)].mean()}
    row.update({f"loss {arm}": row["unpruned"] - seed_acc(c, arm) for arm in ARMS})
    row["loss at keep 50%"] = row["unpruned"] - c[("zero_tprune", KEEP_HEADLINE)].mean()
    for base, name in [("cls_attention", "ratio vs CLS"), ("bipartite_merge", "ratio vs ToMe")]:
        den = row[f"loss {base}"]
        row[name] = row["loss zero_tprune"] / den if den > 0 else float("nan")
    seed_rows.append(row)
by_seed = pd.DataFrame(seed_rows).set_index("split seed")
display(by_seed)  # noqa: F821

measurements = {
    "small-loss-at-35pct-flops": t_mean(by_seed["loss at keep 50%"]),
    "less-loss-than-cls-attention": t_geomean(by_seed["ratio vs CLS"]),
    "less-loss-than-tome": t_geomean(by_seed["ratio vs ToMe"]),
}
controls = {  # margins: Zero-TPrune minus the control's accuracy, positive when Zero-TPrune is better
    "less-loss-than-cls-attention": t_mean(by_seed["loss random"] - by_seed["loss zero_tprune"]),
    "less-loss-than-tome": t_mean(by_seed["loss downsample"] - by_seed["loss zero_tprune"]),
}
checks = {
    "probe-above-chance": Measurement.proportion(int(full.sum()), len(full), n_unit="test images (all seeds)"),
    "cls-attention-loses": t_mean(by_seed["loss cls_attention"]),
    "tome-loses": t_mean(by_seed["loss bipartite_merge"]),
    "enough-split-seeds": Measurement.exact(N_SEEDS, n=N_SEEDS, n_unit="split seeds"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
margins = pd.DataFrame([{"arm": arm, "accuracy (mean over keep ratios and seeds)": full.mean() - by_seed[f"loss {arm}"].mean(),
                         "Zero-TPrune minus arm": str(t_mean(by_seed[f"loss {arm}"] - by_seed["loss zero_tprune"]))}
                        for arm in ARMS[1:]]).set_index("arm")  # fmt: skip
display(margins)  # noqa: F821
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for arm in ARMS:
    part = summary[summary.arm == arm]
    ax.plot(part.keep_ratio, part.accuracy, marker="o", label=arm)
ax.axhline(full.mean(), color="k", ls="--", lw=1, label="unpruned")
ax.set(xlabel=f"keep ratio (patch tokens, before block {LAYER})", ylabel="probe accuracy",
       title=f"DINOv2-S, Fashion-MNIST, {N_SEEDS} seeds x {N_TEST} test images")  # fmt: skip
ax.legend(fontsize=8)
run.save_figure(fig, "accuracy_vs_keep")
plt.show()

# %% [markdown]
# ## Benchmark: forward time per keep ratio (printed, not judged)
# Wall time of the whole forward pass of `BENCH_IMAGES` images with Zero-TPrune (selection included) over the
# unpruned pass, interleaved repeats, medians; next to the MAC ratio. Machine-dependent: never a verdict.

# %%
bench_px = to_pixels(test_x[test_idx[:BENCH_IMAGES]], IMAGE_SIZE)
times = pd.DataFrame(forward_times(vit, bench_px, "zero_tprune", BENCH_RATIOS, LAYER, BENCH_REPEATS))
med = times.groupby("keep_ratio").seconds.median()
bench = pd.DataFrame({"time / unpruned": med / med[1.0],
                      "MACs / unpruned": [vit_macs(pruned_tokens(n_patch, n_keep_for(r, n_patch), LAYER)) / macs_full
                                          for r in med.index]}, index=med.index)  # fmt: skip
pays = all(bench.loc[r, "time / unpruned"] < 1 for r in BENCH_RATIOS if r <= 0.25)
print(f"{torch.get_num_threads()} thread(s); pruning pays for its selection at keep <= 25%: {'yes' if pays else 'no'}")
bench

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# From the recorded runs (full: 10 split seeds x 200 test images, keep 30-70% in five steps; default: 3 x 80, three
# steps). The unit is a split seed with its own probe; intervals are Student-t over seeds.
#
# - **Accuracy loss at a third fewer MACs: not reproduced.** Keeping half the patch tokens before block 3 (-37% MACs)
#   costs Zero-TPrune 12 points of probe accuracy (full: 0.124 [0.099, 0.149] over 10 seeds), far from the paper's
#   0.4 points on DeiT-S. Every arm lost 11-17 points there in the 5-seed run, random included, so the loss belongs
#   to the setting: a probe fitted on the CLS token of unpruned images, a model never trained for classification,
#   28 px images with a large dark background, and one early pruning step. The setting is harsher than the paper's, not a contradiction
#   of its number on DeiT-S; it says the headline does not carry over to this backbone and head.
# - **Less loss than CLS-attention top-k: inconclusive.** The loss ratio is 0.962 [0.822, 1.126] (geometric mean of
#   ten per-seed ratios), and Zero-TPrune does not separate from random selection either (margin 0.0074 [-0.008,
#   0.023]). The paper's 49% (ratio 0.51) is excluded.
# - **Less loss than ToMe merging: inconclusive.** Ratio 1.119 [0.934, 1.341]; the paper's 49% is excluded.
#   Zero-TPrune does beat plain spatial downsampling (margin 0.082 [0.055, 0.109]), the weakest arm.
# - **Stability.** The first design (one probe, the test image as unit) moved 2 of 3 verdicts under another image draw
#   of `full`; split seeds resample the probe. With 5 seeds, another seed set (1000-1004) still moved the ToMe verdict
#   (inconclusive -> not reproduced, 1.192 [1.092, 1.301]): the ratio sits near 1. So `full` now has 10 seeds and the
#   comparisons need at least 10 (`enough-split-seeds`). Under seeds 1000-1009, 0 of 3 verdicts moved (README).
# - **Default profile.** Three seeds fit in 60 s on one thread: every verdict is inconclusive by design (fewer than
#   5 seeds, and fewer than the 10 the comparisons need); it checks the pipeline, not the claims.
# - **Forward time** (printed benchmark, one CPU thread of a shared machine): the pruned pass with selection included
#   took 0.29-0.40 of the unpruned time at keep 10% and 0.36-0.49 at 25% over the recorded runs, close to the MAC
#   ratios (0.35, 0.45): the PageRank and the similarity search cost little next to the blocks they save, so pruning
#   pays for its selection at keep <= 25%.
