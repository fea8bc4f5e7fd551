# %% [markdown]
# # Unintentional Unalignment (arXiv:2410.08847): likelihood displacement under DPO with single-token responses
#
# Razin, Malladi, Bhaskar, Chen, Arora and Hanin, *Unintentional Unalignment: Likelihood Displacement in Direct
# Preference Optimization* (ICLR 2025; arXiv v4), catalog id 117.
#
# **Claims under test.** (1) Training DPO on one prompt whose preferred and dispreferred responses are single tokens
# lowers the preferred token's probability (Sec. 3, Table 1: "in all runs"). (2) Theorem 1 (Sec. 4.2.1): the larger
# <W+, W-> + sum_z pi(z|x) <W_z, W+ - W->, the faster ln pi(y+|x) falls. (3) Theorem 2: the tokens that gain are those
# whose unembeddings align with W+ - W- (the "No over Never raises Yes" mechanism).
#
# **Replicated here:** the single-token setting on SmolLM2-135M-Instruct (the zoo's real instruct model):
# persona-style prompts, answer pairs drawn from 18 single-token answers (the first units are the paper's Table 1
# pairs), SFT on (x, y+) then DPO on the one pair, per unit, from the same pretrained model. The loss is the engine's
# `dpo_loss` (tested equal to TRL 1.16's), the loop the shared trainer. CHES (Definition 2) is identically 0 with
# single-token responses (one shared hidden state), so the single-token theory is about the unembedding geometry.
# **Not replicated, and why:** OLMo-1B, Gemma-2B, Llama-3-8B and the Persona dataset (not offline; 1B+ models do not
# train on a CPU); full fine-tuning (2.5 s a step here: the top blocks train instead, see `method.py`); the
# multi-token CHES results on UltraFeedback/AlpacaFarm (Sec. 5) and the SORRY-Bench unalignment and CHES filtering
# (Sec. 6: 2B-8B models, a refusal judge).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEED = 1  # draws the units' statements and answer pairs, seeds the trainer (0 was the timing pilot: kept out)
N_UNITS = 8  # units (prompt, y+, y-): the unit of every interval; the first 3 are the paper's Table 1 pairs
MODEL = "smollm2-135m-instruct"  # zoo model
K_BLOCKS = 2  # top decoder blocks that train (with the final norm); the rest is frozen
SFT_STEPS = 10  # SFT steps on (x, y+) before DPO (the paper's initial SFT phase)
SFT_LR = 1e-4  # AdamW learning rate of SFT
DPO_STEPS = 20  # DPO steps on the single pair
DPO_LR = 1e-4  # AdamW learning rate of DPO (the same as SFT's: not tuned)
BETA = 0.1  # DPO's KL coefficient (the paper's kl_coeff)
TRAIN_UNEMBEDDING = False  # train W's rows y+ and y- too (method.py explains why not by default)

# %%
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from papers.likelihood_displacement_2024 import method
from papers.likelihood_displacement_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.models import load
from shared.results import start_run

run = start_run("likelihood_displacement_2024", globals(), seeds=[SEED])
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The answers are single tokens; the head (top blocks on the frozen lower hidden states) gives the full model's
# next-token distribution; the single-token DPO loss is log 2 where the policy is the reference, and equals the
# engine's `dpo_batch_loss` on the collated pair (full model, TRL layout) for a perturbed policy.

# %% tags=["nbval-check-output"]
torch.manual_seed(SEED)
model, tok = load(MODEL)
model.requires_grad_(False)
ids_of = {w: method.answer_id(tok, w) for w in method.ANSWERS}  # raises unless every answer is one token
head = method.TopHead(model, K_BLOCKS)
init_state = {k: v.clone() for k, v in head.state_dict().items()}
units = method.make_units(N_UNITS, SEED)
probe = method.prompt_ids(tok, method.STATEMENTS[units[0]["statement"]])
with torch.no_grad():
    full = torch.log_softmax(model(torch.tensor([probe])).logits[0, -1].float(), -1)
    h_probe = method.prefix_hidden(model, probe, K_BLOCKS)
    via_head = head(h_probe)
assert (via_head - full).abs().max() < 1e-3, (via_head - full).abs().max()
pos, neg = ids_of["No"], ids_of["Never"]
assert abs(method.dpo_pair_loss(full, full, pos, neg, BETA).item() - math.log(2)) < 1e-6
# the engine's loss on the TRL layout (policy = reference with the top block's MLP perturbed, reference = model)
from shared.align.batches import collate_preferences, dpo_batch_loss  # noqa: E402

head.layers[-1].mlp.down_proj.weight.data.add_(0.01 * torch.randn_like(head.layers[-1].mlp.down_proj.weight))
policy = copy.deepcopy(model)
policy.model.layers[-1].mlp.down_proj.weight.data.copy_(head.layers[-1].mlp.down_proj.weight.data)
with torch.no_grad():
    ours = method.dpo_pair_loss(head(h_probe), full, pos, neg, BETA).item()
    batch = collate_preferences([{"prompt_ids": probe, "chosen_ids": [pos], "rejected_ids": [neg]}],
                                tok.pad_token_id or 0)  # fmt: skip
    engine = dpo_batch_loss(policy, batch, BETA, ref_model=model)[0].item()
