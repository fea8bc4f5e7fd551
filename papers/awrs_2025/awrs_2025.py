# %% [markdown]
# # AWRS (arXiv:2504.05410): constrained generation by adaptive weighted rejection sampling
#
# Lipkin et al., *Fast Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling*,
# catalog id 3.
#
# **Claims under test.** Locally constrained decoding (LCD) masks the vocabulary at every step: it evaluates the
# constraint on every token, and its local renormalisation distorts the global distribution over strings. AWRS draws
# tokens without replacement and stops at the first allowed one, which usually takes orders of magnitude fewer
# evaluations. A second rejection round gives an unbiased estimate of the local constrained mass, and sequential Monte
# Carlo (SMC) uses it as an importance weight to correct LCD's distortion (abstract, Sec. 3-5).
#
# **Replicated here:** AWRS, masking and SMC on the shared engine (`shared.speculative.constrained`). The cost of AWRS
# is measured on a real LM, the zoo's `tiny-lm-large` (8k BPE vocabulary), at random held-out contexts under lipogram
# constraints ("no token containing the letter e"; one to six banned letters, cycled over the contexts): per context,
# the constraint evaluations of AWRS against the divergence KL(constrained || LM) = -log Z between the LM and its
# constrained version, the paper's runtime scaling. The distortion study keeps random n-gram LMs and a token-level
# constraint ("no two consecutive tokens with the same residue mod k"): on 4-token vocabularies the global constrained
# distribution of short strings is enumerated exactly. **Not replicated, and why:** the paper's domains (text-to-SQL,
# molecules, goal inference, patterns, JSON) and Llama models (not available offline, and their string spaces cannot
# be enumerated), and wall-clock runtimes.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # seed s: its own held-out contexts and MODELS_PER_SEED toy models of the distortion study
N_CONTEXTS = 300  # held-out contexts per seed in the cost study (one constrained step each)
CONTEXT = 16  # tokens per context
LIPOGRAMS = ["e", "t", "a", "o", "ea", "to", "eao", "etaoin"]  # banned letters, cycled over the contexts
N_REP = 6  # AWRS steps per context (their mean estimates the expected cost)
VOCAB_SMALL = 4  # vocabulary of the distortion study (strings enumerated exactly)
MOD_SMALL = 2  # constraint modulus in the distortion study
LENGTH = 4  # string length in the distortion study
MODELS_PER_SEED = 3  # toy models per seed (ids s + 50 j): the unit of the distortion claim is the toy model
N_PARTICLES = 8  # SMC particles
N_SAMPLES = 600  # samples per method in the distortion study
MIN_DISTORTION = 0.15  # each toy model is drawn until its exact LCD distortion is >= this TV (the paper's premise)

