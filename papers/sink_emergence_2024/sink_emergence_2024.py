# %% [markdown]
# # When Attention Sink Emerges (arXiv 2410.10781): first-token sinks exist in pretrained LMs, emerge in training under softmax, and vanish without normalisation
#
# Gu, Pang, Du, Liu, Zhang, Du, Wang & Lin, *When Attention Sink Emerges in Language Models: An Empirical View*
# (ICLR 2025), catalog id 103. The paper's metric is $\mathrm{Sink}_k^\epsilon$: with
# $\alpha_h^l(k) = \frac{1}{T-k+1}\sum_{i \ge k} A_{h,ik}^l$ the mean attention key $k$ receives from the queries that
# can see it, the share of heads (over layers, heads and sequences) with $\alpha_h^l(k) > \epsilon$; $\epsilon = 0.3$,
# $T = 64$, no BOS added by the paper for its own models.
#
# **Claims under test.**
# 1. Sinks on the first token exist in pretrained LMs on natural text and on random tokens, and only on the first
#    token (Sec. 3). Measured on the zoo's SmolLM2-135M-Instruct and Gemma-3-270M (scaled-down: not the paper's models).
# 2. Sinks emerge during training under softmax attention (Sec. 4); sigmoid attention without row normalisation
#    develops none at a comparable loss (Sec. 7, the key finding); a learnable key bias with zero value takes the
#    sink off the first token (Sec. 7). Measured on tiny from-scratch Llamas (**analogue**, see below).
#
# **Why an analogue for the training claims.** At CPU scale (a 2-layer, d = 64 Llama, a few hundred steps of 1k
# tokens), a model trained on the project corpus itself develops no sink: in a pilot of 1,000 steps (about 1M
# tokens, with and without a `<bos>` prefix) Sink_1 stayed below 1%. This agrees with the paper, which finds sinks
# only after effective optimisation on enough data, but cannot test anything. So the models here learn a
# *bigram-backcopy* task built from the project corpus: sequences follow the corpus' bigram statistics over its 256
# most frequent project-BPE tokens, except that after a trigger token the next token repeats the one before the
# trigger. A head that copies after triggers must do nothing elsewhere, and under softmax "nothing" has to be
# somewhere; every training window starts with `<bos>`, which is where the sink can form. Same metric, same three
# attention operations, a task that makes the softmax constraint bite within seconds.
#
# **Not replicated:** the paper's 60M-1B LLaMAs on 5B Pile tokens and its sweeps over learning rate, batch size,
# weight decay, data amount, positional encoding, FFN, LN placement, prefix LM and sliding windows; the value-bias
# and massive-activation analyses; the no-BOS emergence (it did not appear at CPU scale).
#
# **Power preconditions** of the training claims: each needs a minimum number of seeds (`claims.MIN_SEEDS`: 6, 6,
# 11 and 21), derived in `claims.py` from the per-seed spread of the committed `full` record and the estimate's
# distance to its bar. The 5-seed default says *inconclusive* on all four; the 21-seed `full` decides them.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
EPS = 0.3  # sink threshold epsilon of Sink_k^eps (paper: 0.3)
PROBE_LEN = 64  # tokens per probe sequence T (paper: 64)
ZOO_MODELS = ["smollm2-135m-instruct", "gemma-3-270m"]  # pretrained models from the zoo
ZOO_SEQS = 16  # natural and random probe sequences per pretrained model (paper: 100)
ZOO_TEXT = "fortunes"  # natural-text corpus of data/text for the pretrained models
SEEDS = [0, 1, 2, 3, 4]  # training seeds per attention variant (the units of the training claims; claims.MIN_SEEDS)
VARIANTS = ["softmax", "sigmoid", "key_bias"]  # attention operations trained from scratch
STEPS = 150  # optimiser steps per model
LR = 0.01  # peak learning rate (warmup, cosine decay to 10%)
WARMUP = 15  # warmup steps
BATCH = 16  # windows per step
SEQ_LEN = 63  # tokens per training window, after the <bos> prefix: 64 in all, = PROBE_LEN
WEIGHT_DECAY = 0.1  # AdamW weight decay (paper default 0.1)
HIDDEN = 64  # model width d
LAYERS = 2  # transformer blocks
HEADS = 4  # attention heads per block
VOCAB_KEEP = 256  # most frequent project-BPE tokens kept for the bigram-backcopy task
TRIGGERS = [1, 2, 3]  # frequency ranks of the trigger tokens
CHAINS = 256  # bigram-backcopy chains in the training stream
CHAIN_LEN = 512  # tokens per chain
PROBE_SEQS = 64  # held-out probe sequences for the trained models
MEASURE_EVERY = 25  # steps between sink measurements during training
TRAIN_THREADS = 1  # torch threads of the training loop (other values change the last digits, as another CPU does)
CACHE = True  # keep trained models under runs/cache/, keyed by every setting and the code, so re-runs skip training

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.sink_emergence_2024 import method
from papers.sink_emergence_2024.claims import CLAIMS, ENOUGH_SEEDS
from shared import ROOT
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import load_text
from shared.kvcache.attention import attention_maps, sink_mass
from shared.lm.family import family_attention
from shared.lm.pipeline import load_stream
from shared.lm.tasks import BigramBackcopy
from shared.lm.trainer import TrainConfig
from shared.lm.vocab import frequent_vocab
from shared.models import load, require
from shared.results import start_run

