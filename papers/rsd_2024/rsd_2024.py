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
# **Replicated here:** RSD-C (constant branching) on the shared engine `shared.speculative`. Block efficiency at a
# fixed tree shape and at a fixed budget is measured on a real draft/target pair from the project's zoo:
# `tiny-lm-small` (2.1M parameters) drafting for `tiny-lm-large` (8.4M), one 8k BPE, on prompts cut from held-out text;
# the fixed-budget baseline is chosen on selection prompts, then compared on other prompts. Exact per-node acceptances
# and the chi-square exactness test need enumerable distributions and stay on random n-gram toy pairs.
# **Not replicated, and why:** RSD-S (stochastic beam search; not in the engine); Llama 2 / OPT models and wall-clock
# numbers (not available offline; block efficiency is the measure).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # one toy target/draft pair per seed (the exact per-node study)
VOCAB_EXACT = 6  # vocabulary for the exact per-node study
N_CONTEXTS = 40  # node pairs (p, q) per seed
K_NODE = 3  # drafts per node in the exact study
MIX = 0.5  # weight of the target's table in the toy draft
TARGET = "tiny-lm-large"  # the real pair (zoo names): target
DRAFT = "tiny-lm-small"  # and draft
PROMPT_SEED = 1  # picks the held-out windows and seeds the samplers (0 was an exploratory timing run: kept out)
N_SELECT = 4  # selection prompts: the fixed-budget baseline's configuration is chosen on these
N_PROMPTS = 67  # evaluation prompts (the unit of both block-efficiency claims), disjoint from the selection prompts
N_LENGTH = 10  # the fixed-length study runs on the first N_LENGTH of them (its power precondition needs 219 here)
PROMPT_LEN = 32  # prompt tokens
MAX_NEW = 20  # tokens generated per prompt
FIXED_SHAPES = ["2x2x2", "3x3"]  # tree shapes of the fixed-length comparison (names in method.SHAPES)
BUDGET_LIST = [6, 12, 14]  # target budgets (draft tokens verified per call; keys of method.BUDGETS)
N_EXACT = 3000  # samples for the exactness test