# %%
from collections import Counter  # noqa: I001 (the grouped import below is kept as written)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.awrs_2025.claims import CLAIMS
from papers.awrs_2025.method import (
    awrs_costs,
    distorting_lm,
    encode,
    exact_vector,
    global_distribution,
    heldout_windows,
    hierarchical_bootstrap,
    lcd_distribution,
    lipogram,
    next_token_probs,
    no_repeat_mod,
    toy_model_ids,
    total_variation,
    tv_noise_floor,
    tv_ratios,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.models import load
from shared.results import start_run
from shared.speculative import TableLM
from shared.speculative.constrained import awrs_step, masked_step, smc_sample

run = start_run("awrs_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# On one toy model: AWRS never emits a banned token, masking's weight is the exact allowed mass, and LCD's exact
# distribution differs from the global constrained one (otherwise there is nothing to correct). On the real LM: the
# vectorised cost counter used below makes exactly the engine's AWRS decisions (same random stream).

# %% tags=["nbval-check-output"]
lm = TableLM(VOCAB_SMALL, order=1, scale=2.0, seed=99)
allowed = no_repeat_mod(MOD_SMALL)
g = torch.Generator().manual_seed(0)
for ctx in ([0], [1], [2, 3]):
    p = lm.probs(ctx)
    assert allowed(ctx, awrs_step(p, ctx, allowed, g).token)
    mass = float(sum(p[x] for x in range(VOCAB_SMALL) if allowed(ctx, x)))
    assert abs(masked_step(p, ctx, allowed, g).weight - mass) < 1e-12
exact = global_distribution(lm, [0], LENGTH, allowed)
lcd = lcd_distribution(lm, [0], LENGTH, allowed)
gap = 0.5 * sum(abs(exact.get(k, 0) - lcd.get(k, 0)) for k in set(exact) | set(lcd))
assert gap > 0.01
big_lm, tok = load("tiny-lm-large")
masks = {letters: lipogram(tok, letters) for letters in LIPOGRAMS}
p = next_token_probs(big_lm, heldout_windows(1, CONTEXT, seed=99))[0]
ev, w = awrs_costs(p, masks["e"], 5, torch.Generator().manual_seed(1))
ref = [
    awrs_step(p, [], lambda _, x: bool(masks["e"][x]), g1)
    for g1 in [torch.Generator().manual_seed(1)]
    for _ in range(5)
]
assert ev == [r.evaluations for r in ref] and max(abs(a - r.weight) for a, r in zip(w, ref)) < 1e-12
print(f"{len(exact)} allowed strings of length {LENGTH}; LCD's exact distribution differs from the global one; "
      "the cost counter matches the engine's AWRS")  # fmt: skip

# %% [markdown]
# ## Experiment 1: the cost of AWRS on a real LM, against the divergence
# At `N_CONTEXTS` random held-out contexts per seed, the LM's next-token distribution p and a lipogram (one to six
# banned letters, cycled over the contexts, so that the constraint's strength varies). Z = the allowed mass,
# KL(constrained || LM) = -log Z. `N_REP` independent AWRS steps per context: their mean evaluations (both rounds
# counted) estimates the expected cost, their weights are checked against Z. Masking would evaluate all V tokens at
# every step.

# %%
cost_rows = []
for seed in SEEDS:
    contexts = heldout_windows(N_CONTEXTS, CONTEXT, seed=1000 + seed)
    probs = next_token_probs(big_lm, contexts)
    g = torch.Generator().manual_seed(seed)
    for i, p in enumerate(probs):
        letters = LIPOGRAMS[i % len(LIPOGRAMS)]
        mask = masks[letters]
        z = float(p[mask].sum())
        ev, w = awrs_costs(p, mask, N_REP, g)
        cost_rows.append({"seed": seed, "lipogram": letters, "kl": -np.log(z), "evaluations": float(np.mean(ev)),
                          "banned_share": 1 - float(mask.double().mean()), "weight_error": float(np.mean(w)) / z - 1})  # fmt: skip
costs = pd.DataFrame(cost_rows)
costs["placebo_kl"] = costs.kl.sample(frac=1.0, random_state=0).to_numpy()
V = len(masks["e"])

# %% [markdown]
# ## Experiment 2: distortion of LCD, corrected by SMC
# `MODELS_PER_SEED` toy models per seed (ids seed + 50 j; j = 0 is the seed's model of the earlier one-model design),
# each over `VOCAB_SMALL` tokens and drawn conditionally on the paper's premise: the first random model (seeds
# 100 + id + 1000 k) whose exact LCD distribution is at least `MIN_DISTORTION` in TV from the global constrained one
# (exact enumerations only, before any sampling; `redraws` counts the rejected models). `N_SAMPLES` strings from LCD
# and from SMC with AWRS weights, compared with the enumerated global constrained distribution; the noise floor is the
# TV a perfect sampler would score at `N_SAMPLES` draws.

# %%
tv_rows, draws, exacts = [], [], []
for model in toy_model_ids(SEEDS, MODELS_PER_SEED):
    lm, redraws, exact, lcd_exact, tv_exact = distorting_lm(model, VOCAB_SMALL, MOD_SMALL, LENGTH, MIN_DISTORTION)
    allowed = no_repeat_mod(MOD_SMALL)
    g = torch.Generator().manual_seed(model)
    lcd_counts, smc_counts, pairs = Counter(), Counter(), []
    for _ in range(N_SAMPLES):
        ctx = [0]
        for _ in range(LENGTH):
            ctx.append(masked_step(lm.probs(ctx), ctx, allowed, g).token)
        lcd_counts[tuple(ctx[1:])] += 1
        seq, _ = smc_sample(lm.probs, [0], LENGTH, allowed, N_PARTICLES, g)
        smc_counts[tuple(seq)] += 1
        pairs.append((encode(ctx[1:], VOCAB_SMALL), encode(seq, VOCAB_SMALL)))
    draws.append(np.array(pairs))  # [N_SAMPLES, 2] this model's draws: (LCD string, SMC string)
    exacts.append(exact_vector(exact, VOCAB_SMALL, LENGTH))
    tv_rows.append({"model": model, "redraws": redraws, "tv_lcd": total_variation(lcd_counts, exact),
                    "tv_smc": total_variation(smc_counts, exact), "tv_lcd_exact": tv_exact,
                    "noise_floor": tv_noise_floor(exacts[-1], N_SAMPLES, seed=model)})  # fmt: skip
tv = pd.DataFrame(tv_rows).set_index("model")
tv["ratio"] = tv.tv_smc / tv.tv_lcd

# %% [markdown]
# ## Paper vs ours
# Units: held-out contexts (all seeds, one constrained step each) for the cost study: the Spearman correlation of the
# mean AWRS evaluations with KL (Fisher z), against the vocabulary explanation (the banned share of the vocabulary,
# which a vocabulary-size account says sets the cost; margin with a conservative interval, the far ends of the two
# Fisher z intervals), V / mean evaluations (bootstrap over contexts), and the weight's signed relative error (bootstrap
# over contexts). Toy models for the TV ratio: the claim is about models in general, so its interval is a two-level
# bootstrap that resamples the models, then the draws within each resampled model (percentile interval).

# %%
rho_kl = Measurement.correlation(costs.evaluations, costs.kl, method="spearman", n_unit="contexts")
rho_vocab = Measurement.correlation(costs.evaluations, costs.banned_share, method="spearman", n_unit="contexts")
measurements = {
    "evaluations-scale-with-divergence": rho_kl,
    "fewer-evaluations": Measurement.bootstrap(
        costs.evaluations.tolist(), lambda u: V / (sum(u) / len(u)), n_unit="contexts"
    ),  # fmt: skip
    "unbiased-weight": Measurement.mean(costs.weight_error, n_unit="contexts"),
    "smc-corrects-lcd": hierarchical_bootstrap(draws, lambda i, u: tv_ratios(u, exacts[i]), n_unit="toy models"),
}
checks = {
    "divergence-varies": Measurement.proportion(int((costs.kl >= 1).sum()), len(costs), n_unit="contexts"),
    "distortion-above-noise": Measurement.exact(float((tv.tv_lcd_exact / tv.noise_floor).min())),
}
controls = {
    "evaluations-scale-with-divergence": Measurement(
        rho_kl.value - rho_vocab.value,
        rho_kl.low - rho_vocab.high,
        rho_kl.high - rho_vocab.low,
        n=len(costs),
        n_unit="contexts",
        interval="difference of Fisher z intervals (conservative)",
    ),  # fmt: skip
}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks, controls=controls)
print(f"placebo (shuffled KL) Spearman: {Measurement.correlation(costs.evaluations, costs.placebo_kl, n_unit='contexts')}; "
      f"vocabulary explanation: {rho_vocab}; mean evaluations {costs.evaluations.mean():.3g} of V = {V}")  # fmt: skip
verdict_table(claim_results)

# %%
costs.groupby("lipogram")[["banned_share", "kl", "evaluations", "weight_error"]].mean().round(3)

# %%
tv.round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].scatter(costs.kl, costs.evaluations, s=4, alpha=0.4)
axes[0].set(xlabel="KL(constrained || LM) = -log Z (nats)", ylabel=f"AWRS evaluations (mean of {N_REP}, both rounds)",
            yscale="log", title=f"AWRS cost vs divergence (tiny-lm-large; masking: {V} per token)")  # fmt: skip