require(*ZOO_MODELS)
run = start_run("sink_emergence_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
BPE_DIR = ROOT / "shared" / "lm" / "trained" / "bpe-8k"
CACHE_DIR = ROOT / "papers" / "sink_emergence_2024" / "runs" / "cache" if CACHE else None

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The metric against hand-computable cases and against the shared `sink_mass`; each registered attention operation
# against what it should compute: `sink_softmax` gives the same logits as transformers' eager attention, sigmoid
# weights are row-normalised only for the metric, and a key-bias slot that no query can reach changes nothing.

# %% tags=["nbval-check-output"]
T = 8
uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1).unsqueeze(1)  # query i spreads 1/(i+1) evenly
expected = torch.tensor([sum(1 / (i + 1) for i in range(k, T)) / (T - k) for k in range(T)])
torch.testing.assert_close(method.importance(uniform), expected)
all_on_first = torch.zeros(1, 1, 1, T, T)
all_on_first[..., 0] = 1.0
assert method.sink_metric(all_on_first)[0] == 100 and method.sink_metric(all_on_first)[1:].max() == 0

tiny = {"hidden_size": 32, "layers": 2, "heads": 2, "context": 64}
ids = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(0))
ours = method.make_model("softmax", 50, seed=0, **tiny)
ref = method.make_model("softmax", 50, seed=0, **tiny)
ref.set_attn_implementation("eager")
with torch.no_grad():
    torch.testing.assert_close(ours(input_ids=ids).logits, ref(input_ids=ids).logits)
attn = method.attention_probs(ours, ids)
torch.testing.assert_close(attn[0], attention_maps(ref, ids[0]))
# the paper averages over queries i >= k, the shared sink_mass over queries after the first: skip=0 is the paper's
torch.testing.assert_close(method.importance(attn[0])[..., 0], sink_mass(attn[0], 0, skip=0))

sig = method.attention_probs(method.make_model("sigmoid", 50, seed=0, **tiny), ids)
torch.testing.assert_close(sig.sum(-1), torch.ones(sig.shape[:-1]))
# a zero-value slot only scales each query's softmax output by the share of attention the real keys keep
stub = torch.nn.Module()
stub.sink_key = torch.randn(2, 4)
q, k, v = torch.randn(3, 1, 2, 5, 4).unbind(0)  # [B, H, T, D] each
stub.variant = "key_bias"
out_kb, p_kb = family_attention(stub, q, k, v, None, scaling=0.5)
stub.variant = "softmax"
out_sm, _ = family_attention(stub, q, k, v, None, scaling=0.5)
torch.testing.assert_close(out_kb, out_sm * (1 - p_kb[..., 0]).transpose(1, 2).unsqueeze(-1))
print("metric, shared sink_mass and attention operations agree")

# %% [markdown]
# ## Pretrained models: Sink_k on natural text and random tokens
# Natural probes are the first 64 tokens of fortunes with at least 64 tokens, tokenised with each tokenizer's default
# prefix (`<bos>` for Gemma, none for SmolLM2); random probes are uniform token ids with no special token. Gemma's
# random tokens are also measured with its `<bos>` in front (`random+bos`), since Gemma's tokenizer always adds it.

