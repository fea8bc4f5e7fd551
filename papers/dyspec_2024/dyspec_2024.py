# %% [markdown]
# # DySpec (arXiv:2410.11744): a token tree grown greedily by draft probability
#
# Xiong et al., *DySpec: Faster Speculative Decoding with Dynamic Token Tree Structure*, catalog id 126.
#
# **Claims under test.** A draft token's draft probability is strongly correlated with its acceptance (Sec. 3), so a
# tree grown greedily at run time, always adding the child most likely to be accepted, yields more accepted tokens
# per target call than fixed chains or trees of the same size (Sec. 5), while verification keeps the output exact.
#
# **Replicated here:** the greedy expansion on the shared engine (`shared.speculative.DynamicTree`, siblings without
# replacement, recursive rejection sampling) driving a real draft/target pair, the zoo's tiny LMs (`tiny-lm-small`
# drafts for `tiny-lm-large`, one tokenizer), on contexts and prompts cut from the held-out BPE-8k stream: the
# correlation between a draft token's probability and its acceptance, and block efficiency against chains and k-ary
# trees of equal size. The exactness test stays on enumerable n-gram toys (it needs the exact target distribution).
# **Not replicated, and why:** Llama-2 models, Sequoia's optimised static trees, throughput and latency, and
# temperature sweeps (all sampling is at temperature 1).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1]  # each seed draws its own contexts and prompts from the held-out stream
N_DRAWS = 1200  # random contexts per seed (one sampled draft token each) for the correlation study
DRAW_CONTEXT = 16  # tokens per context of the correlation study
CONTEXT = 32  # tokens per prompt
N_BINS = 10  # equal-count bins of draft probability (for the picture only)
BUDGETS = [14]  # draft tokens per target call (the claim is judged at the largest)
N_PROMPTS = 5  # prompts per seed
MAX_NEW = 32  # tokens per prompt
N_EXACT = 3000  # samples for the exactness test (n-gram toys)
VOCAB = 24  # vocabulary of the toy pair of the sanity check

# %%
from collections import Counter

import matplotlib.pyplot as plt
import pandas as pd
import torch
from scipy import stats