assert abs(ours - engine) < 1e-4 and abs(ours - math.log(2)) > 1e-6, (ours, engine)
del policy
head.load_state_dict(init_state)
print(
    f"{len(ids_of)} single-token answers; head == full model; DPO at the reference = log 2; "
    f"single-token DPO loss == engine dpo_batch_loss: ok"
)

# %% [markdown]
# ## Experiment
# Per unit: SFT on (x, y+), then DPO on (x, y+, y-) from the SFT'd model (the reference); log-probabilities before
# and after, Theorem 1's term at the DPO start, and Theorem 2's per-token correlations over the vocabulary.

# %%
watch = {"Yes": ids_of["Yes"], "No": ids_of["No"]}
rows, t0 = [], time.perf_counter()
for u in units:
    ids = method.prompt_ids(tok, method.STATEMENTS[u["statement"]])
    h_in = method.prefix_hidden(model, ids, K_BLOCKS)
    r = method.run_unit(head, init_state, h_in, ids_of[u["y_pos"]], ids_of[u["y_neg"]], sft_steps=SFT_STEPS,
                        sft_lr=SFT_LR, dpo_steps=DPO_STEPS, dpo_lr=DPO_LR, beta=BETA, seed=SEED + u["unit"],
                        train_unembedding=TRAIN_UNEMBEDDING, watch=watch)  # fmt: skip
    r["top_gain"] = " ".join(repr(tok.decode([i])) for i in r["top_gain"])
    rows.append({**u, **r})
results = pd.DataFrame(rows)
results["fall"] = results.lp_pos0 - results.lp_pos1  # > 0: ln pi(y+|x) decreased
results["displaced"] = results.fall > 1e-3
results["p_pos0"], results["p_pos1"] = np.exp(results.lp_pos0), np.exp(results.lp_pos1)
print(f"{len(results)} units in {time.perf_counter() - t0:.0f} s")  # timing: not a verdict
results[["y_pos", "y_neg", "p_pos0", "p_pos1", "fall", "loss_end", "theorem1", "uf_rate", "rho_diff", "rho_pos"]]

# %% [markdown]
# The paper's Table 1 pairs (the first units): the preferred token's probability at the DPO start and end, the
# largest drop during DPO (Table 1's statistic), the change of ln pi(Yes) and the tokens gaining most probability.

# %%
results.head(len(method.PAPER_PAIRS))[["y_pos", "y_neg", "p_pos0", "p_pos1", "max_prob_drop", "dlp_Yes",
                                       "top_gain"]]  # fmt: skip

# %% [markdown]
# ## Paper vs ours

# %%
n = len(results)
checks = {
    "dpo-trains": float((results.loss_end < math.log(2)).mean()),
    "sft-fits": float(results.p_pos0.median()),
}
units_t = list(zip(results.theorem1, results.lp_pos0, results.fall))


def rho_margin(us):
    t1, lp0, fall = zip(*us)
    return method.spearman(t1, fall) - method.spearman(lp0, fall)


measurements = {
    "displacement-share": Measurement.proportion(int(results.displaced.sum()), n, n_unit="units"),
    "theorem1-predicts": Measurement.correlation(results.theorem1, results.fall, n_unit="units"),
    "mass-direction": Measurement.mean(results.rho_diff, n_unit="units", bounds=(-1.0, 1.0)),
}
controls = {
    "theorem1-predicts": Measurement.bootstrap(units_t, rho_margin, n_unit="units"),
    "mass-direction": Measurement.paired_difference(results.rho_diff, results.rho_pos, n_unit="units"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# Reported, not judged: the exact rate of the analysed model with the unembedding frozen, <W+ - W_bar, W+ - W-> (the
# hidden embedding's part, `method.uf_rate`), against the observed change; and the starting log-probability alone.

# %%
pd.DataFrame([
    {"score": "Theorem 1 term (judged)", "rho with fall": method.spearman(results.theorem1, results.fall)},
    {"score": "-uf_rate (h part)", "rho with fall": method.spearman(-results.uf_rate, results.fall)},
    {"score": "start ln pi(y+) (control)", "rho with fall": method.spearman(results.lp_pos0, results.fall)},
    {"score": "<W+, W-> - ||W+||^2", "rho with fall": method.spearman(results.w_pos_neg - results.w_pos_sq,
                                                                      results.fall)},
])  # fmt: skip

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].scatter(results.theorem1, results.fall, s=14)
axes[0].axhline(0, color="grey", lw=0.8)
axes[0].set(xlabel="Theorem 1 term at the DPO start", ylabel="fall of ln pi(y+|x) over DPO",
            title=f"units: {n}, rho = {stats.spearmanr(results.theorem1, results.fall).statistic:.2f}")  # fmt: skip
axes[1].hist([results.rho_diff, results.rho_pos], bins=15, label=["<W_z, W+ - W->", "<W_z, W+> (control)"])
axes[1].set(xlabel="Spearman over the vocabulary with the change of ln pi(z|x)", ylabel="units")
axes[1].legend()
run.save_figure(fig, "displacement")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# See the README (verdicts of the largest fresh profile, what did not reproduce and why).
