# %% [markdown]
# # SpecTr (arXiv:2310.15141): k-draft speculative decoding via optimal transport
#
# Sun et al., *SpecTr: Fast Speculative Decoding via Optimal Transport* (NeurIPS 2023), catalog id 43.
#
# **Claims under test.** Speculative decoding's draft verification is an optimal-transport problem with a membership
# cost; with $k$ i.i.d. draft tokens per position the optimal plan is a linear program, and the paper's k-sequential
# rule (K-SEQ) reaches at least $1-1/e$ of its acceptance in near-linear time (Sec. 4). Used along $k$ draft sequences
# (SpecTr), it keeps the output distribution exact (Sec. 5) and decodes faster than single-draft speculative decoding
# (a further 1.37x wall clock, abstract).
#
# **Replicated here (analogue):** all rules run on the shared engine `shared.speculative`. Target and draft are random
# n-gram LMs over a small vocabulary (the draft mixes the target's table with its own), so every acceptance is
# computed *exactly* from enumerated draws, the LP optimum is solved outright, and the sampler's output is tested
# against the enumerated target distribution. Speed is measured as block efficiency (tokens per target call).
# **Not replicated, and why:** wall-clock speedups with PaLM-2 / LM1B models (no such models offline; on n-gram
# models a target call costs what a draft call does). The engine's Qwen2.5-Coder 0.5B → 1.5B comparison with
# transformers' assisted generation was not run in this wave (see the README).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # one target/draft model pair per seed
VOCAB_EXACT = 5  # vocabulary of the pairs whose acceptances are computed exactly (LP has VOCAB^k * VOCAB variables)
N_CONTEXTS = 30  # node pairs (p, q) per seed for the exact acceptance study
KS = [1, 2, 3]  # numbers of drafts for the exact study
MIX = 0.5  # weight of the target's table in the draft
VOCAB_GEN = 24  # vocabulary of the models used for generation
N_PROMPTS = 12  # prompts per seed for the block-efficiency study
MAX_NEW = 40  # tokens generated per prompt
DRAFT_LEN = 4  # draft sequence length L
GEN_KS = [1, 2, 4]  # numbers of draft sequences k
N_EXACT = 3000  # samples for the exactness test (3-token continuations over a 3-token vocabulary)

# %%
from collections import Counter

import matplotlib.pyplot as plt
import pandas as pd
import torch

from papers.spectr_2023.claims import CLAIMS
from papers.spectr_2023.method import model_pair, pair_acceptances
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.speculative import IIDSequences, output_distribution, speculative_generate
from shared.speculative.exactness import exactness_check
from shared.speculative.stats import chi_square

