# %% [markdown]
# # Dynamic Chunking for End-to-End Hierarchical Sequence Modeling (H-Net, arXiv 2507.07955): does a byte-level model that learns its own chunks beat a BPE model?
#
# Hwang, Wang & Gu (2025), catalog id 125. H-Net reads raw bytes: a small encoder, a **router** that starts a new
# chunk where adjacent encoder states are dissimilar (`p_t = (1 - cos(q_t, k_{t-1})) / 2`), a main network over the
# chunks only, and a decoder back to bytes; a smoothing module and a straight-through confidence make the discrete
# boundaries trainable, and a ratio loss holds about N bytes per chunk.
#
# **Claims under test** (the abstract, v1): 1. at matched compute and data a one-stage byte-level H-Net
# outperforms a BPE Transformer (`beats-bpe`); 2. its improvement is larger on Chinese and code than on English
# (`gain-larger-on-zh-and-code`); 3. it learns meaningful chunk boundaries without supervision, here: at English word
# starts (`chunks-align-with-words`).
#
# **Replicated here, scaled down:** tiny models (about 0.2M parameters for the H-Net, 0.23M for the BPE model) trained
# from scratch for a few hundred steps on the same bytes, per domain and seed: English and Chinese LibreOffice help
# paragraphs (the same paragraphs in both languages) and Python stdlib source. The H-Net is `shared.lm.hierarchy`
# (router `learned`); its control is the same network with fixed 4-byte chunks (router `stride`); the baseline is a
# `shared.lm.family` transformer over a 512-piece BPE trained on each domain, given at least the H-Net's compute per
# byte. **Not replicated, and why:** the two-stage H-Net, the 1.3B-parameter / 100B-byte scale, the downstream
# benchmarks, DNA, and the character-noise robustness tests (see the README's scope table).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [1]  # training seeds: the unit of every interval (seed 0 was the sizing pilot: kept out)
DOMAINS = ["en", "zh", "code"]  # method.DOMAINS: English and Chinese help text (parallel), Python stdlib code
TRAIN_BYTES = 400000  # training text per domain (bytes; the models see STEPS x BATCH x WINDOW of it)
HELD_BYTES = 40000  # held-out text per domain (bytes)
WINDOW = 128  # bytes of text per training and evaluation window (the BPE model's window covers as many bytes)
STEPS = 120  # optimiser steps of every model
BATCH = 16  # windows per step
LR = 3e-3  # AdamW peak learning rate (warmup, cosine to 10%)
WARMUP = 20  # warmup steps
HIDDEN = 32  # byte encoder / decoder width
MAIN_HIDDEN = 64  # main network width (H-Net and stride)
ENCODER_LAYERS = 1  # byte encoder blocks
MAIN_LAYERS = 2  # main network blocks
DECODER_LAYERS = 1  # byte decoder blocks
HEADS = 4  # attention heads (every transformer)
TARGET_RATIO = 4.0  # bytes per chunk the ratio loss aims at; the stride control's chunk length
BPE_VOCAB = 512  # BPE pieces per domain (trained on the domain's training text)
BPE_HIDDEN = 64  # BPE transformer width
BPE_LAYERS = 4  # BPE transformer blocks (sized for at least the H-Net's MACs per byte: precondition)
THREADS = 1  # torch threads

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.hnet_2025 import method
from papers.hnet_2025.claims import CLAIMS, ENOUGH_SEEDS_CHUNKS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm import hierarchy as H
from shared.lm.bpe import train_bpe
from shared.lm.family import ModelSpec, make_model
from shared.lm.trainer import TrainConfig, train
from shared.results import start_run