# %%
texts = load_text(ZOO_TEXT)["text"]
zoo_rows, zoo_seq, zoo_seqk, zoo_curves = [], {}, {}, []
for name in ZOO_MODELS:
    model, tok = load(name, attn_implementation="eager")
    natural = []
    for text in texts:
        ids = tok(text).input_ids
        if len(ids) >= PROBE_LEN:
            natural.append(ids[:PROBE_LEN])
        if len(natural) == ZOO_SEQS:
            break
    g = torch.Generator().manual_seed(run.seeds[0])
    rand = torch.randint(0, len(tok), (ZOO_SEQS, PROBE_LEN), generator=g)
    inputs = {"natural": torch.tensor(natural), "random": rand}
    if tok.bos_token_id is not None and natural[0][0] == tok.bos_token_id:
        inputs["random+bos"] = torch.cat([torch.full((ZOO_SEQS, 1), tok.bos_token_id), rand[:, 1:]], 1)
    for kind, x in inputs.items():
        attn = method.attention_probs(model, x)  # [N, L, H, T, T]
        sink = method.sink_metric(attn, EPS)
        zoo_seq[name, kind] = method.sink_per_sequence(attn, EPS).tolist()
        # per sequence, Sink_k for k = 1..10: the units of the first-token-only interval
        zoo_seqk[name, kind] = ((method.importance(attn)[..., :10] > EPS).float().mean(dim=(1, 2)) * 100).tolist()
        zoo_curves += [{"model": name, "input": kind, "k": k + 1, "sink": float(sink[k])} for k in range(10)]
        zoo_rows.append({"model": name, "input": kind, "layers x heads": f"{attn.shape[1]}x{attn.shape[2]}",
                         "Sink_1 %": float(sink[0]), "max Sink_2..10 %": float(sink[1:10].max())})  # fmt: skip
    del model
zoo = pd.DataFrame(zoo_rows).set_index(["model", "input"])
zoo_curves = pd.DataFrame(zoo_curves)

# %%
zoo.round(2)

# %% [markdown]
# ## Training: softmax vs sigmoid without normalisation vs a learnable key bias
# The bigram-backcopy stream is sampled from the project corpus' bigram matrix (its `VOCAB_KEEP` most frequent BPE
# tokens; the rest share one id), with the tokens of frequency ranks `TRIGGERS` as triggers
# (`shared.lm.tasks.BigramBackcopy`). Every model is a 2-layer Llama of the `shared.lm.family` whose `attention`
# variant is the one under study, trained by the shared trainer (one model per core at a time); the sink is measured on held-out chains every
# `MEASURE_EVERY` steps.

# %%
corpus = load_stream(BPE_DIR, "train")
lookup = frequent_vocab(corpus, VOCAB_KEEP, int(corpus.max()) + 1)
task = BigramBackcopy.from_tokens(lookup[corpus], VOCAB_KEEP + 1, TRIGGERS)
bos = VOCAB_KEEP + 1  # a token id of its own, never produced by the chains
vocab = VOCAB_KEEP + 2
stream = task.stream(CHAINS, CHAIN_LEN, seed=run.seeds[0])
val = task.stream(max(PROBE_SEQS, 64), CHAIN_LEN, seed=10_000)
probe = method.probe_windows(val, PROBE_SEQS, PROBE_LEN - 1, seed=1)
probe = torch.cat([torch.full((PROBE_SEQS, 1), bos), probe], dim=1)  # [N, T]: <bos> + 63 tokens
size = {"hidden_size": HIDDEN, "layers": LAYERS, "heads": HEADS, "context": 2 * PROBE_LEN}

jobs = []
for variant in VARIANTS:
    for seed in SEEDS:
        cfg = TrainConfig(steps=STEPS, batch_size=BATCH, seq_len=SEQ_LEN, lr=LR, warmup=WARMUP,
                          weight_decay=WEIGHT_DECAY, seed=seed, eval_every=STEPS, eval_batches=8, threads=TRAIN_THREADS)  # fmt: skip
        jobs.append(dict(variant=variant, stream=stream, val=val, probe=probe, cfg=cfg, size=size, vocab_size=vocab,
                         bos_id=bos, measure_every=MEASURE_EVERY, cache_dir=CACHE_DIR))  # fmt: skip