run = start_run("spectr_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Each rule's exact output distribution equals the target's on a random pair; the LP optimum for one draft is the
# maximal coupling $\sum_x \min(p, q)$; the exactness test below has the power it claims.

# %% tags=["nbval-check-output"]
target, draft = model_pair(VOCAB_EXACT, seed=99, mix=MIX)
p, q = target.probs([0, 1]), draft.probs([0, 1])
for rule in ("kseq", "rrs"):
    out, _ = output_distribution(p, q, 3, "iid", rule)
    assert (out - p).abs().max() < 1e-9, rule
row = pair_acceptances(p, q, [1])[0]
assert abs(row["optimal"] - row["single"]) < 1e-7
# the exact distribution of a fixed small pair, and the power of the exactness test against the draft's own
# distribution: a precondition of the lossless claim
check = exactness_check(N_EXACT, alpha=1e-3)
ex_target, ex_draft, exact, power = check.target, check.draft, check.exact, check.power
print("rules exact on a random pair; LP(k=1) equals the maximal coupling")

# %% [markdown]
# ## Experiment 1: exact acceptance at one node
# For each seed, a model pair over `VOCAB_EXACT` tokens and `N_CONTEXTS` random contexts; at each context the target
# and draft next-token distributions $(p, q)$ give exact acceptances of every rule and of the LP optimum.

# %%
rows = []
for seed in SEEDS:
    target, draft = model_pair(VOCAB_EXACT, seed, MIX)
    g = torch.Generator().manual_seed(seed)
    for c in range(N_CONTEXTS):
        ctx = torch.randint(0, VOCAB_EXACT, (2,), generator=g).tolist()
        for r in pair_acceptances(target.probs(ctx), draft.probs(ctx), KS):
            rows.append({"seed": seed, "context": c, "ctx": tuple(ctx), **r})
accept = pd.DataFrame(rows)
accept["kseq_over_opt"] = accept.kseq / accept.optimal
accept.groupby("k")[["single", "kseq", "iid_rrs", "optimal", "kseq_over_opt"]].mean()

# %% [markdown]
# ## Experiment 2: block efficiency of SpecTr with k draft sequences
# `N_PROMPTS` random prompts per seed, `MAX_NEW` tokens each, draft length `DRAFT_LEN`; the same prompts and seeds for
# every k. SpecInfer's rule (recursive rejection on the same i.i.d. drafts) is run alongside.

# %%
gen_rows = []
for seed in SEEDS:
    target, draft = model_pair(VOCAB_GEN, seed, MIX)
    g = torch.Generator().manual_seed(100 + seed)
    prompts = [torch.randint(0, VOCAB_GEN, (4,), generator=g).tolist() for _ in range(N_PROMPTS)]
    for k in GEN_KS:
        for rule in ("kseq", "rrs"):
            for i, prompt in enumerate(prompts):
                res = speculative_generate(target, draft, prompt, MAX_NEW, IIDSequences(k, DRAFT_LEN), rule, seed=i)
                gen_rows.append({"seed": seed, "prompt": i, "k": k, "rule": rule,
                                 "block_efficiency": len(res.tokens) / res.target_calls})  # fmt: skip
gen = pd.DataFrame(gen_rows)
gen.pivot_table(index="k", columns="rule", values="block_efficiency", aggfunc="mean")

# %% [markdown]
# ## Experiment 3: the output distribution is the target's
# SpecTr (k = 3 drafts of length 2) generates 3 tokens over a 3-token vocabulary `N_EXACT` times; the 27 outcomes are
# compared with the enumerated target distribution.

# %%
counts = Counter(tuple(speculative_generate(ex_target, ex_draft, [0, 1], 3, IIDSequences(3, 2), "kseq", seed=s).tokens)
                 for s in range(N_EXACT))  # fmt: skip
stat, pvalue, dof = chi_square(counts, exact)
tv = 0.5 * sum(abs(counts.get(x, 0) / N_EXACT - pr) for x, pr in exact.items())

# %% [markdown]
# ## Paper vs ours
# Units: the guarantee is checked exactly on every node pair (a minimum over a fixed set); the acceptance gain is a
# geometric mean of per-node ratios over distinct node pairs (contexts drawn twice count once); the block-efficiency
# gain a geometric mean of per-prompt ratios (the same prompt and sampler seed for both k); the exactness test is a
# seeded chi-square test whose power is its precondition.

# %%
kmax, gmax = max(KS), max(GEN_KS)
multi = accept[accept.k >= 2]
nodes = accept[accept.k == kmax].drop_duplicates(["seed", "ctx"])
spec = gen[gen.rule == "kseq"].pivot_table(index=["seed", "prompt"], columns="k", values="block_efficiency")
measurements = {
    "kseq-near-optimal": Measurement.exact(float(multi.kseq_over_opt.min()), n=len(multi), n_unit="node pairs x k"),
    "kseq-beats-single-draft": Measurement.ratio(nodes.kseq, nodes.single, n_unit="node pairs"),
    "block-efficiency-gain": Measurement.ratio(spec[gmax], spec[1], n_unit="prompts"),
    "lossless": Measurement.exact(pvalue, n=N_EXACT, n_unit="samples"),
}
checks = {"test-power": Measurement.exact(power)}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
print(f"exactness: chi2 = {stat:.1f} on {dof} dof, TV(sampled, exact) = {tv:.3f}, power {power:.3f}")
verdict_table(claim_results)

# %%
summary = accept.groupby("k")[["single", "kseq", "iid_rrs", "optimal"]].mean()
summary["kseq_over_opt_min"] = accept.groupby("k").kseq_over_opt.min()
summary.round(4)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
means = accept.groupby("k")[["single", "kseq", "iid_rrs", "optimal"]].mean()
for col, style in [("optimal", "k-"), ("kseq", "o-"), ("iid_rrs", "s--"), ("single", ":")]:
    ax.plot(means.index, means[col], style, label=col)
ax.set(xlabel="drafts per position k", ylabel="acceptance probability (exact)", title="One node: rules vs LP optimum")
ax.set_xticks(KS)
ax.legend()
ax = axes[1]
be = gen.groupby(["rule", "k"]).block_efficiency.agg(["mean", "std"]).reset_index()
for rule, grp in be.groupby("rule"):
    ax.errorbar(
        grp.k, grp["mean"], yerr=grp["std"], fmt="o-", label={"kseq": "SpecTr (K-SEQ)", "rrs": "SpecInfer (RRS)"}[rule]
    )
ax.set(xlabel="draft sequences k", ylabel="tokens per target call", title=f"Block efficiency, L = {DRAFT_LEN}")
ax.set_xticks(GEN_KS)
ax.legend()
fig.tight_layout()
run.save_figure(fig, "spectr")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (3 model pairs over 5 and 24 tokens): the exact computation confirms the theory on every pair. K-SEQ
# never falls below $1-1/e$ of the LP optimum on any of the 180 (node pair, k) cases; its worst ratio is about 0.89 and
# its mean about 0.95, so the guarantee is loose in practice. Every rule's output distribution is the target's to
# machine precision, and the sampled decoder passes a chi-square test (p = 0.46) that would catch an always-accepting
# verifier with probability ≥ 0.99 (the claim's precondition). More drafts raise acceptance: K-SEQ with 3 drafts
# accepts 1.37x [1.31, 1.42] as often as a single draft (geometric mean over 54 distinct node pairs), and 4 draft
# sequences of length 4 give 1.32x [1.24, 1.41] the tokens per target call of one (over 36 prompts). With other seeds
# (10-12) the values were 1.40 and 1.40 and no verdict moved; the exactness test does not depend on the seeds. On these
# pairs K-SEQ also accepts slightly more often than recursive rejection on the same i.i.d. drafts (SpecInfer's rule),
# and both stay below the LP optimum. The paper's 1.37x is wall clock on large models; ours is tokens per target call on
# toy models. That is an upper bound on the wall-clock gain when draft calls are cheap, and it is the quantity the
# paper's block-efficiency tables report. Neither gain is compared with a trivial control (say, k drafts verified by a
# rule that ignores all but the first): that is left for a later issue.
