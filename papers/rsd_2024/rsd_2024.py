# %% [markdown]
# # Recursive Speculative Decoding (arXiv:2402.14160): draft trees sampled without replacement
#
# Jeon et al., *Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement*,
# catalog id 127.
#
# **Claims under test.** RSD builds draft-token trees whose siblings are drawn *without replacement* (Gumbel-top-k)
# and verifies them with recursive rejection sampling, where the draft distribution is renormalised over the tokens
# not yet drawn (Sec. 3). This keeps the output exact and (Sec. 5) beats trees of i.i.d. drafts consistently for a
# fixed draft length, and in most settings for a fixed number of tokens the target verifies per call.
#
# **Replicated here (analogue):** RSD-C (constant branching) on the shared engine `shared.speculative`, with random
# n-gram target/draft pairs over small vocabularies: exact per-node acceptances, block efficiency at fixed tree shape
# and at fixed budget, and a chi-square exactness test. **Not replicated, and why:** RSD-S (stochastic beam search);
# Llama 2 / OPT models and wall-clock numbers (not available offline; with n-gram models a target call costs what a
# draft call does, so block efficiency is the measure).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # one target/draft model pair per seed
VOCAB_EXACT = 6  # vocabulary for the exact per-node study
N_CONTEXTS = 40  # node pairs (p, q) per seed
K_NODE = 3  # drafts per node in the exact study
MIX = 0.5  # weight of the target's table in the draft
VOCAB_GEN = 24  # vocabulary of the generation study
N_PROMPTS = 8  # prompts per seed
MAX_NEW = 32  # tokens per prompt
N_EXACT = 3000  # samples for the exactness test

# %%
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.rsd_2024.claims import CLAIMS
from papers.rsd_2024.method import BUDGETS, model_pair, node_acceptance, proposers_fixed_budget, proposers_fixed_length
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.speculative import BranchingTree, output_distribution, speculative_generate
from shared.speculative.exactness import exactness_check
from shared.speculative.stats import chi_square

