# %% [markdown]
# # Triadic Suffix Tokenization (arXiv 2604.11582): do magnitude-marked triads help tiny LMs do arithmetic?
#
# Chetverina, *A Triadic Suffix Tokenization Scheme for Numerical Reasoning* (2026, v1), catalog id 6. TST writes a
# number as three-digit triads, each followed by an explicit magnitude marker: `1234567` -> `1 <m> 234 <k> 567`,
# `12.5` -> `12 . 500 <p>` (fraction triads zero-padded, replicated depth markers `<p>`, `<pp>`, ...). The paper is a
# **proposal**: it argues that the markers make order of magnitude "transparent at the token level" and that
# inconsistent subword fragmentation is "a primary driver of errors in arithmetic", and defers every experiment
# ("Experimental validation is deferred to future work").
#
# **Tested here, as an analogue:** tiny from-scratch LMs (`shared.lm.family`, trained by `shared.lm.trainer`), one
# per number tokenisation and seed, on a mixture of integer addition, integer comparison and decimal comparison,
# at equal training tokens; exact match of greedy decoding on held-out problems in the training length range and,
# for integers, one digit longer. Tokenisations (`method.py`): single digits; a 1000-piece BPE over numbers (HF
# `tokenizers`); triads without markers (`chunk3`); TST (its suffix-marker variant); and the trivial control
# `placebo`, TST with every marker replaced by one constant token. **Not tested:** the vocabulary variant (10,000
# fixed tokens), pretrained LLMs, multiplication and scientific reasoning (see the README's scope table).
#
# The trained weights (fp16, ~0.3 MB each) are stored under `checkpoints/<profile>/`, keyed by every training
# setting: the default run evaluates the shipped ones; a missing checkpoint (other seeds, the `full` profile) is
# trained by the run that needs it. The claims and their verdict rules are fixed in `claims.py` before anything runs.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # training seeds: the claims' units (5 until session 11)
SCHEMES = ["digit", "bpe", "chunk3", "tst", "placebo"]  # number tokenisations of method.py
OPS = ["add", "cmp", "dcmp"]  # trained together, one op per example in turn
TRAIN_DIGITS = [1, 4]  # integer operands have 1..4 digits in training (and in the in-range evaluation)
LONG_DIGITS = 5  # the length-generalisation evaluation: both operands of exactly 5 digits
BPE_VOCAB = 1000  # BPE pieces (learned over BPE_NUMBERS training-distribution numbers, data seed 0)
BPE_NUMBERS = 20000  # problems whose numbers the BPE learns from
VOCAB_SIZE = 1130  # every model's embedding table (the largest scheme's vocabulary): the same model for every scheme
HIDDEN = 64  # model width
LAYERS = 2  # transformer blocks
HEADS = 4  # attention heads
CONTEXT = 64  # longest sequence
TOKENS = 600000  # training token positions per model (equal compute: steps = TOKENS / (BATCH * mean length))
BATCH = 64  # problems per step
LR = 0.01  # peak learning rate (warmup, cosine to 10%)
WARMUP = 50  # warmup steps
EVAL_N = 300  # held-out problems per op and length (the same problems for every scheme and seed)
EVAL_SEED = 1000  # data seed of the held-out problems
TRAIN_THREADS = 1  # torch threads
CHECKPOINT_DIR = "checkpoints/default"  # stored weights, relative to the paper folder (or absolute)

# %%
from dataclasses import asdict
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.tst_2026 import method
from papers.tst_2026.claims import CLAIMS, FLOOR, LONG_OPS
from shared import ROOT
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm.family import ModelSpec
from shared.lm.trainer import TrainConfig
from shared.results import start_run

