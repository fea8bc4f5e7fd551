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
# **Replicated here:** all rules run on the shared engine `shared.speculative`. The acceptance gain and the speed-up
# (block efficiency, tokens per target call) are measured on a real draft/target pair from the project's zoo:
# `tiny-lm-small` (2.1M parameters) drafting for `tiny-lm-large` (8.4M), one 8k BPE, on prompts cut from the held-out
# text they were never trained on. The two claims that need exact enumeration stay on toy pairs (random n-gram LMs
# over 5 and 3 tokens): the (1-1/e) guarantee, which compares with the optimal transport plan (a linear program over
# `V^k` draws), and exactness, a chi-square test against the enumerated target distribution.
# **Not replicated, and why:** wall-clock speedups with PaLM-2 / LM1B models (not available offline); the README
# measures wall clock with the Qwen2.5-Coder pair separately and says why that pair is not in the `full` profile.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2]  # one toy target/draft pair per seed (the exact study)
VOCAB_EXACT = 5  # vocabulary of the pairs whose acceptances are computed exactly (LP has VOCAB^k * VOCAB variables)
N_CONTEXTS = 30  # node pairs (p, q) per seed for the exact acceptance study
KS = [1, 2, 3]  # numbers of drafts for the exact study
MIX = 0.5  # weight of the target's table in the toy draft
TARGET = "tiny-lm-large"  # the real pair (zoo names): target
DRAFT = "tiny-lm-small"  # and draft
PROMPT_SEED = 0  # picks the held-out windows (node study and prompts) and seeds the samplers
N_WINDOWS = 40  # held-out windows of WINDOW tokens for the real-pair acceptance study (the unit)
WINDOW = 64
NODE_K = 4  # drafts per node in the real-pair acceptance study
N_PROMPTS = 60  # held-out prompts for the block-efficiency study (the unit); 60 at k = 8: power ~0.9 for the 1.1 bar
PROMPT_LEN = 32  # prompt tokens
MAX_NEW = 32  # tokens generated per prompt
DRAFT_LEN = 4  # draft sequence length L
GEN_KS = [1, 8]  # numbers of draft sequences k (the claim compares max(GEN_KS) with 1, as the full profile does)
WITH_RRS = False  # also run SpecInfer's rule on the same i.i.d. drafts (shown, not judged)
N_EXACT = 3000  # samples for the exactness test (3-token continuations over a 3-token vocabulary)

# %%
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.spectr_2023.claims import CLAIMS
from papers.spectr_2023.method import FirstOfK, held_out_windows, kseq_acceptance, model_pair, pair_acceptances
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.models import load, stage_dir
from shared.results import start_run
from shared.speculative import HFSession, IIDSequences, output_distribution, speculative_generate
from shared.speculative.exactness import exactness_check
from shared.speculative.stats import chi_square

run = start_run("spectr_2023", globals(), seeds=SEEDS + [PROMPT_SEED])
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
# K-SEQ's closed-form acceptance (used on the real pair, where V^k draws cannot be enumerated) equals the enumeration
for k in KS:
    assert abs(kseq_acceptance(p, q, k) - output_distribution(p, q, k, "iid", "kseq")[1]) < 1e-9
# the exact distribution of a fixed small pair, and the power of the exactness test against the draft's own
# distribution: a precondition of the lossless claim
check = exactness_check(N_EXACT, alpha=1e-3)
ex_target, ex_draft, exact, power = check.target, check.draft, check.exact, check.power
print("rules exact on a random pair; LP(k=1) equals the maximal coupling; K-SEQ closed form equals enumeration")

# %% [markdown]
# ## Experiment 1: exact acceptance at one node, toy pairs (the LP optimum)
# For each seed, a toy model pair over `VOCAB_EXACT` tokens and `N_CONTEXTS` random contexts; at each context the target
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
# ## Experiment 2: acceptance at real nodes, tiny-lm-small drafting for tiny-lm-large
# `N_WINDOWS` non-overlapping windows of `WINDOW` held-out tokens; at every position of a window, the target's and
# the draft's next-token distributions (temperature 1) give the exact acceptance of one draft (the maximal coupling,
# $\sum_x \min(p, q)$) and of K-SEQ with `NODE_K` i.i.d. drafts ($1-(1-\beta)^k$). A window is one unit: its mean
# over positions.

# %%
tm, _ = load(TARGET)
dm, _ = load(DRAFT)
stream = np.load(stage_dir("bpe-8k") / "val.npy")
windows = held_out_windows(stream, N_WINDOWS + N_PROMPTS, max(WINDOW, PROMPT_LEN), PROMPT_SEED)
node_windows, prompts = windows[:N_WINDOWS], [w[:PROMPT_LEN] for w in windows[N_WINDOWS:]]
real_rows = []
with torch.no_grad():
    for w, ids in enumerate(node_windows):
        x = torch.tensor([ids[:WINDOW]])
        P = torch.softmax(tm(x).logits[0].double(), -1)
        Q = torch.softmax(dm(x).logits[0].double(), -1)
        for pos in range(WINDOW):
            real_rows.append({"window": w, "pos": pos, "single": float(torch.minimum(P[pos], Q[pos]).sum()),
                              "kseq": kseq_acceptance(P[pos], Q[pos], NODE_K)})  # fmt: skip
real = pd.DataFrame(real_rows)
per_window = real.groupby("window")[["single", "kseq"]].mean()
per_window.describe().loc[["mean", "min", "max"]]

# %% [markdown]
# ## Experiment 3: block efficiency of SpecTr with k draft sequences, on the real pair
# `N_PROMPTS` held-out prompts of `PROMPT_LEN` tokens, `MAX_NEW` sampled tokens each (temperature 1), draft length
# `DRAFT_LEN`; the same prompt and sampler seed for every k (each generation restarts its sampler). Also run: the
# trivial control `FirstOfK` (the draft samples max(GEN_KS) sequences but only the first is verified) and, where
# `WITH_RRS`, SpecInfer's rule (recursive rejection) on the same i.i.d. drafts.