from papers.dyspec_2024.claims import CLAIMS
from papers.dyspec_2024.method import (
    heldout_stream,
    hf_draft_prob_vs_acceptance,
    model_pair,
    proposers,
    real_pair,
    windows,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.speculative import DynamicTree, HFSession, speculative_generate
from shared.speculative.exactness import exactness_check
from shared.speculative.stats import chi_square

run = start_run("dyspec_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# A dynamic tree spends exactly its budget, draws siblings without replacement, and the exactness test has power.

# %% tags=["nbval-check-output"]
target, draft = model_pair(VOCAB, seed=99, mix=0.5)
draft.reset([0, 1])
tree = DynamicTree(budget=8).propose(draft, 1, torch.Generator().manual_seed(0))
assert len(tree) - 1 == 8
for kids in tree.draws.values():
    assert len({tree.tokens[c] for c in kids}) == len(kids)
# the exact distribution of a fixed small pair, and the power of the exactness test against the draft's own
# distribution: a precondition of the lossless claim
check = exactness_check(N_EXACT, alpha=1e-3)
ex_target, ex_draft, exact, power = check.target, check.draft, check.exact, check.power
big_lm, small_lm = real_pair()
stream = heldout_stream()
assert big_lm.config.vocab_size == small_lm.config.vocab_size
print("dynamic tree of 8 draft tokens, siblings distinct; tiny-LM pair loaded, one vocabulary")

# %% [markdown]
# ## Experiment 1: draft probability vs acceptance (tiny-LM pair)
# One sampled draft token per random held-out context: its draft probability q(x) and its exact acceptance
# min(1, p(x)/q(x)). The correlation is taken over these tokens (independent contexts, all seeds); the bins only draw
# the picture. Placebo: the same acceptances against the draft probabilities of shuffled tokens (their margin's interval
# is conservative: the far ends of the two Fisher z intervals).

# %%
draws = []
for seed in SEEDS:
    contexts = windows(stream, N_DRAWS, DRAW_CONTEXT, seed=1000 + seed)
    g = torch.Generator().manual_seed(seed)
    draws.append(pd.DataFrame(hf_draft_prob_vs_acceptance(big_lm, small_lm, contexts, g)).assign(seed=seed))
draws = pd.concat(draws, ignore_index=True)
draws["placebo_q"] = draws.q.sample(frac=1.0, random_state=0).to_numpy()
draws["bin"] = pd.qcut(draws.q.rank(method="first"), N_BINS, labels=False)
binned = draws.groupby("bin")[["q", "accept"]].mean()

# %% [markdown]
# ## Experiment 2: block efficiency at equal budgets (tiny-LM pair)

# %%
target_s, draft_s = HFSession(big_lm), HFSession(small_lm)
gen_rows = []
for seed in SEEDS:
    prompts = windows(stream, N_PROMPTS, CONTEXT, seed=2000 + seed)
    for budget in BUDGETS:
        for name, prop in proposers(budget).items():
            for i, prompt in enumerate(prompts):
                res = speculative_generate(target_s, draft_s, prompt, MAX_NEW, prop, "rrs", seed=100 * seed + i)
                gen_rows.append({"seed": seed, "prompt": i, "budget": budget, "method": name,
                                 "block_efficiency": res.block_efficiency})  # fmt: skip
gen = pd.DataFrame(gen_rows)

# %% [markdown]
# ## Experiment 3: the output distribution is the target's (n-gram toys, enumerable)

# %%
counts = Counter(tuple(speculative_generate(ex_target, ex_draft, [0, 1], 3, DynamicTree(budget=4), "rrs", seed=s).tokens)
                 for s in range(N_EXACT))  # fmt: skip
stat, pvalue, dof = chi_square(counts, exact)

# %% [markdown]
# ## Paper vs ours
# Units: sampled draft tokens at independent held-out contexts for the correlation (Spearman with a Fisher z interval;
# the placebo margin is the difference of two such correlations); prompts (all seeds) for the block-efficiency ratio, DySpec
# against the fixed shape with the highest mean block efficiency at the largest budget, and its paired margin over the
# chain (the trivial control). DySpec's greedy tree rests on the correlation, so the comparison is judged only where
# it holds (a precondition). The exactness test is seeded; its power is its precondition.

# %%
big = gen[gen.budget == max(BUDGETS)].pivot_table(index=["seed", "prompt"], columns="method",
                                                  values="block_efficiency")  # fmt: skip
best_fixed = big.drop(columns="dyspec").mean().idxmax()
premise = Measurement.correlation(draws.q, draws.accept, method="spearman", n_unit="draft tokens")
placebo = Measurement.correlation(draws.placebo_q, draws.accept, method="spearman", n_unit="draft tokens")
measurements = {
    "draft-prob-predicts-acceptance": premise,
    "beats-fixed-trees": Measurement.ratio(big["dyspec"], big[best_fixed], n_unit="prompts"),
    "lossless": Measurement.exact(pvalue, n=N_EXACT, n_unit="samples"),
}
checks = {"premise": premise, "test-power": Measurement.exact(power),
          "draft-useful": Measurement.mean(draws.accept, n_unit="draft tokens", bounds=(0.0, 1.0))}  # fmt: skip
controls = {
    # margin over the placebo with a conservative interval: the far ends of the two Fisher z intervals
    "draft-prob-predicts-acceptance": Measurement(
        premise.value - placebo.value,
        premise.low - placebo.high,
        premise.high - placebo.low,
        n=len(draws),
        n_unit="draft tokens",
        interval="difference of Fisher z intervals (conservative)",
    ),
    "beats-fixed-trees": Measurement.paired_difference(big["dyspec"], big["chain"], n_unit="prompts"),
}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks, controls=controls)
corr = draws.groupby("seed").apply(lambda d: stats.spearmanr(d.q, d.accept).statistic, include_groups=False)
print(f"exactness: chi2 = {stat:.1f} on {dof} dof, power {power:.3f}")
print(f"Spearman per seed: {corr.round(3).to_dict()}; placebo {placebo}; "
      f"mean acceptance {draws.accept.mean():.3f}; best fixed shape at {max(BUDGETS)} tokens: {best_fixed}")  # fmt: skip
verdict_table(claim_results)

# %%
gen.pivot_table(index="budget", columns="method", values="block_efficiency", aggfunc="mean").round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(binned.q, binned.accept, "o-")
axes[0].set(xlabel="draft probability q(x) (bin mean)", ylabel="acceptance min(1, p/q) (bin mean)", xscale="log",
            title="Draft probability vs acceptance (tiny-LM pair)")  # fmt: skip
m = gen.groupby(["budget", "method"]).block_efficiency.mean().unstack()
for col in m.columns:
    axes[1].plot(m.index, m[col], "o-" if col == "dyspec" else "s--", label=col)
axes[1].set(xlabel="draft tokens per target call", ylabel="tokens per target call", title="Dynamic vs fixed trees")
axes[1].set_xticks(BUDGETS)
axes[1].legend()
fig.tight_layout()
run.save_figure(fig, "dyspec")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Runs on the tiny-LM pair* (issue 14; `tiny-lm-small` drafts for `tiny-lm-large` on held-out BPE-8k contexts). The
# draft is a useful draft for this target (mean acceptance about 0.74), yet a draft token's probability barely predicts
# its acceptance: Spearman 0.153 [0.113, 0.192] over 2,400 sampled tokens in the default run, 0.172 [0.154, 0.189] over
# 12,000 in the full run (Fisher z over tokens; 0.13-0.21 per seed), clear of a shuffled placebo (about 0) but far from
# a strong correlation, so that claim is *not reproduced* at this scale. With an 8k vocabulary at temperature 1 the
# draft's probabilities are mostly small while acceptance min(1, p/q) is mostly high: the product of draft
# probabilities that keys DySpec's heap badly underestimates the chance that verification reaches a slot, so the
# greedy tree goes wide where depth pays. It gets 0.56-0.57x the tokens per target call of the best fixed shape (a
# plain chain) at 14 draft tokens (10 prompts default, 48 full), and the chain control beats it by about 1.7-1.8 tokens
# per call. Because the premise of the greedy tree fails on this pair, the comparison is recorded as *inconclusive:
# the setup cannot show the effect*, not as evidence against the paper. Deciding it needs a pair whose draft
# probabilities track acceptance (Spearman >= 0.4), for instance at low temperature, where probabilities near 1 and
# acceptance near 1 coincide (the paper's strongest results are at low temperature), or larger models.
# Exactness holds on the enumerable toys (p = 0.75 default, 0.19 full, power >= 0.99 against an always-accepting
# verifier).
