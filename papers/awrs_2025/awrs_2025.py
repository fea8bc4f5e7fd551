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
# **Replicated here (analogue):** AWRS, masking and SMC on the shared engine (`shared.speculative.constrained`), with
# random n-gram LMs and a token-level constraint ("no two consecutive tokens with the same residue mod k"). On 4-token
# vocabularies the global constrained distribution of short strings is enumerated exactly. **Not replicated, and
# why:** the paper's domains (text-to-SQL, molecules, goal inference, patterns, JSON) and Llama models (not available
# offline, and their string spaces cannot be enumerated), and wall-clock runtimes.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # one model per seed
VOCAB_BIG = 512  # vocabulary of the evaluation-count study
MOD = 7  # constraint: consecutive tokens must differ mod MOD
N_STEPS = 200  # generation steps in the evaluation-count study
VOCAB_SMALL = 4  # vocabulary of the distortion study (strings enumerated exactly)
MOD_SMALL = 2  # constraint modulus in the distortion study
LENGTH = 4  # string length in the distortion study
N_PARTICLES = 8  # SMC particles
N_SAMPLES = 600  # samples per method in the distortion study

# %%
from collections import Counter  # noqa: I001 (the grouped import below is kept as written)

import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.awrs_2025.claims import CLAIMS
from papers.awrs_2025.method import (encode, exact_vector, global_distribution, lcd_distribution, no_repeat_mod,
                                     total_variation, tv_ratio)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.speculative import TableLM
from shared.speculative.constrained import awrs_step, masked_step, smc_sample

run = start_run("awrs_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# On one model: AWRS never emits a banned token, masking's weight is the exact allowed mass, and LCD's exact
# distribution differs from the global constrained one (otherwise there is nothing to correct).

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
print(f"{len(exact)} allowed strings of length {LENGTH}; LCD's exact distribution differs from the global one")

# %% [markdown]
# ## Experiment 1: constraint evaluations per token, and the weight's bias
# Sample `N_STEPS` tokens with AWRS from a `VOCAB_BIG`-token model under the constraint. Masking would evaluate all
# `VOCAB_BIG` tokens at every step; we also record the exact allowed mass to check AWRS's weight.

# %%
eval_rows = []
for seed in SEEDS:
    lm = TableLM(VOCAB_BIG, order=1, scale=3.0, seed=seed)
    allowed = no_repeat_mod(MOD)
    g = torch.Generator().manual_seed(seed)
    ctx = [0]
    for _ in range(N_STEPS):
        p = lm.probs(ctx)
        res = awrs_step(p, ctx, allowed, g)
        banned = [x for x in range(VOCAB_BIG) if not allowed(ctx, x)]
        eval_rows.append({"seed": seed, "evaluations": res.evaluations, "weight": res.weight,
                          "mass": 1 - float(p[banned].sum())})  # fmt: skip
        ctx.append(res.token)
evals = pd.DataFrame(eval_rows)

# %% [markdown]
# ## Experiment 2: distortion of LCD, corrected by SMC
# For each seed, a model over `VOCAB_SMALL` tokens; `N_SAMPLES` strings from LCD and from SMC with AWRS weights,
# compared with the enumerated global constrained distribution.

# %%
tv_rows, draws, exacts = [], [], []
for seed in SEEDS:
    lm = TableLM(VOCAB_SMALL, order=1, scale=2.0, seed=100 + seed)
    allowed = no_repeat_mod(MOD_SMALL)
    exact = global_distribution(lm, [0], LENGTH, allowed)
    lcd_exact = lcd_distribution(lm, [0], LENGTH, allowed)
    g = torch.Generator().manual_seed(seed)
    lcd_counts, smc_counts, pairs = Counter(), Counter(), []
    for _ in range(N_SAMPLES):
        ctx = [0]
        for _ in range(LENGTH):
            ctx.append(masked_step(lm.probs(ctx), ctx, allowed, g).token)
        lcd_counts[tuple(ctx[1:])] += 1
        seq, _ = smc_sample(lm.probs, [0], LENGTH, allowed, N_PARTICLES, g)
        smc_counts[tuple(seq)] += 1
        pairs += [encode(ctx[1:], VOCAB_SMALL), encode(seq, VOCAB_SMALL)]
    draws.append(pairs)
    exacts.append(exact_vector(exact, VOCAB_SMALL, LENGTH))
    tv_rows.append({"seed": seed, "tv_lcd": total_variation(lcd_counts, exact), "tv_smc": total_variation(smc_counts, exact),
                    "tv_lcd_exact": 0.5 * sum(abs(exact.get(k, 0) - lcd_exact.get(k, 0)) for k in set(exact) | set(lcd_exact))})  # fmt: skip
tv = pd.DataFrame(tv_rows).set_index("seed")
# one unit per draw index: that index's LCD and SMC strings for every model
units = [tuple(x for pairs in draws for x in pairs[2 * i : 2 * i + 2]) for i in range(N_SAMPLES)]

# %% [markdown]
# ## Paper vs ours
# Units: generation steps (all seeds) for the evaluation count and for the weight's signed relative error (each step's
# weight against that step's exact allowed mass); draw indices for the TV ratio (a bootstrap that resamples every
# model's LCD and SMC draws together).

# %%
measurements = {
    "fewer-evaluations": Measurement.bootstrap(evals.evaluations.tolist(), lambda u: VOCAB_BIG / (sum(u) / len(u)),
                                               n_unit="generation steps"),
    "unbiased-weight": Measurement.mean(evals.weight / evals.mass - 1, n_unit="generation steps"),
    "smc-corrects-lcd": Measurement.bootstrap(units, lambda u: tv_ratio(u, exacts), n_unit="draws"),
}
claim_results = evaluate_claims(CLAIMS, measurements)
verdict_table(claim_results)

# %%
tv.round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].hist(evals.evaluations, bins=range(1, int(evals.evaluations.max()) + 2), align="left")
axes[0].set(xlabel="constraint evaluations per token (AWRS, both rounds)", ylabel="steps",
            title=f"AWRS vs masking ({VOCAB_BIG} evaluations per token)")  # fmt: skip