run = start_run("hnet_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
torch.set_num_threads(THREADS)

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Data
# Per domain: the training and held-out text, a byte-level BPE trained on the training text, and the training text's
# unigram byte entropy (the `models-learned` reference).

# %%
data = {}
for dom in DOMAINS:
    t0 = time.perf_counter()
    train_docs, held_docs = method.domain_docs(dom, TRAIN_BYTES, HELD_BYTES)
    tok = train_bpe(train_docs, vocab_size=BPE_VOCAB)
    d = {"bytes": method.byte_stream(train_docs), "held": method.byte_stream(held_docs), "tok": tok,
         "tokens": method.token_stream(tok, train_docs), "held_tokens": method.token_stream(tok, held_docs),
         "byte_len": method.token_byte_lengths(tok)}  # fmt: skip
    counts = torch.bincount(d["bytes"], minlength=256).double()
    p = counts[counts > 0] / counts.sum()
    d["unigram_bits"] = float(-(p * p.log2()).sum())
    d["bpt"] = d["held"].numel() / d["held_tokens"].numel()
    data[dom] = d
    print(f"{dom}: {d['bytes'].numel():,} training bytes, {d['held'].numel():,} held out; BPE {d['bpt']:.2f} bytes "
          f"per token (held out); unigram entropy {d['unigram_bits']:.2f} bits/byte ({time.perf_counter() - t0:.1f} s)")

# %% [markdown]
# ## Sanity checks
# The BPE ids cover exactly the same bytes as the byte stream; an untrained byte model sits near 8 bits per byte (a
# uniform guess over 256 values); the stride router cuts exactly every `TARGET_RATIO` bytes; and the compute formula
# gives the H-Net's main network a quarter of the per-byte cost at 4 bytes per chunk.

# %% tags=["nbval-check-output"]
for dom, d in data.items():
    assert int(d["byte_len"][d["held_tokens"]].sum()) == d["held"].numel(), dom
    assert d["tok"].decode(d["held_tokens"].tolist()).encode("utf-8") == bytes(d["held"].tolist()), dom


def hnet_spec(router: str) -> H.ChunkSpec:
    return H.ChunkSpec(vocab_size=256, hidden_size=HIDDEN, heads=HEADS, encoder_layers=ENCODER_LAYERS,
                       main_layers=MAIN_LAYERS, decoder_layers=DECODER_LAYERS, main_hidden=MAIN_HIDDEN, router=router,
                       stride=int(TARGET_RATIO), target_ratio=TARGET_RATIO, context=WINDOW)  # fmt: skip


untrained = H.make_chunked(hnet_spec("learned"), seed=0)
bpb0, _ = H.bits_per_byte(untrained, data[DOMAINS[0]]["held"][: 20 * WINDOW + 1], WINDOW)
assert 7.0 < bpb0 < 9.5, bpb0
stride_model = H.make_chunked(hnet_spec("stride"), seed=0)
_, ratio_stride = H.bits_per_byte(stride_model, data[DOMAINS[0]]["held"][: 8 * WINDOW + 1], WINDOW)
assert ratio_stride == TARGET_RATIO
spec = hnet_spec("stride")
main_only = method.macs_per_byte_chunked(spec, 4.0, WINDOW) - method.macs_per_byte_chunked(spec, 1e9, WINDOW)
assert math.isclose(main_only * 4.0, MAIN_LAYERS * method.layer_macs(MAIN_HIDDEN, 4, (WINDOW / 4 + 1) / 2),
                    rel_tol=1e-6)  # fmt: skip
print("sanity checks passed: BPE ids cover the byte stream; untrained ~8 bits/byte; stride chunks; compute formula")

# %% [markdown]
# ## Experiment
# Every model sees the same text: `STEPS x BATCH` windows of `WINDOW` bytes (the BPE model's windows hold as many
# tokens as the domain's BPE needs for `WINDOW` bytes). Held-out bits per byte for each; for the byte hierarchies also
# the held-out bytes per chunk, and on English the boundaries' lift at word starts.

# %%
cfg_kw = dict(steps=STEPS, batch_size=BATCH, lr=LR, warmup=WARMUP, log_every=10**9, threads=THREADS,
              eval_every=max(1, STEPS // 4), eval_batches=8)  # held-out loss at 25/50/75/100% of the steps


def late_drop(result) -> float:
    """Relative fall of the held-out loss over the last quarter of the steps (fixed windows)."""
    a, b = result.evals[-2]["val_loss"], result.evals[-1]["val_loss"]
    return (a - b) / a

rows, started = [], time.perf_counter()
for seed in SEEDS:
    for dom, d in data.items():
        lift_ids = d["held"][: (d["held"].numel() // WINDOW) * WINDOW].view(-1, WINDOW)[:64]
        if dom == "en":
            lift_ids_en = lift_ids
        for arm in ("hnet", "stride", "bpe"):
            t0 = time.perf_counter()
            if arm == "bpe":
                w = max(8, round(WINDOW / d["bpt"]))
                lm_spec = ModelSpec(vocab_size=BPE_VOCAB, hidden_size=BPE_HIDDEN, layers=BPE_LAYERS, heads=HEADS,
                                    context=w)  # fmt: skip
                model = make_model(lm_spec, seed=seed)
                fit = train(model, d["tokens"], TrainConfig(seq_len=w, seed=seed, **cfg_kw), val_tokens=d["held_tokens"],
                            log=None)  # fmt: skip
                bpb = method.lm_bits_per_byte(model, d["held_tokens"], d["byte_len"], w)
                row = {"bpb": bpb, "bytes_per_unit": d["bpt"], "late_drop": late_drop(fit),
                       "macs_per_byte": method.macs_per_byte_lm(lm_spec, d["bpt"], w)}  # fmt: skip
            else:
                spec = hnet_spec("learned" if arm == "hnet" else "stride")
                model = H.make_chunked(spec, seed=seed)
                fit = train(model, d["bytes"], TrainConfig(seq_len=WINDOW, seed=seed, **cfg_kw), val_tokens=d["held"],
                            loss_fn=H.chunked_loss, log=None)  # fmt: skip
                bpb, ratio = H.bits_per_byte(model, d["held"], WINDOW)
                row = {"bpb": bpb, "bytes_per_unit": ratio, "late_drop": late_drop(fit),
                       "macs_per_byte": method.macs_per_byte_chunked(spec, ratio, WINDOW)}  # fmt: skip
                if dom == "en":
                    if arm == "hnet":
                        en_hnet = model  # kept for the chunking shown under the plots
                    with torch.no_grad():
                        model(input_ids=lift_ids)
                    row["lift"], row["precision"], row["base_rate"] = method.word_start_lift(lift_ids, model.last["starts"])
            rows.append({"seed": seed, "domain": dom, "arm": arm, **row, "seconds": time.perf_counter() - t0})
            print(f"seed {seed} {dom:4s} {arm:6s} {row['bpb']:.3f} bits/byte, {row['bytes_per_unit']:.2f} bytes per "
                  f"{'token' if arm == 'bpe' else 'chunk'} ({time.perf_counter() - t0:.1f} s; "
                  f"{time.perf_counter() - started:.0f} s in all)")
res = pd.DataFrame(rows)
print(res.groupby(["domain", "arm"])[["bpb", "bytes_per_unit", "macs_per_byte", "late_drop"]].mean())

# %% [markdown]
# ## Paper vs ours

# %%
def per_seed(dom: str, col: str, arm: str) -> np.ndarray:
    return res[(res.domain == dom) & (res.arm == arm)].sort_values("seed")[col].to_numpy()


def rel_gain(dom: str, arm: str) -> np.ndarray:
    bpe = per_seed(dom, "bpb", "bpe")
    return (bpe - per_seed(dom, "bpb", arm)) / bpe


others = [d for d in DOMAINS if d != "en"]
contrast = {arm: np.mean([rel_gain(d, arm) for d in others], axis=0) - rel_gain("en", arm) for arm in ("hnet", "stride")}
compute_ratio = min(float(per_seed(d, "macs_per_byte", "bpe")[i] / per_seed(d, "macs_per_byte", "hnet")[i])
                    for d in DOMAINS for i in range(len(SEEDS)))  # fmt: skip
worst = res.groupby(["domain", "arm"]).bpb.mean().div(pd.Series({d: data[d]["unigram_bits"] for d in DOMAINS}),
                                                        level="domain").max()  # fmt: skip
checks = {
    "hnet-compresses": method.t_mean(res[res.arm == "hnet"].groupby("seed").bytes_per_unit.mean()),
    "models-learned": Measurement.exact(float(worst)),
    "trained-to-plateau": Measurement.exact(float(res.late_drop.max())),
    "bpe-compute-at-least-hnet": Measurement.exact(compute_ratio),
    ENOUGH_SEEDS_CHUNKS.id: Measurement.exact(len(SEEDS), n_unit="seeds"),
}
measurements = {
    "beats-bpe": method.t_mean(per_seed("en", "bpb", "bpe") - per_seed("en", "bpb", "hnet"), unit="bits per byte"),
    "gain-larger-on-zh-and-code": method.t_mean(contrast["hnet"]),
    "chunks-align-with-words": method.t_mean(per_seed("en", "lift", "hnet")),
}
controls = {
    "beats-bpe": method.t_mean(per_seed("en", "bpb", "stride") - per_seed("en", "bpb", "hnet")),
    "gain-larger-on-zh-and-code": method.t_mean(contrast["hnet"] - contrast["stride"]),
    "chunks-align-with-words": method.t_mean(per_seed("en", "lift", "hnet") - per_seed("en", "lift", "stride")),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots
# Left: held-out bits per byte per domain and model (dots: seeds). Right: where the H-Net's router cut a held-out
# English window (`|` before each chunk start), against word starts.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
ax = axes[0]
arms = ["hnet", "stride", "bpe"]
for j, arm in enumerate(arms):
    for i, dom in enumerate(DOMAINS):
        vals = per_seed(dom, "bpb", arm)
        x = i + (j - 1) * 0.25
        ax.bar(x, vals.mean(), 0.24, color=f"C{j}", label=arm if i == 0 else None, alpha=0.8)
        ax.scatter(np.full(len(vals), x), vals, color="k", s=8, zorder=3)
ax.set(xticks=range(len(DOMAINS)), xticklabels=DOMAINS, ylabel="held-out bits per byte",
       title="Byte hierarchy (learned / fixed chunks) vs BPE transformer")  # fmt: skip
ax.legend(fontsize=8)
ax = axes[1]
lifts = res[(res.domain == "en") & (res.arm != "bpe")]
ax.bar([0, 1], [lifts[lifts.arm == a].lift.mean() for a in ("hnet", "stride")], color=["C0", "C1"], alpha=0.8)
ax.axhline(1.0, ls=":", c="gray", label="chance")
ax.axhline(2.0, ls="--", c="gray", label="bar 2")
ax.set(xticks=[0, 1], xticklabels=["H-Net (learned)", "stride (fixed)"], ylabel="lift at word starts",
       title="Chunk boundaries at English word starts")  # fmt: skip
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "hnet")
plt.show()

# the last English H-Net's chunking of one held-out window, for reading
with torch.no_grad():
    en_hnet(input_ids=lift_ids_en[:1])
marks = en_hnet.last["starts"][0].tolist()
print("".join(("|" if cut and i else "") + (chr(b) if 32 <= b < 127 else " ")
              for i, (b, cut) in enumerate(zip(lift_ids_en[0].tolist(), marks))))

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# See the README: what held, what did not, and how far a 1M-parameter, few-hundred-step test can speak to a claim made
# at 1.3B parameters and 100B bytes.
