# %% [markdown]
# # Deconstructing Attention (arXiv 2510.11602): token mixing is indispensable, its exact form is not, and standard layers rescue the variants that fail alone
#
# Xue, Moosavi & Aletras (2025), catalog id 94. The paper relaxes four principles of dot-product attention, one at a
# time: token mixing (MLP-only), the mathematical form (a Taylor-approximated linear attention; *Non-approximate*,
# a per-token score with no pairwise similarity), sequence dependence (attention maps fixed across inputs) and Q/K
# from the current hidden state (Q/K from the input embeddings). Each variant replaces attention in every layer
# (*uniform*) or in the odd layers only, standard attention staying in the even ones (*hybrid*). 500M Qwen2.5-style
# models on 15B SlimPajama tokens; Tab. 1 reports WikiText perplexity, LAMBADA and seven NLU tasks.
#
# **Claims under test** (all from Tab. 1 and Sec. 5; bars and their derivation in `claims.py`):
# 1. Without token mixing the model falls far behind standard attention (`mlp-only-collapses`).
# 2. Uniform relaxations that keep mixing keep most of standard's gain: sequence-independent maps
#    (`uniform-static-keeps-most`), a non-softmax similarity (`uniform-linear-keeps-most`); the Non-approximate form
#    fails alone (`uniform-nonapx-fails`).
# 3. Hybrids are on par with standard attention (`hybrid-{static,linear,nonapx}-on-par`), and their variant layers
#    contribute: each hybrid must beat the hybrid whose variant layer mixes nothing (the paper's hybrid MLP).
# 4. Cooperation: a variant that fails alone recovers in a hybrid, on the loss (`cooperation-nonapx`) and on using the
#    context (`cooperation-static-copy`, a repeated-sequence copy probe; the paper's LAMBADA column).
#
# **Replicated here, as an analogue:** 2-layer, d = 32 models of `shared.lm.family` (hybrid = (variant, softmax)),
# trained by the shared trainer on 64-token windows of the project corpus (the 256 most frequent project-BPE tokens,
# the rest one id), 5 seeds per architecture. Training is a pipeline stage: its fp16 checkpoints ship in
# `checkpoints/` and the default run evaluates them; the `full` profile retrains them (about 12 minutes on one core).
# **Not replicated:** the 500M/1.7B models, the NLU benchmarks, Q/K from input embeddings (a 2-layer model's first
# layer sees only embeddings anyway, and the family's `qk_source` is model-wide), the hybrid-ratio ablation (Fig. 3),
# the attention-pattern indicators (Fig. 1) and the efficiency tables; see the README's scope table.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # training seeds: the units of every claim (all models of one seed resampled together)
VARIANTS = ["none", "static", "linear", "nonapx"]  # relaxed attention, each uniform and hybrid (with softmax)
LAYERS = 2  # transformer blocks; a hybrid has the variant in odd layers, softmax in even ones
HIDDEN = 32  # model width d
HEADS = 2  # attention heads per layer
MLP_RATIO = 4  # SwiGLU width / d
CONTEXT = 64  # tokens per training window
KEEP = 256  # most frequent project-BPE tokens kept as ids; every other token is one shared id
STEPS = 1000  # optimiser steps per model
BATCH = 16  # windows per step
LR = 0.003  # peak learning rate (warmup, cosine decay to 10%)
WARMUP = 50  # warmup steps
WEIGHT_DECAY = 0.1  # AdamW weight decay on matrices
TRAIN_THREADS = 1  # torch threads while training (the checkpoints were trained with 1)
VAL_WINDOWS = 256  # fixed held-out windows for the validation loss
COPY_SEQS = 128  # repeated random sequences of the copy probe
COPY_HALF = 24  # length of each copy (the probe is 2 x COPY_HALF tokens)
TRAIN = "missing"  # "missing": train only models without a checkpoint; "always": retrain all; "never": load only
CHECKPOINTS = "checkpoints"  # folder of the fp16 checkpoints, relative to the paper folder

# %%
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.deconstructing_attention_2025 import method
from papers.deconstructing_attention_2025.claims import CLAIMS
from shared import ROOT
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm import family
from shared.lm.pipeline import load_stream
from shared.lm.vocab import frequent_vocab, unigram_loss
from shared.results import start_run

