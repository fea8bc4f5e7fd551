# %% [markdown]
# # Lexinvariant Language Models (arXiv 2305.16349): an LM with no fixed token embeddings closes its perplexity gap with context and deciphers substitution ciphers
#
# Huang, Zelikman, Chen, Wu, Valiant & Liang, *Lexinvariant Language Models* (NeurIPS 2023), catalog id 25. A
# lexinvariant LM gives every lexical permutation of a sequence the same probability. The paper builds one by drawing,
# for every sequence, a fresh Gaussian code per token id and using it as both input and output embedding (the same
# token has the same code within a sequence, different codes across sequences): the model can only know what a token
# *is* from how it co-occurs and repeats in the context.
#
# **Claims under test.**
# 1. The perplexity gap to a standard LM shrinks as the context grows (Sec. 1, Sec. 3.2: "from 9X to less than 1X ...
#    after observing 512 tokens", character vocabulary): `gap-shrinks`, `gap-late`.
# 2. Given a substitution cipher of English, the lexinvariant LM infers the mapping to the real tokens in context
#    (abstract, Sec. 5.1): `decipher`; a standard LM cannot without the key: `standard-cannot`.
#
# **Replicated here (scaled-down / analogue):** 2-layer, d = 64 models of the project's model family
# (`shared.lm.family`, `embedding="standard"` vs `"random_codes"`) trained by the shared trainer on a 28-symbol
# character stream of the project corpus (fortunes), both models on the same windows with the same seed and steps.
# Deciphering is read out by linear probes on the frozen models' hidden states. **Not replicated:** the 150M models,
# The Pile, the 32K-token vocabulary, the theory (Sec. 2), the synthetic reasoning tasks (Sec. 5.2) and the
# regularisation of standard LMs towards lexinvariance (Sec. 6); see the README's Scope table.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # training seeds (the units): one standard and one lexinvariant model each
CONTEXT = 128  # characters per training and evaluation window (paper: up to 512)
STEPS = 80  # optimiser steps per model
BATCH = 8  # windows per step
LR = 0.01  # peak learning rate (warmup, cosine decay to 10%)
WARMUP = 8  # warmup steps
HIDDEN = 64  # model width d
LAYERS = 2  # transformer blocks
HEADS = 4  # attention heads per block
EVAL_WINDOWS = 64  # held-out windows for losses and probe accuracy
EARLY = 16  # the early bin: the first EARLY predicted characters
PROBE_WINDOWS = 32  # enciphered training windows the probes learn from (all positions)
PROBE_STEPS = 150  # full-batch Adam steps of each linear probe
TRAIN_THREADS = 1  # torch threads of the training loop (fixed, so that the trained weights do not depend on it)

# %%
import math

import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.lexinvariant_2023 import method
from papers.lexinvariant_2023.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import load_text
from shared.lm.trainer import TrainConfig, train
from shared.results import start_run