x = range(len(tv))
axes[1].bar([i - 0.2 for i in x], tv.tv_lcd, 0.4, label="LCD (token masking)")
axes[1].bar([i + 0.2 for i in x], tv.tv_smc, 0.4, label=f"AWRS + SMC ({N_PARTICLES} particles)")
axes[1].set_xticks(list(x), [str(s) for s in tv.index], fontsize=7)
axes[1].set_xlabel("toy model")
axes[1].set(ylabel="TV to the global constrained distribution", title=f"{N_SAMPLES} samples per method")
axes[1].legend()
fig.tight_layout()
run.save_figure(fig, "awrs")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Cost on a real LM* (issue 14; default run: 900 held-out contexts over 3 seeds, tiny-lm-large, 8 lipograms of 1-6
# banned letters). AWRS needs 4.0 constraint evaluations per step on average, both rounds counted, against 8,192 for
# masking: 2,037x [1,893, 2,166] fewer. More to the point, its cost follows the divergence between the LM and its
# constrained version, as the paper says: the Spearman correlation of the mean evaluations per context with
# KL(constrained || LM) = -log Z is 0.926 [0.914, 0.936] (Fisher z over contexts), from about 2.4 evaluations under a
# one-letter lipogram (KL about 0.2-0.3 nats) to about 10 when six letters are banned (KL 1.6). The vocabulary
# explanation, the banned share of the vocabulary, ranks the same costs at 0.47 only (margin 0.45 [0.39, 0.52]), and
# a shuffled KL at 0.00: within one constraint (a fixed banned set) the cost still moves with the mass the LM puts on
# it. The weight's signed relative error against the exact allowed mass is -0.010 [-0.024, 0.006] over the 900
# contexts, inside the pre-registered ±3% band (before, on toy steps: -0.015 [-0.039, 0.011], partially).
# *Distortion on enumerable toys* (9 models, 3 per seed). Each toy model is drawn conditionally on the paper's premise:
# the first random model whose exact LCD distortion is >= 0.15 TV (models 52 and 100 were redrawn twice). LCD is far
# from the global constrained distribution of 4-token strings (exact TV 0.17-0.73, at least 7x the noise floor of 600
# draws), and SMC with 8 particles and AWRS weights cuts the distance on every model: TV(SMC) / TV(LCD) = 0.29
# [0.20, 0.41], averaged over the 9 models. The claim is about models in general, so the interval is a two-level
# bootstrap (models with replacement, then draws within each drawn model); per model the ratio is 0.11-0.55. This
# replaced a bootstrap over draws with 3 models held fixed (0.29 [0.23, 0.34] on models 0-2, which are kept here):
# that interval did not cover the spread between models. The change fits the unit to the claim; no verdict prompted it.
# *Full run* (8 seeds, 4,800 contexts; 464 s): scaling 0.926 [0.921, 0.931], 2,053x fewer evaluations, weight error
# -0.003 [-0.011, 0.008]; the distortion claim 0.219 [0.184, 0.270] over 32 models (16 particles, 2,000 draws each; per
# model 0.03-0.49): reproduced.
# *Stability* (default profile, 1 thread): seeds 10-12 and 30-32 moved 0 of 4 verdicts; the TV ratio was 0.41
# [0.28, 0.55] and 0.55 [0.43, 0.69] there (0.29 here), over 9 new models each. Over the 27 models run at 8 particles
# the ratio is 0.02-0.89 per model and SMC beats LCD on every one; with 9 models the percentile interval is somewhat
# narrow (a t interval over the per-model ratios is about 20% wider), so the full run's 32 models are the record.