run = start_run("deconstructing_attention_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
PAPER_DIR = ROOT / "papers" / "deconstructing_attention_2025"
CKPT_DIR = Path(CHECKPOINTS) if Path(CHECKPOINTS).is_absolute() else PAPER_DIR / CHECKPOINTS
BPE_DIR = ROOT / "shared" / "lm" / "trained" / "bpe-8k"

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Non-approximate attention against its formula (Eqs. 7-8) and RoPE's inverse; MLP-only and static mixing against
# what they must not do (an MLP-only model's prediction at position t ignores every earlier token; static weights are
# the same for every input); the copy probe and the unigram floor against direct computations.

# %% tags=["nbval-check-output"]
g = torch.Generator().manual_seed(0)
q, k, v = torch.randn(3, 2, 3, 6, 8, generator=g).unbind(0)  # [B, H, T, D]
vis = family.visible_keys(6, 6, "cpu")
w = method.nonapx_weights(q, k, 0.5, vis)
s = (torch.nn.functional.silu(q) * k).sum(-1) * 0.5  # [B, H, S]: one score per key
expected = torch.stack([torch.cat([s[..., : i + 1].softmax(-1), torch.zeros(2, 3, 5 - i)], -1) for i in range(6)], -2)
torch.testing.assert_close(w, expected)
half = torch.randn(1, 1, 6, 4, generator=g)
angle = torch.cat([half, half], dim=-1)  # Llama's rotary halves share their phases
cos, sin = angle.cos(), angle.sin()
torch.testing.assert_close(method._rotate_back(family._rotate(q, cos, sin), cos, sin), q)

ids = torch.randint(0, 50, (2, 12), generator=g)
changed = ids.clone()
changed[:, :6] = (changed[:, :6] + 1) % 50
for arch in [("none", "none"), ("none", "softmax")]:
    m = method.make_model(arch, 50, seed=0, context=16)
    with torch.no_grad():
        same = torch.allclose(m(input_ids=ids).logits[:, :6], m(input_ids=changed).logits[:, :6])
        after = torch.allclose(m(input_ids=ids).logits[:, 6:], m(input_ids=changed).logits[:, 6:])
    assert not same, "a changed token must change its own prediction"
    assert after == (arch == ("none", "none")), f"{arch}: mixing across positions is {'present' if after else 'absent'}"
m = method.make_model(("static", "static"), 50, seed=0, context=16)
with torch.no_grad():
    for layer in m.model.layers:
        layer.self_attn.static_logits.normal_()
a1, a2 = family.attention_probs(m, ids), family.attention_probs(m, changed)
torch.testing.assert_close(a1, a2)
m = method.make_model(("nonapx", "softmax"), 50, seed=0, context=16)
a = family.attention_probs(m, ids)  # [N, L, H, T, S]
torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]))
# Non-approximate weights are query-independent: two queries give the same relative weights to the keys both see
torch.testing.assert_close(a[:, 0, :, 5, :4] / a[:, 0, :, 5, :4].sum(-1, keepdim=True),
                           a[:, 0, :, 3, :4] / a[:, 0, :, 3, :4].sum(-1, keepdim=True))  # fmt: skip
probe = method.copy_probe(3, 5, 20, seed=1)
assert torch.equal(probe[:, :5], probe[:, 5:])
toy_train, toy_val = torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1])
assert abs(unigram_loss(toy_train, toy_val, 3, smoothing=0.0) - (math.log(2) + math.log(4)) / 2) < 1e-9
print("Non-approximate weights, RoPE inverse, no-mixing, static mixing, copy probe and unigram floor: as expected")

# %% [markdown]
# ## Experiment: train (or load) every architecture under every seed, then measure
# Validation loss on `VAL_WINDOWS` fixed held-out windows; the copy probe's in-context gain (loss on the first copy of
# a random sequence minus loss on its second copy); the unigram floor of the same validation tokens.

# %%
corpus, val_corpus = load_stream(BPE_DIR, "train"), load_stream(BPE_DIR, "val")
lookup = frequent_vocab(corpus, KEEP, int(corpus.max()) + 1)
stream, val_stream = lookup[corpus], lookup[val_corpus]
vocab = KEEP + 1
val_windows = method.fixed_windows(val_stream, VAL_WINDOWS, CONTEXT, seed=12345)
copy_ids = method.copy_probe(COPY_SEQS, COPY_HALF, KEEP, seed=54321)
unigram = unigram_loss(stream, val_windows[:, 1:].flatten(), vocab, smoothing=0.5)
archs = method.architectures(VARIANTS, LAYERS)
size = {"hidden_size": HIDDEN, "heads": HEADS, "context": CONTEXT, "mlp_ratio": MLP_RATIO}
cfg = {"steps": STEPS, "batch_size": BATCH, "seq_len": CONTEXT, "lr": LR, "warmup": WARMUP,
       "weight_decay": WEIGHT_DECAY, "threads": TRAIN_THREADS}  # fmt: skip