run = start_run("tst_2026", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
torch.set_num_threads(TRAIN_THREADS)
PAPER_DIR = ROOT / "papers" / "tst_2026"
CKPT = Path(CHECKPOINT_DIR) if Path(CHECKPOINT_DIR).is_absolute() else PAPER_DIR / CHECKPOINT_DIR
DIGITS = tuple(TRAIN_DIGITS)

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## The tokenisations
# TST's worked format (the author's reference converter writes `1234567` as `1m 234k 567`; the suffix-marker variant
# makes each marker its own token), the triads without markers, the placebo, digits and the learned BPE, with a round
# trip of every scheme through decode. The BPE is learned once (data seed 0) from the numbers of `BPE_NUMBERS`
# training-distribution problems, operands and sums.

# %% tags=["nbval-check-output"]
import random  # noqa: E402

rng = random.Random(0)
bpe_numbers = []
for i in range(BPE_NUMBERS):
    op = OPS[i % len(OPS)]
    a, b, ans = method.make_problem(op, rng, DIGITS)
    bpe_numbers += [a, b] + ([ans] if op == "add" else [])
bpe = method.train_bpe(bpe_numbers, BPE_VOCAB)
vocabs = {s: method.Vocab.build(s, bpe) for s in SCHEMES}
assert max(len(v) for v in vocabs.values()) <= VOCAB_SIZE
assert method.encode("1234567", "tst") == ["1", "<m>", "234", "<k>", "567"]
assert method.decode(["1", "<m>", "234", "<k>", "567"], "tst") == "1234567"
for number in ["1234567", "100400", "9.11", "9.9", "40.305"]:
    print(f"{number:>8}: " + " | ".join(f"{s}: {' '.join(method.encode(number, s, bpe))}" for s in SCHEMES))
    assert all(method.decode(method.encode(number, s, bpe), s) == method.canonical(number) for s in SCHEMES)
print(f"vocabularies: {', '.join(f'{s} {len(v)}' for s, v in vocabs.items())}; every model has {VOCAB_SIZE} rows")

# %% [markdown]
# ## Equal compute
# Every scheme trains the same model (same width, depth and a `VOCAB_SIZE`-row embedding table, so the same
# parameters and FLOPs per token) on the same number of token positions, `TOKENS`. A scheme that writes problems in
# fewer tokens sees more problems in the same compute, which is the efficiency the paper's triads trade against the
# length its markers add; the step count follows from each scheme's mean sequence length (padding excluded). Equal
# tokens rather than equal problems, because the compute of a fixed model is proportional to the token positions it
# processes (the attention term is negligible at these lengths of 10-25 tokens).

# %% tags=["nbval-check-output"]
lengths = {s: method.mean_tokens(vocabs[s], tuple(OPS), DIGITS) for s in SCHEMES}
steps = {s: round(TOKENS / (BATCH * lengths[s])) for s in SCHEMES}
compute = pd.DataFrame({"mean tokens per problem": lengths, "steps": steps,
                        "problems seen": {s: steps[s] * BATCH for s in SCHEMES}})  # fmt: skip
print(compute.round(2).to_string())

# %% [markdown]
# ## Experiment
# Every seed trains every scheme: the same initial weights (`make_model` seeds before building), the same stream of
# problems (the trainer's generator, seeded by the seed, draws each batch), the scheme's own number of steps. Loss on
# the answer tokens only. Exact match is scored on `EVAL_N` held-out problems per op in the training range, and for
# the integer ops also with both operands of `LONG_DIGITS` digits.

# %%
spec = ModelSpec(vocab_size=VOCAB_SIZE, hidden_size=HIDDEN, layers=LAYERS, heads=HEADS, context=CONTEXT)
evalsets = {(op, "in"): method.eval_problems(op, DIGITS, EVAL_N, EVAL_SEED + i) for i, op in enumerate(OPS)}
evalsets |= {(op, "long"): method.eval_problems(op, (LONG_DIGITS, LONG_DIGITS), EVAL_N, EVAL_SEED + 10 + i)
             for i, op in enumerate(LONG_OPS)}  # fmt: skip
rows, logs = [], []
for seed in SEEDS:
    for scheme in SCHEMES:
        cfg = TrainConfig(steps=steps[scheme], batch_size=BATCH, lr=LR, warmup=WARMUP, seed=seed, eval_every=10**9,
                          log_every=10**9, threads=TRAIN_THREADS)  # fmt: skip
        key = method.settings_key(spec=spec.to_dict(), cfg=asdict(cfg), scheme=scheme, ops=OPS, digits=DIGITS,
                                  bpe=[BPE_VOCAB, BPE_NUMBERS])  # fmt: skip
        batches = method.sampler(vocabs[scheme], tuple(OPS), DIGITS, BATCH)
        model, log = method.train_or_load(spec, cfg, batches, CKPT / f"{scheme}-s{seed}-{key}.safetensors", key)
        logs.append({"seed": seed, "scheme": scheme, **log})
        for (op, where), problems in evalsets.items():
            hits = method.exact_match(model, vocabs[scheme], problems)
            rows.append({"seed": seed, "scheme": scheme, "op": op, "where": where, "acc": sum(hits) / len(hits)})
results = pd.DataFrame(rows)
train_log = pd.DataFrame(logs)
print(f"{int(train_log.trained_here.sum())} models trained in this run, {int((~train_log.trained_here).sum())} loaded")

# %%
table = results.pivot_table(index="scheme", columns=["where", "op"], values="acc", aggfunc="mean").loc[SCHEMES]
table

# %%
results.pivot_table(index="scheme", columns=["where", "op"], values="acc", aggfunc="std").loc[SCHEMES]

# %% [markdown]
# ## Paper vs ours
# Every claim is a mean per-seed difference of exact match, TST minus the other scheme, with a bootstrap interval
# over seeds. The suffix claims also pass TST's margin over the placebo; the preconditions are the per-seed better of
# the two compared schemes' in-range accuracy against the op's floor.

# %%
acc = results.set_index(["scheme", "op", "where", "seed"]).acc


def a(scheme, op, where):
    return [acc[scheme, op, where, s] for s in SEEDS]


def diff(other, op, where):
    return Measurement.paired_difference(a("tst", op, where), a(other, op, where), n_unit="seeds")


measurements, controls, checks = {}, {}, {}
for claim in CLAIMS:
    where = "long" if claim.id.startswith("long-") else "in"
    op = claim.id.rsplit("-", 1)[1]
    other = "chunk3" if "suffix" in claim.id else claim.id.split("-")[-2]
    measurements[claim.id] = diff(other, op, where)
    if claim.control is not None:
        controls[claim.id] = diff("placebo", op, where)
    for p in claim.preconditions:
        best = [max(x, y) for x, y in zip(a("tst", op, "in"), a(other, op, "in"))]
        checks[p.id] = Measurement.mean(best, n_unit="seeds")
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, where, ops in ((axes[0], "in", OPS), (axes[1], "long", LONG_OPS)):
    width = 0.8 / len(SCHEMES)
    for k, scheme in enumerate(SCHEMES):
        means = [table[where, op][scheme] for op in ops]
        ax.bar([i + k * width for i in range(len(ops))], means, width, label=scheme, color=f"C{k}")
        for i, op in enumerate(ops):
            ax.plot([i + k * width] * len(SEEDS), a(scheme, op, where), "k.", ms=3)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(ops))], ops)
    for i, op in enumerate(ops):
        ax.hlines(FLOOR[op], i - width / 2, i + 0.8 - width / 2, colors="grey", linestyles=":")
    ax.set(title=f"{'training range' if where == 'in' else f'{LONG_DIGITS}-digit operands (longer than training)'}",
           ylabel="exact match (mean over seeds; dots: seeds)")  # fmt: skip
axes[0].legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "exact_match")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (see the README for the verdicts of both profiles).