# one model per core at a time (the kernel's thread count): the same numbers as one after the other
logs = method.train_all(jobs, workers=torch.get_num_threads())
curves, finals = [], []
for job, log in zip(jobs, logs):
    variant, seed = job["variant"], job["cfg"].seed
    curves += [{"variant": variant, "seed": seed, **row} for row in log["curve"]]
    first, last = log["curve"][0], log["curve"][-1]
    finals.append({"variant": variant, "seed": seed, "val_loss": log["val_loss"], "sink1_init": first["sink1"],
                   "sink1": last["sink1"], "sink_next": last["sink_next"], "slot": last.get("slot", np.nan)})  # fmt: skip
curves, finals = pd.DataFrame(curves), pd.DataFrame(finals)

# %%
summary_cols = ["val_loss", "sink1_init", "sink1", "sink_next", "slot"]
finals.groupby("variant", sort=False)[summary_cols].agg(["mean", "std"]).round(3)

# %% [markdown]
# ## Paper vs ours

# %%
by = finals.set_index(["variant", "seed"])
soft, sigm, kbias = (by.loc[v] for v in ("softmax", "sigmoid", "key_bias"))
share = {"n_unit": "probe sequences", "bounds": (0.0, 100.0)}
per_seed = {"n_unit": "seeds", "bounds": (0.0, 100.0)}
natural_units = list(zip(*(zoo_seqk[m, "natural"] for m in ZOO_MODELS)))  # sequence i of each model
measurements = {
    "natural-smollm2": Measurement.mean(zoo_seq[ZOO_MODELS[0], "natural"], **share),
    "natural-gemma3": Measurement.mean(zoo_seq[ZOO_MODELS[1], "natural"], **share),
    "random-smollm2": Measurement.mean(zoo_seq[ZOO_MODELS[0], "random"], **share),
    "random-gemma3": Measurement.mean(zoo_seq[ZOO_MODELS[1], "random"], **share),
    "first-token-only": Measurement.bootstrap(natural_units, method.first_token_margin, n_unit="probe sequences"),
    "softmax-emerges": Measurement.paired_difference(soft.sink1, soft.sink1_init, n_unit="seeds"),
    "sigmoid-no-sink": Measurement.mean(sigm.sink1, **per_seed),
    "sigmoid-matched-loss": Measurement.mean((sigm.val_loss - soft.val_loss) / soft.val_loss, n_unit="seeds"),
    "key-bias-absorbs": Measurement.bootstrap(
        list(zip(kbias.sink1, soft.sink1)), method.ratio_of_means, n_unit="seeds", bounds=(0.0, float("inf"))
    ),
}
checks = {"softmax-has-sink": Measurement.mean(soft.sink1, **per_seed)}
# the power preconditions of the training claims: the run's number of seeds (claims.MIN_SEEDS)
checks.update({p.id: Measurement.exact(len(SEEDS), n_unit="seeds") for p in ENOUGH_SEEDS.values()})
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
ax = axes[0]
for (name, kind), grp in zoo_curves.groupby(["model", "input"], sort=False):
    ax.plot(grp.k, grp.sink, "o-" if kind == "natural" else "s--", label=f"{name}, {kind}")
ax.set(xlabel="token position k", ylabel=r"Sink$_k^{0.3}$ (% of heads)", title="Pretrained LMs: sink by position")
ax.legend(fontsize=7)

ax = axes[1]
colors = {"softmax": "C0", "sigmoid": "C1", "key_bias": "C2"}
for variant, grp in curves.groupby("variant", sort=False):
    mean = grp.groupby("step").sink1.mean()
    ax.plot(mean.index, mean.values, "-", color=colors[variant], label=f"{variant}: first token")
    for _, g in grp.groupby("seed"):
        ax.plot(g.step, g.sink1, "-", color=colors[variant], alpha=0.25, lw=0.8)
    if variant == "key_bias":
        slot = grp.groupby("step").slot.mean()
        ax.plot(slot.index, slot.values, ":", color=colors[variant], label="key_bias: the slot")
ax.set(xlabel="training step", ylabel=r"Sink$_1^{0.3}$ (% of heads)", title="Trained from scratch (bigram-backcopy)")
ax.legend(fontsize=7)