data_id = [int(stream.numel()), int(stream[:100_000].sum()), KEEP]

rows, trained = [], 0
eval_threads = torch.get_num_threads()
for name, arch in archs.items():
    for seed in SEEDS:
        key = method.run_key(arch, seed, vocab, size, cfg, data_id)
        path = CKPT_DIR / f"{name}-seed{seed}.safetensors"
        if path.exists() and TRAIN != "always":
            model = method.load_checkpoint(path, method.make_model(arch, vocab, seed, **size), key)
        elif TRAIN == "never":
            raise FileNotFoundError(f"{path} is missing and TRAIN='never'")
        else:
            model = method.train_lm(arch, seed, stream, vocab, size, cfg)
            method.save_checkpoint(path, model, key)
            torch.set_num_threads(eval_threads)
            trained += 1
        rows.append({"arch": name, "seed": seed, "val_loss": method.lm_loss(model, val_windows),
                     "copy_gain": method.copy_gain(model, copy_ids)})  # fmt: skip
results = pd.DataFrame(rows)
print(f"{trained} models trained, {len(rows) - trained} loaded")

# %%
table = results.groupby("arch", sort=False)[["val_loss", "copy_gain"]].agg(["mean", "std"])
table[("val_loss", "ratio to standard")] = table[("val_loss", "mean")] / table.loc["standard", ("val_loss", "mean")]
print(f"unigram floor: {unigram:.4f} nats")
table

# %% [markdown]
# ## Paper vs ours

# %%
by = results.set_index(["arch", "seed"])


def col(arch, what="val_loss"):
    return [float(by.loc[(arch, s), what]) for s in SEEDS]


seeds = {"n_unit": "seeds"}
std, mlp, hmlp = col("standard"), col("uniform-none"), col("hybrid-none")
measurements, controls = {}, {}
measurements["mlp-only-collapses"] = Measurement.ratio(mlp, std, **seeds)
for v in ("static", "linear", "nonapx"):
    units = list(zip(mlp, col(f"uniform-{v}"), std))
    cid = f"uniform-{v}-keeps-most" if v != "nonapx" else "uniform-nonapx-fails"
    measurements[cid] = Measurement.bootstrap(units, method.share_of_gain, **seeds)
    if v != "nonapx":
        controls[cid] = Measurement.paired_difference(mlp, col(f"uniform-{v}"), **seeds)
    measurements[f"hybrid-{v}-on-par"] = Measurement.ratio(col(f"hybrid-{v}"), std, **seeds)
    controls[f"hybrid-{v}-on-par"] = Measurement.paired_difference(hmlp, col(f"hybrid-{v}"), **seeds)
measurements["cooperation-nonapx"] = Measurement.bootstrap(
    list(zip(col("uniform-nonapx"), col("hybrid-nonapx"), std)), method.recovered_share, **seeds
)
controls["cooperation-nonapx"] = controls["hybrid-nonapx-on-par"]
g_std, g_us, g_hs = col("standard", "copy_gain"), col("uniform-static", "copy_gain"), col("hybrid-static", "copy_gain")
measurements["cooperation-static-copy"] = Measurement.bootstrap(list(zip(g_us, g_hs, g_std)), method.recovered_share,
                                                                **seeds)  # fmt: skip
