# %% [markdown]
# # From r to Q* (arXiv:2404.12358): DPO's per-token implicit reward does credit assignment, search over a DPO policy, declining rewards
#
# Rafailov, Hejna, Park and Finn, *From r to Q\*: Your Language Model is Secretly a Q-Function* (COLM 2024; arXiv v2),
# catalog id 155.
#
# **Claims under test** (the abstract's three empirical insights): (1) because DPO's policy is a token-level Q-function,
# its per-token implicit reward beta log pi/pi_ref does credit assignment: it is low at the erroneous token of a
# dispreferred response (Sec. 5.1, Fig. 2); (2) likelihood search over a DPO policy is search over its implicit
# reward: a simple beam search improves on the DPO policy (Sec. 5.2, Fig. 3); (3) with the SFT model as the
# reference, the implicit rewards (of the chosen responses too) decline during DPO (Sec. 5.3).
#
# **Replicated here:** the project's tiny LM (`tiny-lm-small`, 2.1M parameters) SFT'd on a verifiable task (running
# sums of 5 terms in 0..4: a trace of 4 checkable steps), then DPO'd (the engine's `dpo_train`, tested against TRL)
# on pairs whose rejected trace has one wrong step and continues consistently from it; evaluated on held-out
# problems. **Not replicated, and why:** Pythia-2.8B and 7B models on Reddit TL;DR / UltraFeedback with GPT-4 win
# rates (not offline, not on a CPU); the token-MDP derivations (theory, no measurement); MCTS (the claim tested is the
# beam-search one the paper ran).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [1]  # one SFT + DPO run per seed, each on its own split: the unit (seed 0 was the sizing pilot: kept out)
MODEL = "tiny-lm-small"  # zoo model (the project's tiny LM)
K_TERMS = 5  # terms per problem (0..4 each): a trace of 4 running sums, then EOS
N_TEST = 500  # held-out problems per seed (never in a DPO pair): units of every interval with one seed
SFT_STEPS = 100  # SFT steps on fresh problems (sized so the SFT model is middling, not solved)
SFT_BATCH = 32  # problems per SFT step
SFT_LR = 2e-3  # AdamW learning rate of SFT (cosine schedule, 10 warmup steps)
DPO_STEPS = 100  # DPO steps
DPO_BATCH = 16  # preference pairs per DPO step
DPO_LR = 1e-5  # AdamW learning rate of DPO (constant after 5 warmup steps, no weight decay)
BETA = 0.1  # DPO's KL coefficient
NUM_BEAMS = 4  # beam width of the likelihood search
THREADS = 1  # torch threads (results are deterministic for a given count)

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.r_to_q_2024 import method
from papers.r_to_q_2024.claims import CLAIMS, ENOUGH_SEEDS
from shared.align import arith
from shared.align.batches import collate_preferences, dpo_batch_loss
from shared.align.loops import dpo_train
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm.trainer import TrainConfig, train
from shared.models import load
from shared.results import start_run