run = start_run("rsd_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Recursive rejection without replacement emits exactly the target distribution (enumerating every ordered draw);
# the chi-square test used below has the power it claims.

# %% tags=["nbval-check-output"]
target, draft = model_pair(VOCAB_EXACT, seed=99, mix=MIX)
p, q = target.probs([0, 1]), draft.probs([0, 1])
for mode in ("wor", "iid"):
    out, _ = output_distribution(p, q, K_NODE, mode, "rrs")
    assert (out - p).abs().max() < 1e-12, mode
# the exact distribution of a fixed small pair, and the power of the exactness test against the draft's own
# distribution: a precondition of the lossless claim
check = exactness_check(N_EXACT, alpha=1e-3)
ex_target, ex_draft, exact, power = check.target, check.draft, check.exact, check.power
print("recursive rejection exact with and without replacement")

# %% [markdown]
# ## Experiment 1: exact acceptance at one node

# %%
rows = []
for seed in SEEDS:
    target, draft = model_pair(VOCAB_EXACT, seed, MIX)
    g = torch.Generator().manual_seed(seed)
    for c in range(N_CONTEXTS):
        ctx = torch.randint(0, VOCAB_EXACT, (2,), generator=g).tolist()
        for k in range(1, K_NODE + 1):
            rows.append({"seed": seed, "context": c, "ctx": tuple(ctx),
                         **node_acceptance(target.probs(ctx), draft.probs(ctx), k)})  # fmt: skip
node = pd.DataFrame(rows)
node.groupby("k")[["wor", "iid"]].mean()

# %% [markdown]
# ## Experiment 2: block efficiency at fixed draft length and at fixed budget
# The same prompts and sampling seeds for every method; one block efficiency (tokens per target call) per prompt.


# %%
def block_efficiency(target, draft, prompts, proposer):
    out = []
    for i, prompt in enumerate(prompts):
        res = speculative_generate(target, draft, prompt, MAX_NEW, proposer, "rrs", seed=i)
        out.append(len(res.tokens) / res.target_calls)
    return out


gen_rows = []
for seed in SEEDS:
    target, draft = model_pair(VOCAB_GEN, seed, MIX)
    g = torch.Generator().manual_seed(100 + seed)
    prompts = [torch.randint(0, VOCAB_GEN, (4,), generator=g).tolist() for _ in range(N_PROMPTS)]
    studies = [("length", shape, kind, prop) for (shape, kind), prop in proposers_fixed_length().items()]
    studies += [("budget", b, name, prop) for b in BUDGETS for name, prop in proposers_fixed_budget(b).items()]
    for study, setting, method, prop in studies:
        for i, be in enumerate(block_efficiency(target, draft, prompts, prop)):
            gen_rows.append({"seed": seed, "prompt": i, "study": study, "setting": setting, "method": method,
                             "block_efficiency": be})  # fmt: skip
gen = pd.DataFrame(gen_rows)

# %% [markdown]
# ## Experiment 3: the output distribution is the target's

# %%
counts = Counter(tuple(speculative_generate(ex_target, ex_draft, [0, 1], 3, BranchingTree((2, 2)), "rrs", seed=s).tokens)
                 for s in range(N_EXACT))  # fmt: skip
stat, pvalue, dof = chi_square(counts, exact)

# %% [markdown]
# ## Paper vs ours
# Units: distinct node pairs (contexts drawn twice count once) for the per-node gain; prompts (all seeds) for the
# fixed-length gain, each prompt's geometric mean over the tree shapes. The fixed-budget claim compares RSD-C with the
# best i.i.d. configuration chosen on the same runs, one win or loss per budget: a point estimate over 3 budgets, which
# the engine cannot judge (see the README). The exactness test is seeded; its power is its precondition.

# %%
kn = node[node.k == K_NODE].drop_duplicates(["seed", "ctx"])
length = gen[gen.study == "length"].pivot_table(index=["seed", "prompt"], columns=["method", "setting"],
                                                values="block_efficiency")  # fmt: skip
# per prompt: the geometric mean over shapes of each method's block efficiency (their ratio is the mean log ratio)
length_geo = {m: np.exp(np.log(length[m]).mean(axis=1)) for m in ("wor", "iid")}
budget = gen[gen.study == "budget"].groupby(["setting", "method"]).block_efficiency.mean().unstack()
best_iid = budget.drop(columns="rsd-c").max(axis=1)
wins = float((budget["rsd-c"] >= best_iid).mean())
measurements = {
    "wor-node-acceptance": Measurement.ratio(kn.wor, kn.iid, n_unit="node pairs"),
    "fixed-length": Measurement.ratio(length_geo["wor"], length_geo["iid"], n_unit="prompts"),
    "fixed-budget": Measurement(wins, n=len(budget), n_unit="budgets"),
    "lossless": Measurement.exact(pvalue, n=N_EXACT, n_unit="samples"),
}
checks = {"test-power": Measurement.exact(power)}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
print(f"exactness: chi2 = {stat:.1f} on {dof} dof, power {power:.3f}")
verdict_table(claim_results)

# %%
print("block efficiency at fixed draft length (mean over prompts):")
print(length.mean().unstack(0).round(3).to_string())
print("block efficiency at fixed budget (mean over prompts):")
print(budget.round(3).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
means = node.groupby("k")[["wor", "iid"]].mean()
axes[0].plot(means.index, means.wor, "o-", label="without replacement (RSD)")
axes[0].plot(means.index, means.iid, "s--", label="i.i.d. (SpecInfer)")
axes[0].set(xlabel="drafts at the node k", ylabel="acceptance probability (exact)", title="One node")
axes[0].set_xticks(list(means.index))
axes[0].legend()
lm = length.mean().unstack(0)
x = range(len(lm))
axes[1].bar([i - 0.2 for i in x], lm["wor"], 0.4, label="RSD-C (without replacement)")
axes[1].bar([i + 0.2 for i in x], lm["iid"], 0.4, label="i.i.d. tree")
axes[1].set_xticks(list(x), list(lm.index))
axes[1].set(xlabel="tree shape (branching per depth)", ylabel="tokens per target call", title="Fixed draft length")
axes[1].legend()
fig.tight_layout()
run.save_figure(fig, "rsd")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (3 model pairs; 8 prompts of 32 tokens per pair). Drawing siblings without replacement helps at every
# node: with 3 drafts the exact acceptance rises from 0.90 (i.i.d.) to 0.97 on average, 1.074x [1.065, 1.084] as a
# geometric mean over 73 distinct node pairs, because i.i.d. draws of a peaked draft often repeat a token that has
# already been rejected. For whole trees the gain is smaller, 1.052x [1.018, 1.085] tokens per target call over 24
# prompts (each prompt averaged over the three tree shapes): the whole interval is above 1 but reaches below the
# pre-registered 1.02 bar, so the fixed-length claim is *partially reproduced*; the `full` profile has more prompts.
# At a fixed budget RSD-C won only the deepest setting (14 tokens). The i.i.d. baselines there are long *sequences*
# (depth up to 7), while RSD-C's trees are 2-3 deep; with a draft this close to the target, depth pays more than width,
# which is the paper's own caveat ("in most cases"). But that comparison picks the best i.i.d. configuration on the same
# noisy runs and gives one win or loss per budget, 3 in all: a point estimate the engine cannot judge, so the claim is
# *inconclusive* (before: partially reproduced). Deciding it needs the baseline's configuration chosen on other prompts
# and a paired per-prompt comparison at each of at least 5 budgets. Exactness holds: the chi-square test does not reject
# (p = 0.18), and it has power >= 0.99 against an always-accepting verifier (the claim's precondition). With other seeds
# (10-12) no verdict moved.