# %%
gmax = max(GEN_KS)
arms = [(f"kseq k={k}", IIDSequences(k, DRAFT_LEN), "kseq") for k in GEN_KS]
arms += [("first-of-k", FirstOfK(gmax, DRAFT_LEN), "kseq")]
arms += [(f"rrs k={gmax}", IIDSequences(gmax, DRAFT_LEN), "rrs")] if WITH_RRS else []
target, draft = HFSession(tm), HFSession(dm)
gen_rows = []
for i, prompt in enumerate(prompts):
    for arm, proposer, rule in arms:
        res = speculative_generate(target, draft, prompt, MAX_NEW, proposer, rule, seed=1000 * PROMPT_SEED + i)
        gen_rows.append({"prompt": i, "arm": arm, "block_efficiency": res.block_efficiency})
gen = pd.DataFrame(gen_rows)
gen.groupby("arm").block_efficiency.agg(["mean", "std"])

# %% [markdown]
# ## Experiment 4: the output distribution is the target's (toy pair: enumerable)
# SpecTr (k = 3 drafts of length 2) generates 3 tokens over a 3-token vocabulary `N_EXACT` times; the 27 outcomes are
# compared with the enumerated target distribution.

# %%
counts = Counter(tuple(speculative_generate(ex_target, ex_draft, [0, 1], 3, IIDSequences(3, 2), "kseq", seed=s).tokens)
                 for s in range(N_EXACT))  # fmt: skip
stat, pvalue, dof = chi_square(counts, exact)
tv = 0.5 * sum(abs(counts.get(x, 0) / N_EXACT - pr) for x, pr in exact.items())

# %% [markdown]
# ## Paper vs ours
# Units: the guarantee is checked exactly on every toy node pair (a minimum over a fixed set); the acceptance gain is a
# geometric mean over held-out windows of the real pair of the per-window ratio of mean exact acceptances; the
# block-efficiency gain a geometric mean of per-prompt ratios (the same prompt and sampler seed for both k), beside the
# margin over the trivial control (paired per-prompt difference of log block efficiency); the exactness test is a
# seeded chi-square test whose power is its precondition.

# %%
kmax = max(KS)
multi = accept[accept.k >= 2]
be = gen.pivot_table(index="prompt", columns="arm", values="block_efficiency")
log_be = np.log(be)
measurements = {
    "kseq-near-optimal": Measurement.exact(float(multi.kseq_over_opt.min()), n=len(multi), n_unit="node pairs x k"),
    "kseq-beats-single-draft": Measurement.ratio(per_window.kseq, per_window.single, n_unit="held-out windows"),
    "block-efficiency-gain": Measurement.ratio(be[f"kseq k={gmax}"], be["kseq k=1"], n_unit="prompts"),
    "lossless": Measurement.exact(pvalue, n=N_EXACT, n_unit="samples"),
}
checks = {
    "test-power": Measurement.exact(power),
    "draft-informative": Measurement.mean(per_window.single, n_unit="held-out windows", bounds=(0, 1)),
    "room-to-gain": Measurement.mean(be["kseq k=1"], n_unit="prompts", bounds=(1, DRAFT_LEN + 1)),
}
controls = {
    "block-efficiency-gain": Measurement.paired_difference(log_be[f"kseq k={gmax}"], log_be["first-of-k"],
                                                           n_unit="prompts", unit="log block efficiency"),
}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks, controls=controls)
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
order = [a for a, _, _ in arms]
stats = gen.groupby("arm").block_efficiency.agg(["mean", "std"]).loc[order]
ax.bar(range(len(order)), stats["mean"], yerr=stats["std"], capsize=3)
ax.set_xticks(range(len(order)), order, rotation=20)
ax.set(ylabel="tokens per target call", title=f"Block efficiency, {DRAFT} -> {TARGET}, L = {DRAFT_LEN}")
fig.tight_layout()
run.save_figure(fig, "spectr")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run.* On toy pairs the exact computation confirms the theory: K-SEQ never falls below $1-1/e$ of the LP
# optimum on any of the 180 (node pair, k) cases (worst ratio about 0.89), and the sampled decoder passes a chi-square
# test (p = 0.22) that would catch an always-accepting verifier with probability >= 0.99 (the claim's precondition).
# On the real pair (tiny-lm-small drafting for tiny-lm-large, held-out text), one draft is accepted 0.74 of the time
# and K-SEQ with 4 drafts 0.91: 1.222x [1.216, 1.230] over 40 windows. Decoding 60 held-out prompts, 8 draft sequences
# of length 4 give 3.54 tokens per target call against 2.79 for one, 1.275x [1.211, 1.347]; the control that samples
# the same 8 drafts but verifies only the first gives 2.66, so the gain comes from verifying the extra drafts. (Since
# the issue-14 stability check the default compares k = 8 with 1, as the full profile does, on 60 prompts: 30 prompts
# at k = 4 had ~35% power for the 1.1 bar; the README gives the calculation and the reruns under other seeds.)
# The `full` profile (200 windows, 100 prompts, k up to 8) gives 1.235x and 1.187x [1.139, 1.235], with the gain
# flattening in k (3.10, 3.32, 3.40 tokens per call for k = 2, 4, 8) and SpecInfer's rule level with K-SEQ. The paper's
# 1.37x is wall clock on PaLM-2 models; ours is tokens per target call on tiny models, about half the paper's relative
# gain, with a draft already close to its target. The README says why the Qwen2.5-Coder pair is not used here.