run = start_run("r_to_q_2024", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
torch.set_num_threads(THREADS)

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The numbers are single tokens; a rejected trace differs from the chosen one from its error step on and is wrong;
# the per-token implicit rewards sum to the sequence reward that the engine's DPO loss uses, and are 0 where the
# policy is the reference.

# %% tags=["nbval-check-output"]
base, tok = load(MODEL)
v = arith.Vocab.from_tokenizer(tok)  # raises unless " 0" ... " 20" are single tokens
g = torch.Generator().manual_seed(12345)
probe = method.make_pairs(arith.make_problems(64, K_TERMS, g), v, g)
for p in probe:
    c, r, j = p["chosen_ids"], p["rejected_ids"], p["error"]
    assert c[:j] == r[:j] and c[j] != r[j] and len(c) == len(r) == K_TERMS
    assert arith.is_correct(p["terms"], c, v) and not arith.is_correct(p["terms"], r, v)
with torch.no_grad():
    zero = method.pair_token_rewards(base, base, probe[:8], BETA, v.pad)
    assert all(x == 0.0 for row in zero["rejected"] for x in row)
    noisy = copy.deepcopy(base)
    noisy.lm_head.weight.add_(0.05 * torch.randn(noisy.lm_head.weight.shape, generator=g))
    tr = method.pair_token_rewards(noisy, base, probe[:8], BETA, v.pad)
    _, stats = dpo_batch_loss(noisy, collate_preferences(probe[:8], v.pad), BETA, ref_model=base)
assert np.allclose([sum(x) for x in tr["chosen"]], stats["chosen_rewards"].numpy(), atol=1e-5)
assert np.allclose(tr["rejected_seq"], stats["rejected_rewards"].numpy(), atol=1e-5)
del noisy
print("single-token numbers; rejected traces wrong from the error step; per-token rewards sum to the engine's "
      "sequence rewards; zero at the reference: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per seed: SFT from the pretrained tiny LM on fresh problems; a seeded split of the 3125 problems into held-out
# problems and a DPO pool (one corrupted pair per pool problem); DPO from the SFT model (the reference); then greedy
# and beam decoding of both policies on the held-out problems, and per-token implicit rewards on held-out pairs.

# %%
pair_rows, prob_rows, train_rows, t0 = [], [], [], time.perf_counter()
for seed in SEEDS:
    policy, _ = load(MODEL)
    policy.requires_grad_(True)
    sft_cfg = TrainConfig(steps=SFT_STEPS, lr=SFT_LR, warmup=10, seed=seed, log_every=10**9, threads=THREADS)
    train(policy, None, sft_cfg, batches=arith.sft_sampler(K_TERMS, SFT_BATCH, v), log=None)
    ref = copy.deepcopy(policy).requires_grad_(False)
    gs = torch.Generator().manual_seed(10_000 + seed)
    test, pool = arith.split_problems(K_TERMS, N_TEST, gs)
    train_pairs = method.make_pairs(pool, v, gs)
    test_pairs = method.make_pairs(test, v, gs)
    sft_greedy = arith.accuracy_vector(ref, test, v, 1)
    sft_beam = arith.accuracy_vector(ref, test, v, NUM_BEAMS)
    dpo_cfg = TrainConfig(steps=DPO_STEPS, lr=DPO_LR, warmup=5, schedule="constant", weight_decay=0.0, seed=seed,
                          log_every=10**9, threads=THREADS)  # fmt: skip
    _, rows = dpo_train(policy, ref, method.dpo_sampler(train_pairs, DPO_BATCH, v.pad), dpo_cfg, beta=BETA)
    train_rows += [{"seed": seed, **r} for r in rows]
    dpo_greedy = arith.accuracy_vector(policy, test, v, 1)
    dpo_beam = arith.accuracy_vector(policy, test, v, NUM_BEAMS)
    rw = method.pair_token_rewards(policy, ref, test_pairs, BETA, v.pad)
    for i, p in enumerate(test_pairs):
        rej = rw["rejected"][i]
        pair_rows.append({"seed": seed, "pair": i, "error": p["error"], "n_tokens": len(rej),
                          "hit": method.argmin_hit(rej, p["error"]), "chance": 1.0 / len(rej),
                          "auroc": method.auroc_error(rej, p["error"]),
                          "ref_hit": method.argmin_hit(rw["ref_rejected"][i], p["error"]),
                          "reward_at_error": rej[p["error"]],
                          "reward_elsewhere": float(np.mean([x for k, x in enumerate(rej) if k != p["error"]])),
                          "chosen_reward": rw["chosen_seq"][i], "rejected_reward": rw["rejected_seq"][i]})  # fmt: skip
    for i in range(len(test)):
        prob_rows.append({"seed": seed, "problem": i, "sft_greedy": sft_greedy[i], "sft_beam": sft_beam[i],
                          "dpo_greedy": dpo_greedy[i], "dpo_beam": dpo_beam[i]})  # fmt: skip
pairs_df, probs_df, train_df = pd.DataFrame(pair_rows), pd.DataFrame(prob_rows), pd.DataFrame(train_rows)
pairs_df["margin_pos"] = (pairs_df.chosen_reward > pairs_df.rejected_reward).astype(float)
probs_df["dpo_gain"] = probs_df.dpo_beam - probs_df.dpo_greedy
probs_df["sft_gain"] = probs_df.sft_beam - probs_df.sft_greedy
print(f"{len(SEEDS)} seed(s), {len(pairs_df)} held-out pairs in {time.perf_counter() - t0:.0f} s")  # timing: not a verdict
per_seed = pairs_df.groupby("seed")[["hit", "ref_hit", "auroc", "chosen_reward", "rejected_reward",
                                     "margin_pos"]].mean().join(
    probs_df.groupby("seed")[["sft_greedy", "sft_beam", "dpo_greedy", "dpo_beam"]].mean())  # fmt: skip
per_seed

# %% [markdown]
# Reported, not judged: where the rejected response's rewards sit by position (error step vs the others), and the
# reference's own log-likelihood as a localiser (the SFT model's surprise at the wrong token, with no DPO at all).

# %%
pd.DataFrame([
    {"score": "DPO implicit reward (judged)", "top-1 hit": pairs_df.hit.mean(), "mean AUROC": pairs_df.auroc.mean()},
    {"score": "reference log-likelihood", "top-1 hit": pairs_df.ref_hit.mean(), "mean AUROC": np.nan},
    {"score": "random position", "top-1 hit": pairs_df.chance.mean(), "mean AUROC": 0.5},
]).set_index("score")  # fmt: skip

# %%
# the rejected response's per-token implicit reward at the erroneous token and at the other tokens (mean over pairs)
pairs_df[["reward_at_error", "reward_elsewhere"]].describe().loc[["mean", "25%", "50%", "75%"]]

# %% [markdown]
# ## Paper vs ours
# The unit is the seed (one SFT + DPO run): its mean over its held-out pairs or problems (`claims.py`). With fewer
# than 5 seeds (the default) every claim is inconclusive by the engine's minimum number of units.

# %%
def units(df, col):
    return df.groupby("seed")[col].mean().tolist()


n_unit = "seeds"
checks = {
    "sft-middling": Measurement.mean(units(probs_df, "sft_greedy"), n_unit=n_unit, bounds=(0.0, 1.0)),
    "dpo-learns": Measurement.mean(units(pairs_df, "margin_pos"), n_unit=n_unit, bounds=(0.0, 1.0)),
    "room-to-search": Measurement.mean(units(probs_df, "dpo_greedy"), n_unit=n_unit, bounds=(0.0, 1.0)),
    ENOUGH_SEEDS.id: Measurement.exact(probs_df.seed.nunique(), n_unit=n_unit),
}
measurements = {
    "error-localisation": Measurement.mean(units(pairs_df, "hit"), n_unit=n_unit, bounds=(0.0, 1.0)),
    "beam-search-gain": Measurement.mean(units(probs_df, "dpo_gain"), n_unit=n_unit, bounds=(-1.0, 1.0)),
    "chosen-reward-declines": Measurement.mean(units(pairs_df, "chosen_reward"), n_unit=n_unit),
}
controls = {
    "error-localisation": Measurement.paired_difference(units(pairs_df, "hit"), units(pairs_df, "chance"),
                                                        n_unit=n_unit),  # fmt: skip
    "beam-search-gain": Measurement.paired_difference(units(probs_df, "dpo_gain"), units(probs_df, "sft_gain"),
                                                      n_unit=n_unit),  # fmt: skip
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].bar(["DPO reward", "ref. likelihood", "random"], [pairs_df.hit.mean(), pairs_df.ref_hit.mean(),
                                                          pairs_df.chance.mean()])  # fmt: skip
axes[0].set(ylabel="top-1 hit at the erroneous token", title="credit assignment (held-out pairs)")
acc = probs_df[["sft_greedy", "sft_beam", "dpo_greedy", "dpo_beam"]].mean()
axes[1].bar(acc.index, acc.values)
axes[1].set(ylabel="exact-answer accuracy", title=f"greedy vs beam ({NUM_BEAMS})")
for seed, df in train_df.groupby("seed"):
    axes[2].plot(df.step, df.chosen_reward, color="C0", alpha=0.6, label="chosen" if seed == SEEDS[0] else None)
    axes[2].plot(df.step, df.rejected_reward, color="C3", alpha=0.6, label="rejected" if seed == SEEDS[0] else None)
axes[2].axhline(0, color="grey", lw=0.8)
axes[2].set(xlabel="DPO step", ylabel="implicit reward (training batch)", title="rewards during DPO")
axes[2].legend()
run.save_figure(fig, "r_to_q")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# See the README (verdicts of the largest fresh profile, what did not reproduce and why).