x = range(len(tv))
axes[1].bar([i - 0.2 for i in x], tv.tv_lcd, 0.4, label="LCD (token masking)")
axes[1].bar([i + 0.2 for i in x], tv.tv_smc, 0.4, label=f"AWRS + SMC ({N_PARTICLES} particles)")
axes[1].set_xticks(list(x), [f"model {s}" for s in tv.index])
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
# *Default run* (3 models per study). With 512 tokens and a constraint that bans about a seventh of the mass, AWRS
# needs a little over two constraint evaluations per token, both rounds counted, against 512 for masking: 218x
# [213, 223] fewer over 600 generation steps, more than two orders of magnitude, as the paper says. The weight's
# signed relative error, averaged over the 600 steps, is -0.015 [-0.039, 0.011]: the interval holds 0 and lies inside
# ±10% but reaches past the pre-registered ±3% band, so the claim is *partially reproduced*. (The earlier record took
# a t-interval over the absolute errors of 3 seeds, which cannot hold 0; the unit test
# `tests/speculative/test_constrained.py`, 20,000 draws per case, including a constraint that leaves only 10% of the
# mass, finds no bias within 5 standard errors.) Locally constrained decoding is far from the global constrained
# distribution on these 4-token strings (exact TV 0.17-0.73, depending on the model), and SMC with 8 particles and
# AWRS weights cuts that distance: TV(SMC) / TV(LCD) = 0.29 [0.23, 0.34] averaged over models, bootstrapped over the
# 600 draws. The samples' TV includes the sampling noise of 600 draws over 16 strings, which caps how far a correction
# can show. With other seeds (10-12) that verdict moved to *partially reproduced* (0.55 [0.31, 0.82]): one of those
# models (seed 12) barely distorts the distribution under LCD (exact TV 0.025, below the noise of 600 draws), so its
# ratio sits near 1 whatever SMC does. A precondition on LCD's exact distortion per model, against the sampling noise
# floor, would make this claim robust; it is left for the redesign issue.