controls["cooperation-static-copy"] = Measurement.paired_difference(g_hs, col("hybrid-none", "copy_gain"), **seeds)
checks = {
    "standard-learned": Measurement.ratio(std, [unigram] * len(SEEDS), **seeds),
    "hybrid-mlp-off-par": Measurement.ratio(hmlp, std, **seeds),
    "mixing-matters": measurements["mlp-only-collapses"],
    "nonapx-fails-alone": measurements["uniform-nonapx-fails"],
    "standard-copies": Measurement.mean(g_std, **seeds),
    "static-fails-copy": Measurement.bootstrap(list(zip(g_us, g_std)), method.ratio_of_means, **seeds),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
names = list(archs)
colors = ["C0" if n == "standard" else "C1" if n.startswith("uniform") else "C2" for n in names]
for ax, what, label in [(axes[0], "val_loss", "validation loss (nats/token)"),
                        (axes[1], "copy_gain", "copy probe: in-context gain (nats)")]:  # fmt: skip
    mean = results.groupby("arch", sort=False)[what].mean().reindex(names)
    ax.bar(range(len(names)), mean.values, color=colors)
    for i, n in enumerate(names):
        ax.plot([i] * len(SEEDS), col(n, what), "k.", ms=3)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(label)
axes[0].axhline(unigram, color="grey", ls=":", label="unigram floor")
axes[0].set_ylim(min(results.val_loss) * 0.95, unigram * 1.02)
axes[0].legend(fontsize=8)
axes[0].set_title("blue: standard, orange: uniform, green: hybrid (variant, softmax)", fontsize=9)
fig.tight_layout()
run.save_figure(fig, "losses")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (the committed checkpoints: 9 architectures x 5 seeds, 2 layers, d = 32, 1,000 steps of 16 x 64
# project-corpus tokens each). Values are per-seed ratios or shares of seed means, with bootstrap intervals over seeds.
# They come from the re-run on the fixed shared model family (token 0 no longer a frozen zero pad embedding, Llama
# initialisation for the parts added to Llama): every value moved a little, no verdict changed.
#
# **Token mixing matters, and most of it survives relaxation.** Standard attention reaches 2.405 nats against a
# unigram floor of 3.402; without any mixing (MLP-only, which can still learn bigram statistics) the loss is 2.750,
# 14.3% [14.1, 14.8] above standard: `mlp-only-collapses` is *reproduced* against our 10% bar. It is a collapse only
# in the sense of the paper's NLU columns; like the paper's MLP (ppl 993.5, far below its trivial baselines), ours
# keeps the statistics of the current token. Every relaxation that still mixes tokens recovers most of the gap:
# sequence-independent (static) mixing in both layers keeps 0.75 [0.72, 0.76] of standard's gain over MLP-only (paper
# 0.755-0.776: *reproduced*), (1 + elu) linear attention 0.77 [0.73, 0.79] (paper's Taylor "Approximate" 0.93:
# *partially reproduced*, short of the 0.8 bar), each 0.26 nats better than MLP-only.
#
# **Non-approximate attention does not fail here.** Uniform Non-approximate keeps 0.78 [0.77, 0.80] of the gain, as
# much as the other relaxations (`uniform-nonapx-fails`: *not reproduced*). The paper traces its failure to
# pre-softmax activations that grow past 1,000 in the last of 24 layers (its Fig. 2) and notes that Qwen3's Q/K norms
# prevent it at 1.7B; a 2-layer model has no depth for outliers to build up in. So the setup cannot show the
# cooperation the paper reports for this variant (`cooperation-nonapx`: *inconclusive*, its precondition fails).
#
# **Hybrids are on par with standard attention, but here that cannot fail.** (static, softmax) is at 1.002 [0.999,
# 1.006] of standard's loss, (linear, softmax) 1.004 [1.001, 1.010], (Non-apx, softmax) 1.004 [1.000, 1.009]: all well
# inside the +-3% band, as the paper's 1.003-1.009. But the hybrid whose first layer mixes nothing, (none, softmax), is at
# 1.006 [1.001, 1.011] too: with one softmax layer out of two, a 2-layer model on 64-token windows loses almost nothing
# when the other layer stops mixing, so every hybrid is on par whatever its relaxed layer does. The paper's hybrid MLP
# is outside the band (ppl 45.8 vs 38.1, a loss ratio of 1.051), which is what makes its on-par rows informative. The
# `hybrid-mlp-off-par` precondition (added in session 8, see below) asks for that, and fails here: the three on-par
# claims are *inconclusive*. The margins over the control (static 0.010 [0.0003, 0.020] nats, linear and Non-apx 0.005,
# intervals straddling zero) say the same: the relaxed layer adds little that a non-mixing layer does not.
#
# **The copy probe cannot show cooperation at this scale.** Standard attention predicts the second copy of a
# repeated random sequence only 0.057 nats better than the first (bar 0.5): these tiny models, trained on 16k tokens
# each, have not formed induction heads, so the probe has nothing for a hybrid to recover
# (`cooperation-static-copy`: *inconclusive*). List recall failed the same way in a pilot. A decisive test needs
# models that copy in context: deeper or wider models, or one to two orders of magnitude more training tokens.
#
# **Stability (seeds 5-9, 45 more models trained the same way on today's engine).** Before session 8, one verdict
# of nine moved: `hybrid-static-on-par` went from *reproduced* to *inconclusive*, because its margin over (none,
# softmax), 0.010 [0.0003, 0.020] nats in the record, was -0.004 [-0.026, 0.009] under seeds 5-9: a knife-edge that
# more seeds would not settle while the control itself sits inside the band (0.997 [0.990, 1.003] under seeds 5-9).
# The redesign adds `hybrid-mlp-off-par` to the three on-par claims (pre-registered before both reruns). With it no
# verdict moves (0 of 9); every share and ratio moved by less than 0.04. What would decide the on-par claims: a scale
# at which removing one layer's mixing costs more than the 3% band, e.g. longer contexts or deeper models.