run = start_run("lexinvariant_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
V = len(method.CHARSET) + 1  # 26 letters, the space, one id for every other character
LATE = CONTEXT - CONTEXT // 4  # the late bin: the last quarter of the predicted characters

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The cipher round-trips; the in-context counter is a proper distribution with the known loss on a constant sequence;
# the frequency-rank decipherer is exact when the in-context ranks equal the corpus ranks; and the random-code model is
# lexinvariant: enciphering its input while permuting its codes the same way leaves its predictions unchanged.

# %% tags=["nbval-check-output"]
g = torch.Generator().manual_seed(0)
x = torch.randint(0, V, (3, 20), generator=g)
perms = method.random_ciphers(3, V, seed=0)
inverse = perms.argsort(1)
assert torch.equal(method.encipher(method.encipher(x, perms), inverse), x)
const = torch.zeros(1, 6, dtype=torch.long)  # after t zeros, P(0) = (t + 1/2) / (t + V/2)
expected = torch.tensor([-math.log((t + 0.5) / (t + 0.5 * V)) for t in range(1, 6)])
torch.testing.assert_close(method.counter_losses(const, V)[0], expected.float())
rank = torch.arange(V)
assert torch.equal(method.frequency_rank_decipher(torch.tensor([[0, 0, 0, 1, 1, 2]]), rank, V)[0, 3:],
                   torch.tensor([1, 1, 2]))  # fmt: skip

lex = method.make_lm("random_codes", V, 32, seed=0, hidden=32, layers=2, heads=2)
codes = torch.randn(1, V, 32, generator=torch.Generator().manual_seed(1)) / math.sqrt(32)
perm = torch.randperm(V, generator=torch.Generator().manual_seed(2))
ids = torch.randint(0, V, (1, 24), generator=torch.Generator().manual_seed(3))
with torch.no_grad():
    lex._codes = lambda input_ids, generator: codes
    plain = lex(input_ids=ids).logits
    lex._codes = lambda input_ids, generator: codes[:, perm.argsort()]  # code of cipher id perm[v] = code of v
    ciphered = lex(input_ids=perm[ids]).logits[..., perm]  # the logit of plaintext v sits at cipher id perm[v]
del lex._codes
torch.testing.assert_close(plain, ciphered)
print("cipher, counter, frequency-rank decipherer and the lexinvariance of random codes: as expected")

# %% [markdown]
# ## Data and training
# The fortunes corpus as one character stream (lower-cased, whitespace collapsed, 28 symbols); the first 90% trains,
# the last 10% is held out. For every seed, a standard and a lexinvariant model train on the same windows (the
# trainer's sampler is seeded by the seed) for the same steps.

# %%
stream = method.char_stream(load_text("fortunes")["text"])
split = int(0.9 * stream.numel())
train_stream, val_stream = stream[:split], stream[split:]
freq = torch.bincount(train_stream, minlength=V).double() / train_stream.numel()
unigram_entropy = float(-(freq * freq.clamp_min(1e-12).log()).sum())
plain_rank = freq.argsort(descending=True, stable=True)
evals = method.windows(val_stream, EVAL_WINDOWS, CONTEXT + 1, seed=10_000)  # [n, T + 1]
eval_perms = method.random_ciphers(EVAL_WINDOWS, V, seed=10_001)  # unseen ciphers
probe_x = method.windows(train_stream, PROBE_WINDOWS, CONTEXT, seed=20_000)
probe_perms = method.random_ciphers(PROBE_WINDOWS, V, seed=20_001)
eval_x = evals[:, :-1]  # the probes read positions 0..T-1
counter = method.counter_losses(evals, V)  # [n, T]

models = {}
for seed in SEEDS:
    for embedding in ("standard", "random_codes"):
        model = method.make_lm(embedding, V, CONTEXT, seed=seed, hidden=HIDDEN, layers=LAYERS, heads=HEADS)
        cfg = TrainConfig(steps=STEPS, batch_size=BATCH, seq_len=CONTEXT, lr=LR, warmup=WARMUP, seed=seed,
                          eval_every=STEPS, log_every=STEPS, threads=TRAIN_THREADS)  # fmt: skip
        train(model, train_stream, cfg, log=None)
        models[seed, embedding] = model

# %% [markdown]
# ## Measurements
# Per seed: per-position losses of both models on the held-out windows (the lexinvariant model with fixed codes), the
# paper's perplexity gap in the early and late bins, and four linear probes reading the current character's plaintext
# identity from the hidden states: each model on enciphered windows (`*_cipher`) and on plain windows (`*_plain`),
# trained on `PROBE_WINDOWS` training windows and tested in the late bin of the held-out windows.


# %%
def probe_accuracy(model, train_in, train_labels, test_in, test_labels, seed):
    feats = method.hidden_features(model, train_in, codes_seed=seed)
    probe = method.train_probe(feats.flatten(0, 1), train_labels.flatten(), V, steps=PROBE_STEPS, seed=seed)
    with torch.no_grad():
        guess = probe(method.hidden_features(model, test_in, codes_seed=seed + 1)).argmax(-1)
    return float((guess[:, LATE:] == test_labels[:, LATE:]).float().mean())


rows, curves = [], []
probe_cipher_in, eval_cipher_in = method.encipher(probe_x, probe_perms), method.encipher(eval_x, eval_perms)
freq_guess = method.frequency_rank_decipher(eval_cipher_in, plain_rank, V)
freq_acc = float((freq_guess[:, LATE:] == eval_x[:, LATE:]).float().mean())
for seed in SEEDS:
    std, lex = models[seed, "standard"], models[seed, "random_codes"]
    l_std = method.position_losses(std, evals)
    l_lex = method.position_losses(lex, evals, codes_seed=seed)
    row = {"seed": seed}
    for name, losses in (("std", l_std), ("lex", l_lex), ("counter", counter)):
        row[f"{name}_early"] = method.bin_mean(losses, 0, EARLY)
        row[f"{name}_late"] = method.bin_mean(losses, LATE, CONTEXT)
        curves += [{"seed": seed, "model": name, "position": t + 1, "loss": float(v)}
                   for t, v in enumerate(losses.mean(0).tolist())]  # fmt: skip
    row["gap_early"] = method.perplexity_gap(row["lex_early"], row["std_early"])
    row["gap_late"] = method.perplexity_gap(row["lex_late"], row["std_late"])
    for name, model in (("std", std), ("lex", lex)):
        row[f"{name}_cipher"] = probe_accuracy(model, probe_cipher_in, probe_x, eval_cipher_in, eval_x, seed)
        row[f"{name}_plain"] = probe_accuracy(model, probe_x, probe_x, eval_x, eval_x, seed)
    row["freq_rank"] = freq_acc
    rows.append(row)
results = pd.DataFrame(rows).set_index("seed")
curves = pd.DataFrame(curves)

# %%
print(f"uniform loss ln V = {math.log(V):.3f} nats, unigram entropy = {unigram_entropy:.3f} nats")
results.T.round(3)

# %% [markdown]
# ## Paper vs ours

# %%
seeds_ = {"n_unit": "seeds"}
measurements = {
    "gap-shrinks": Measurement.bootstrap(
        list(zip(results.gap_late, results.gap_early)), method.ratio_of_means, **seeds_
    ),  # fmt: skip
    "gap-late": Measurement.mean(results.gap_late, bounds=(-1.0, float("inf")), **seeds_),
    "decipher": Measurement.mean(results.lex_cipher, bounds=(0.0, 1.0), **seeds_),
    "standard-cannot": Measurement.paired_difference(results.lex_cipher, results.std_cipher, **seeds_),
}
counter_margin = Measurement.paired_difference(results.counter_late, results.lex_late, **seeds_)
controls = {
    "gap-shrinks": counter_margin,
    "gap-late": counter_margin,
    "decipher": Measurement.paired_difference(results.lex_cipher, results.freq_rank, **seeds_),
    "standard-cannot": Measurement.paired_difference(
        results.lex_cipher - results.std_cipher, results.lex_plain - results.std_plain, **seeds_
    ),
}
checks = {
    "std-learned": Measurement.mean(unigram_entropy - results.std_late, **seeds_),
    "lex-learned": Measurement.mean(math.log(V) - results.lex_late, **seeds_),
    "probe-reads-identity": Measurement.mean(results.std_plain, bounds=(0.0, 1.0), **seeds_),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
ax = axes[0]
for name, grp in curves.groupby("model", sort=False):
    mean = grp.groupby("position").loss.mean()
    smooth = mean.rolling(8, min_periods=1).mean()
    ax.plot(smooth.index, smooth.values, label={"std": "standard", "lex": "lexinvariant", "counter":
                                                 "in-context counter"}[name])  # fmt: skip
ax.axhline(math.log(V), color="grey", ls=":", label="uniform (ln V)")
ax.axhline(unigram_entropy, color="grey", ls="--", label="unigram entropy")
ax.set(xlabel="position (characters seen)", ylabel="loss (nats, mean over seeds)", title="Loss by context length")
ax.legend(fontsize=8)
ax = axes[1]
cols = ["lex_cipher", "std_cipher", "freq_rank", "lex_plain", "std_plain"]
ax.bar(range(len(cols)), [results[c].mean() for c in cols], yerr=[results[c].std() for c in cols])
ax.set_xticks(range(len(cols)), ["lexinv.\ncipher", "standard\ncipher", "freq. rank\ncipher", "lexinv.\nplain",
                                 "standard\nplain"])  # fmt: skip
ax.set(ylabel="late-bin accuracy", title="Reading the plaintext character")
fig.tight_layout()
run.save_figure(fig, "lexinvariance")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (context 128, 80 steps of 8 windows per model, 5 seeds; 58 s). **All four claims are inconclusive:
# at this training length the setup cannot show the effects.** The standard model learned the text beyond character
# frequencies (late-bin loss 2.51 nats, 0.40 [0.37, 0.43] below the unigram entropy of 2.91), but the lexinvariant
# model did not learn to use its context: its late-bin loss, 3.47 nats, is *above* the uniform loss ln 28 = 3.33
# (precondition `lex-learned`: -0.14 [-0.18, -0.11], bar +0.05), and far above the in-context counter (2.99), which
# only counts characters. The perplexity gap is 1.6X early and 1.6X late (late / early 1.00 [0.94, 1.08]): no
# shrinking, but also no model that could shrink it. In exploratory pilots (seeds outside the record) a lexinvariant
# model of this size stayed within 0.1 nats of the uniform loss after 1,000 steps of 16 x 128 characters, while the
# standard model reached 2.0 nats in 300: inferring identities in context is learned far more slowly than fixed
# embeddings, and the paper's models train 250K steps.
#
# **Deciphering.** A linear probe reads the plaintext character off the standard model's hidden states on plain text
# (0.94 [0.88, 0.98]), but the interval now reaches below the 0.9 bar of `probe-reads-identity`, so that precondition
# fails; neither model's hidden states carry the identity under a cipher: 0.135 for the lexinvariant model and 0.135
# for the standard one, both below always guessing the space (0.18) and far below the frequency-rank decipherer (0.30).
# The lexinvariant-minus-standard difference, 0.0005 [-0.028, 0.024], sits on its partial bar of 0, and
# `standard-cannot` is inconclusive for its failed precondition; its no-cipher control is beaten (0.80: the standard
# model loses its reading only because of the cipher), which is the uninteresting half of the claim. The reason, not
# the verdict, moved with the family fix of 2026-12-06 (before it: probe 0.93 [0.91, 0.95], precondition passed,
# difference -0.002 [-0.028, 0.012] straddling 0). The lexinvariant model's numbers did not change, as its random codes
# use no embedding table; only the standard model moved, so the likely cause is its token 0 no longer frozen at a zero
# embedding.
#
# **Stability.** Re-run with seeds 5-9 (`papers stability`, on the family before the fix), no verdict moved: the
# lexinvariant model again stayed above the uniform loss (`lex-learned` -0.137), the gap ratio was 0.96 [0.93, 0.99]
# and the probe 0.154. One reason moved, not the verdict: the probe on plain text read 0.903, its interval reaching
# below the 0.9 bar of `probe-reads-identity`, so `standard-cannot` was inconclusive for that precondition while its
# difference, 0.025 [0.013, 0.036], would have been *partially reproduced*. Both its difference and its precondition
# sit at their bars at this scale.
#
# **What would decide them.** A lexinvariant model that passes `lex-learned`: by the pilots, thousands of steps at
# context 256 or more (the `full` profile trains 800 steps at context 256, about 15-20 minutes on one idle core), or
# a GPU run of the same notebook with 10^4-10^5 steps. Then the gap ratio, the counter control and the probe would test
# the paper's mechanism; the rules and controls stay as registered.