ax = axes[2]
for variant, grp in curves[curves.step > 0].groupby("variant", sort=False):
    mean = grp.groupby("step").loss.mean()
    ax.plot(mean.index, mean.values, color=colors[variant], label=variant)
ax.set(xlabel="training step", ylabel="training loss (nats)", title="Loss: the variants fit the task alike")
ax.legend(fontsize=7)
fig.tight_layout()
run.save_figure(fig, "sinks")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (16 probe sequences per pretrained model; 5 seeds x 3 attention operations, 150 steps of 16 x 64
# tokens each). Every value has a 95% bootstrap interval over its units: probe sequences for the pretrained models,
# training seeds for the trained ones.
#
# **Pretrained models.** Both zoo models have a massive first-token sink on natural text: 74.6% [70.6, 77.3] of
# SmolLM2's 270 heads and 82.4% [81.3, 83.3] of Gemma-3's 72 heads put more than 0.3 of their attention on the first
# token on average, while no later position (k = 2..10) reaches 5% (margin 73.3 [68.1, 77.5] points). SmolLM2 keeps
# the sink on uniformly random tokens (76.3%), as the paper reports for its models. Gemma-3 does not: on random tokens
# *without* `<bos>` no head is a sink (0 in all 16 sequences), but with its `<bos>` in front of the same random tokens
# 78% are. Gemma's sink is a `<bos>` sink, not a first-position sink; the pre-registered `random-gemma3` claim (random
# tokens, no special token) is therefore *not reproduced*. The paper's own models were measured with their
# tokenizers' defaults, and we could not check offline whether its random-token inputs kept a BOS.
#
# **Training (default, 5 seeds x 150 steps).** Under softmax a `<bos>` sink grows from 0 at initialisation to 8.5%
# [1.3, 17.5] of heads; sigmoid attention without normalisation, same data, seeds and schedule, has almost none, 0.20%
# [0.08, 0.31], at a loss 3.0% [0.3, 4.7] above softmax; with a learnable key bias and zero value the first-token sink
# is 1.03 [0.15, 2.74] times softmax's. All four training claims are *inconclusive* here by design: each has a power
# precondition (`claims.MIN_SEEDS`: 6, 6, 11 and 21 seeds, derived from the per-seed spread of the earlier 5-seed
# `full` record and each estimate's distance to its bar), and 5 seeds meet none. At 5 seeds the verdicts moved with
# the seeds and with the CPU (issue 14); the precondition makes the default say so instead of guessing.
#
# **`full` profile** (100 probe sequences, 21 seeds x 600 steps; 355 s with seeds 0-11 cached, about 11 min cold;
# `results/full.json`): the pretrained-model numbers hold (SmolLM2 73% natural, 77% random; Gemma 81% natural, 0.01%
# random without `<bos>`; first token 72.6 points over positions 2-10). With all preconditions met: `softmax-emerges`
# is *reproduced*, 23.5% [18.6, 28.4] of heads. Sigmoid without normalisation has little sink, 1.1% [0.4, 3.3], but
# the per-seed values are heavy-tailed (17 of 21 seeds under 1%, four at 2.75-12.4%), so the interval crosses the 2%
# bar: *partially reproduced* (the 12-seed run, seeds 0-11, had 0.31% [0.06, 1.2]). Its loss is 3.3% [2.8, 3.8] above
# softmax, straddling the 3% bar (*partially reproduced*). The key-bias ratio is 1.04 [0.84, 1.28], wholly above the
# partial bar 0.6 with the softmax sink firm: *not reproduced*. In these tiny models, after 600 steps, the slot does not
# take the sink off the first token: the slot becomes a sink of its own in 13 of 21 seeds (up to 23% of heads), yet
# the first-token sink stays as large as softmax's; the paper's 60M models, trained 20k steps, report that it moves.
#
# **What the default run cannot show.** Emergence on the project corpus itself: at CPU scale (a pilot of 1M tokens
# with and without `<bos>`) tiny models trained on the raw text stay below 1%. That is consistent with the paper's
# finding that sinks need effective optimisation on enough data, but it is not a test of it, which is why the
# training claims use the bigram-backcopy analogue and are labelled as such.