# %%
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.rsd_2024.claims import CLAIMS, prompts_needed
from papers.rsd_2024.method import (
    choose_baselines,
    held_out_windows,
    model_pair,
    node_acceptance,
    proposers_fixed_budget,
    proposers_fixed_length,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.models import load, stage_dir
from shared.results import start_run
from shared.speculative import BranchingTree, HFSession, output_distribution, speculative_generate
from shared.speculative.exactness import exactness_check
from shared.speculative.stats import chi_square

run = start_run("rsd_2024", globals(), seeds=SEEDS + [PROMPT_SEED])
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
# ## Experiment 1: exact acceptance at one node (toy pairs: enumerable)

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
# ## Experiment 2: block efficiency on the real pair, at fixed draft length and at fixed budget
# Prompts are non-overlapping windows of held-out text. First, on `N_SELECT` selection prompts, every i.i.d. sequence
# configuration (k sequences of length L, k L = budget) is run at each budget and the best (geometric-mean block
# efficiency) is chosen. Then, on `N_PROMPTS` other prompts (the first `N_LENGTH` of them for the fixed length), RSD-C is
# run against the i.i.d. tree of the same shape
# (fixed length) and against the chosen configuration (fixed budget); the same prompt and sampler seed for every
# method. Sampling at temperature 1.

# %%
tm, _ = load(TARGET)
dm, _ = load(DRAFT)
stream = np.load(stage_dir("bpe-8k") / "val.npy")
windows = held_out_windows(stream, N_SELECT + N_PROMPTS, PROMPT_LEN, PROMPT_SEED)
select_prompts, eval_prompts = windows[:N_SELECT], windows[N_SELECT:]
target, draft = HFSession(tm), HFSession(dm)


def block_efficiency(prompt, proposer, seed):
    return speculative_generate(target, draft, prompt, MAX_NEW, proposer, "rrs", seed=seed).block_efficiency


# selection: seeds 100000 + i, never used for evaluation
sel_seed = 100_000 + 1000 * PROMPT_SEED
selection = {b: {name: [block_efficiency(pr, prop, sel_seed + i) for i, pr in enumerate(select_prompts)]
                 for name, prop in proposers_fixed_budget(b).items() if name != "rsd-c"}
             for b in BUDGET_LIST}  # fmt: skip
chosen = choose_baselines(selection)
gen_rows = []
for i, prompt in enumerate(eval_prompts):
    seed = 1000 * PROMPT_SEED + i
    for (shape, kind), prop in proposers_fixed_length(FIXED_SHAPES if i < N_LENGTH else []).items():
        gen_rows.append({"prompt": i, "study": "length", "setting": shape, "method": kind,
                         "block_efficiency": block_efficiency(prompt, prop, seed)})  # fmt: skip
    for b in BUDGET_LIST:
        props = proposers_fixed_budget(b)
        for method, name in (("rsd-c", "rsd-c"), ("best iid", chosen[b])):
            gen_rows.append({"prompt": i, "study": "budget", "setting": b, "method": method,
                             "block_efficiency": block_efficiency(prompt, props[name], seed)})  # fmt: skip
gen = pd.DataFrame(gen_rows)
pd.DataFrame({"chosen on selection prompts": chosen})

# %% [markdown]
# ## Experiment 3: the output distribution is the target's

# %%
counts = Counter(tuple(speculative_generate(ex_target, ex_draft, [0, 1], 3, BranchingTree((2, 2)), "rrs", seed=s).tokens)
                 for s in range(N_EXACT))  # fmt: skip
stat, pvalue, dof = chi_square(counts, exact)

# %% [markdown]
# ## Paper vs ours
# Units: distinct node pairs (contexts drawn twice count once) for the per-node gain; evaluation prompts for both
# block-efficiency claims: at fixed length, each prompt's RSD-C / i.i.d. ratio is a geometric mean over the tree
# shapes; at fixed budget, over the budgets, against the i.i.d. configuration chosen on the selection prompts. Both are
# geometric means of paired per-prompt ratios with log-scale bootstrap intervals. The exactness test is seeded; its
# power is its precondition. Each block-efficiency claim also has a power precondition fixed by the design, not by the
# outcome: enough evaluation prompts for a ratio of the paper's size to clear the claim's lowest bar at the per-prompt
# spread of the committed full record, scaled to this run's MAX_NEW and number of shapes or budgets
# (`claims.prompts_needed`; derivation in `claims.py`).

# %%
kn = node[node.k == K_NODE].drop_duplicates(["seed", "ctx"])
length = gen[gen.study == "length"].pivot_table(index="prompt", columns=["method", "setting"], values="block_efficiency")
length_geo = {m: np.exp(np.log(length[m]).mean(axis=1)) for m in ("wor", "iid")}
budget = gen[gen.study == "budget"].pivot_table(index="prompt", columns=["method", "setting"], values="block_efficiency")
budget_geo = {m: np.exp(np.log(budget[m]).mean(axis=1)) for m in ("rsd-c", "best iid")}
measurements = {
    "wor-node-acceptance": Measurement.ratio(kn.wor, kn.iid, n_unit="node pairs"),
    "fixed-length": Measurement.ratio(length_geo["wor"], length_geo["iid"], n_unit="prompts"),
    "fixed-budget": Measurement.ratio(budget_geo["rsd-c"], budget_geo["best iid"], n_unit="prompts"),
    "lossless": Measurement.exact(pvalue, n=N_EXACT, n_unit="samples"),
}
need = {"fixed-length": prompts_needed("fixed-length", MAX_NEW, len(FIXED_SHAPES)),
        "fixed-budget": prompts_needed("fixed-budget", MAX_NEW, len(BUDGET_LIST))}
checks = {
    "test-power": Measurement.exact(power),
    "drafts-accepted": Measurement.mean(length_geo["iid"], n_unit="prompts", bounds=(1, 4)),
    # the power preconditions (claims.py): evaluation prompts / prompts needed at this design
    "enough-prompts-length": Measurement.exact(len(length) / need["fixed-length"]),
    "enough-prompts-budget": Measurement.exact(len(budget) / need["fixed-budget"]),
}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
print(f"exactness: chi2 = {stat:.1f} on {dof} dof, power {power:.3f}")
print(f"evaluation prompts: fixed length {len(length)} (needed {need['fixed-length']}), "
      f"fixed budget {len(budget)} (needed {need['fixed-budget']})")
verdict_table(claim_results)

# %%
print("block efficiency at fixed draft length (mean over evaluation prompts):")
print(length.mean().unstack(0).round(3).to_string())
print("fixed budget, per budget: RSD-C / chosen i.i.d. configuration over evaluation prompts (shown, not judged):")
per_budget = pd.DataFrame({b: {"chosen": chosen[b], "rsd-c": budget["rsd-c"][b].mean(),
                               "best iid": budget["best iid"][b].mean(),
                               "ratio": str(Measurement.ratio(budget["rsd-c"][b], budget["best iid"][b],
                                                              n_unit="prompts").rounded(3))}
                           for b in BUDGET_LIST}).T  # fmt: skip
print(per_budget.to_string())

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
# The numbers of each profile are in the verdict table above and in the README (both profiles, with the stability
# reruns). *Full run* (8 toy pairs for the exact studies; on the tiny-LM pair 12 selection and 100 evaluation prompts of
# 32 new tokens, 3 tree shapes, 5 budgets; before issue 14's power preconditions it had 60 prompts). Drawing siblings
# without replacement helps at every node (exact acceptance with 3 drafts about 0.97 against 0.90 for i.i.d. draws),
# because i.i.d. draws of a peaked draft often repeat a token that has already been rejected. On the real pair that
# node-level gain hardly shows in whole trees of a fixed shape (60 prompts gave 1.008x [0.983, 1.032]): the draft is
# close to its target (i.i.d. trees already give ~2.7 tokens per call), so most tokens are accepted at the first
# sibling and sibling diversity rarely matters. At a fixed budget RSD-C was clearly worse than the best i.i.d.
# configuration chosen on separate selection prompts (0.805x [0.778, 0.830] over 60 prompts), mostly single chains:
# with a draft this good depth pays more than width. The paper's "consistently" and "in most cases" come from Llama 2 /
# OPT pairs whose drafts are accepted less often. Exactness holds, with power >= 0.99 against the draft's own
# distribution.
#
# *Default run* (3 toy pairs; 4 selection and 67 evaluation prompts of 20 new tokens, the fixed length on the first 10
# of them): its 60 s buys the 67 prompts `fixed-budget` needs to be placed, not the 219 `fixed-length` would need at
# 20 tokens and 2 shapes, so the default's `fixed-length` is inconclusive by its power precondition and only the full
# profile decides it.
