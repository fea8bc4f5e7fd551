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
# training images and frozen; each arm is judged on the same test images (the unit).
# **Not replicated, and why:** ImageNet and DeiT/LV-ViT/AugReg backbones (not offline; the ViT here is DINOv2-S,
# most likely fine-tuned for saliency); progressive pruning in several layers, the variance-based head filter and the
# per-layer iteration counts; GPU throughput (the forward-time ratio is printed as a CPU benchmark, not judged).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEED = 0  # draws the training and test images (a pilot used seed 100: kept out of recorded runs)
IMAGE_SIZE = 112  # px, a multiple of the patch size 14: an 8 x 8 grid of 64 patch tokens + CLS
LAYER = 3  # the units prune before this block (0-based, of 12), reading the previous block's attention and keys
N_TRAIN = 500  # Fashion-MNIST training images the probe is fitted on (unpruned features)
N_TEST = 250  # test images: the unit of every claim
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
from papers.zero_tprune_2024.method import LinearProbe, cls_features, forward_times, split_indices, to_pixels
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data import load_images
from shared.models import load
from shared.results import start_run
from shared.vision import BipartiteMerge, PageRank, TokenContext, ZeroTPrune, n_keep_for, vit_macs
from shared.vision.flops import pruned_tokens
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
# The probe is fitted once on unpruned CLS features of `N_TRAIN` training images; then every arm runs on the same
# `N_TEST` test images at every keep ratio (the blocks before `LAYER` are computed once and shared).

# %%
train_idx, test_idx = split_indices(SEED, len(train_y), len(test_y), N_TRAIN, N_TEST)
feats_train = cls_features(vit, train_x[train_idx], IMAGE_SIZE, LAYER, [], [], BATCH, SEED)[("none", 1.0)]
probe = LinearProbe().fit(feats_train, train_y[train_idx])
feats = cls_features(vit, test_x[test_idx], IMAGE_SIZE, LAYER, ARMS, KEEP_RATIOS, BATCH, SEED)
y = test_y[test_idx]
correct = {key: (probe.predict(f) == y).double().numpy() for key, f in feats.items()}
full = correct[("none", 1.0)]
rows = [{"arm": arm, "keep_ratio": r, "accuracy": correct[(arm, r)].mean(), "loss": full.mean() - correct[(arm, r)].mean(),
         "MACs cut": macs_cut[r]} for arm in ARMS for r in KEEP_RATIOS]  # fmt: skip
summary = pd.DataFrame(rows)
print(f"unpruned accuracy {full.mean():.4g} on {N_TEST} test images (train accuracy "
      f"{(probe.predict(feats_train) == train_y[train_idx]).double().mean():.4g})")
summary.pivot(index="arm", columns="keep_ratio", values="accuracy")

# %% [markdown]
# ## Paper vs ours

# %%
mean_over = {arm: np.mean([correct[(arm, r)] for r in KEEP_RATIOS], axis=0) for arm in ARMS}  # per image
loss = {arm: full - mean_over[arm] for arm in ARMS}


def loss_ratio(units):
    num, den = sum(u[0] for u in units), sum(u[1] for u in units)
    return num / den if den > 0 else float("nan")


def ratio_vs(base):
    return Measurement.bootstrap(list(zip(loss["zero_tprune"], loss[base])), loss_ratio, n_unit="test images")


measurements = {
    "small-loss-at-35pct-flops": Measurement.paired_difference(full, correct[("zero_tprune", KEEP_HEADLINE)],
                                                               n_unit="test images"),  # fmt: skip
    "less-loss-than-cls-attention": ratio_vs("cls_attention"),
    "less-loss-than-tome": ratio_vs("bipartite_merge"),
}
controls = {
    "less-loss-than-cls-attention": Measurement.paired_difference(mean_over["zero_tprune"], mean_over["random"],
                                                                  n_unit="test images"),  # fmt: skip
    "less-loss-than-tome": Measurement.paired_difference(mean_over["zero_tprune"], mean_over["downsample"],
                                                         n_unit="test images"),  # fmt: skip
}
checks = {
    "probe-above-chance": Measurement.proportion(int(full.sum()), len(full), n_unit="test images"),
    "cls-attention-loses": Measurement.mean(loss["cls_attention"], n_unit="test images"),
    "tome-loses": Measurement.mean(loss["bipartite_merge"], n_unit="test images"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
margins = pd.DataFrame([{"arm": arm, "accuracy (mean over keep ratios)": mean_over[arm].mean(),
                         "Zero-TPrune minus arm": str(Measurement.paired_difference(mean_over["zero_tprune"],
                                                                                    mean_over[arm], n_unit="images"))}
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
       title=f"DINOv2-S, Fashion-MNIST, {N_TEST} test images")  # fmt: skip
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
# From the recorded runs (full: 2,000 test images, keep 30-70% in five steps; default: 250 images, three steps).
#
# - **Accuracy loss at a third fewer MACs: not reproduced.** Keeping half the patch tokens before block 3 (-37% MACs)
#   costs Zero-TPrune 14 points of probe accuracy (full: 0.140 [0.121, 0.161]; default 0.144), far from the paper's
#   0.4 points on DeiT-S. Every arm loses 11-17 points there, random included, so the loss belongs to the setting: a
#   probe fitted on the CLS token of unpruned images, a model never trained for classification, 28 px images with a
#   large dark background, and one early pruning step. The setting is harsher than the paper's, not a contradiction
#   of its number on DeiT-S; it says the headline does not carry over to this backbone and head.
# - **Less loss than CLS-attention top-k: inconclusive.** The loss ratio is 0.961 [0.886, 1.045] on the full run:
#   at most a small gain, and Zero-TPrune does not beat random selection either (margin 0.004 [-0.011, 0.018]). To
#   decide a 4% gain would take several times more test images; the paper's 49% is excluded.
# - **Less loss than ToMe merging: not reproduced.** ToMe-style bipartite merging loses less than Zero-TPrune
#   (ratio 1.115 [1.021, 1.221]); Zero-TPrune does beat plain spatial downsampling (margin 0.072 [0.057, 0.088]),
#   the weakest arm here.
# - **Stability.** Under another draw of training and test images (`full`, seed 1) the two comparative verdicts
#   moved (CLS attention: 1.154 [1.046, 1.275], not reproduced; ToMe: 0.989 [0.898, 1.082], inconclusive), while no
#   run came near the paper's 49% and Zero-TPrune never beat random selection. The probe, fitted on one draw, is a
#   random effect the bootstrap over test images does not see: the next design takes split seeds (each with its own
#   probe) as the unit. See the README.
# - **Forward time** (printed benchmark, one CPU thread of a shared machine): the pruned pass with selection included
#   took 0.29-0.40 of the unpruned time at keep 10% and 0.36-0.49 at 25% over the recorded runs, close to the MAC
#   ratios (0.35, 0.45): the PageRank and the similarity search cost little next to the blocks they save, so pruning
#   pays for its selection at keep <= 25%.
