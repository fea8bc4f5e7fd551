# %% [markdown]
# # D^3S (arXiv:2509.22115): down-sampling GRPO's rollouts by Var(A) and its tokens by |A| x H, against GRPO and random down-sampling
#
# Wang, Yang, Tian, Shi, Ma, Liu, Yao and Ding, *Learning More with Less: A Dynamic Dual-Level Down-Sampling Framework
# for Efficient Policy Optimization* (arXiv v1, 2025), catalog id 148.
#
# **Claims under test** (the abstract's; only the abstract and the opening of the introduction could be read):
# (1) keeping each group's rollouts that maximise the advantage variance gives larger policy-gradient norms (the
# paper's theorem) than random subsets of the same size; (2) keeping the tokens with the largest |A| x H focuses the
# update (measured: its gradient points closer to the full batch's than as many random tokens'); (3) GRPO with D^3S
# beats GRPO on all rollouts and tokens while updating on fewer, and beats random down-sampling at the same numbers.
#
# **Replicated here:** D^3S's sample level, token level and a dynamic schedule (method.py) on the engine's GRPO loss
# (`shared.align`), with the tiny LM `tiny-lm-small` SFT'd on the shared running-sums task (`shared.align.arith`) to a
# middling base. **Not replicated, and why:** Qwen2.5 / Llama3.1 on maths benchmarks with GRPO, DAPO and GSPO (a
# GPU cluster), the cross-group variant and the paper's own schedule and ratios (not readable here).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [1]  # one SFT base + its three GRPO arms per seed: the unit of the training claim (100-102: pilot, kept out)
MODEL = "tiny-lm-small"  # zoo model (the project's tiny LM)
K_TERMS = 5  # terms per problem (5 response tokens: 4 running sums and EOS)
N_TEST = 400  # held-out problems per seed (never prompted in RL)
SFT_STEPS = 70  # SFT steps of shared.align.arith.sft_base (sized by the pilot to a middling base)
SFT_BATCH = 32  # problems per SFT step
SFT_LR = 2e-3  # SFT learning rate (cosine, 10 warmup steps)
RL_STEPS = 15  # GRPO steps of every arm (one optimiser step per rollout batch)
PROMPTS_PER_STEP = 8  # prompts per rollout batch (every arm samples the same number)
GROUP_SIZE = 8  # rollouts per prompt
TEMPERATURE = 0.5  # sampling temperature of the rollouts (and of the loss's log-probabilities)
RL_LR = 5e-5  # AdamW, constant after 3 warmup steps, no weight decay, gradient clip 1
EPSILON = 0.2  # GRPO's clip range
ROLLOUT_START = 0.5  # D^3S schedule: share of each group's rollouts kept at the first step ...
ROLLOUT_END = 1.0  # ... and at the last (linear in between)
TOKEN_START = 0.5  # share of the kept rollouts' tokens kept at the first step ...
TOKEN_END = 1.0  # ... and at the last
GRAD_BATCHES = 8  # rollout batches of each SFT base for the gradient claims (the unit there)
GRAD_ROLLOUT_SHARE = 0.5  # rollouts kept per group in the gradient-norm comparison (4 of 8)
GRAD_TOKEN_SHARE = 0.5  # tokens kept in the token-direction comparison
GRAD_RANDOM_DRAWS = 2  # random subsets per batch (their mean is the control)
ARMS = ["grpo", "d3s", "random"]  # GRPO on all, D^3S, random down-sampling at D^3S's numbers
THREADS = 1  # torch threads (results are deterministic for a given count)

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from papers.d3s_2025 import method
from papers.d3s_2025.claims import CLAIMS
from shared.align import arith
from shared.align.batches import grpo_batch_loss
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm.trainer import TrainConfig
from shared.models import load
from shared.results import start_run

run = start_run("d3s_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
torch.set_num_threads(THREADS)
MODE = {"grpo": "all", "d3s": "d3s", "random": "random"}

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The max-Var(A) subset search equals brute force over all subsets; "all" down-sampling is the engine's GRPO loss
# unchanged; D^3S and random keep the same numbers of rollouts and tokens; the batched sampler at a tiny temperature
# is greedy decoding.

# %% tags=["nbval-check-output"]
import itertools  # noqa: E402

g = torch.Generator().manual_seed(12345)
for _ in range(50):
    vals = torch.randn(8, generator=g).round(decimals=1)
    best = max(np.var(vals[list(c)].numpy()) for c in itertools.combinations(range(8), 4))
    assert abs(method.subset_variance(vals[method.max_variance_subset(vals, 4)]) - best) < 1e-6
base, tok = load(MODEL)
v = arith.Vocab.from_tokenizer(tok)
reward = arith.reward_fn(v)
probe = arith.make_problems(8, K_TERMS, g)
pb = method.batched_rollout(base, [arith.prompt_ids(p, v) for p in probe], reward, GROUP_SIZE, K_TERMS, g, v.eos,
                            TEMPERATURE)  # fmt: skip
pb["rewards"][::3] = 1.0  # plant signal in every group of the probe
pb["advantages"] = method.group_advantages(pb["rewards"], GROUP_SIZE)
with torch.no_grad():
    engine = grpo_batch_loss(base, {k: x for k, x in pb.items() if k not in ("entropy", "group_size")})
    same = grpo_batch_loss(base, {k: x for k, x in method.downsample(pb, "all", 1.0, 1.0).items()
                                  if not k.startswith("kept")})  # fmt: skip
assert abs(engine.item() - same.item()) < 1e-6
sel_d3s = method.downsample(pb, "d3s", 0.5, 0.5)
sel_rnd = method.downsample(pb, "random", 0.5, 0.5, torch.Generator().manual_seed(0))
assert (sel_d3s["kept_rollouts"], sel_d3s["kept_tokens"]) == (sel_rnd["kept_rollouts"], sel_rnd["kept_tokens"])
cold = method.batched_rollout(base, [arith.prompt_ids(p, v) for p in probe], reward, 1, K_TERMS, g, v.eos, 1e-4)
greedy = arith.decode(base, probe, v)
assert all(cold["completion_ids"][i][cold["completion_mask"][i].bool()].tolist() == greedy[i] for i in range(8))
print("max-Var(A) subsets = brute force; 'all' = engine GRPO loss; D^3S and random keep equal numbers; "
      "cold sampling = greedy: ok")  # fmt: skip

# %% [markdown]
# ## Experiment
# Per seed: SFT from the pretrained tiny LM (the shared recipe, 70 steps: middling); a seeded split into held-out
# problems and an RL prompt pool; the gradient comparisons on `GRAD_BATCHES` fresh rollout batches of the base; then the
# three GRPO arms from the base, each with its own on-policy rollouts, the same number per step, and the same seed.

# %%


def cosine(a, b):
    return float(torch.dot(a, b) / (a.norm() * b.norm() + 1e-30))


def grad_vector(model, batch):
    """The flattened gradient of the engine's GRPO loss on a (down-sampled) batch."""
    model.zero_grad(set_to_none=True)
    grpo_batch_loss(model, {k: x for k, x in batch.items() if not k.startswith("kept")},
                    temperature=TEMPERATURE).backward()  # fmt: skip
    out = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    model.zero_grad(set_to_none=True)
    return out


def gradient_rows(model, prompts, seed):
    """Per batch: gradient norms of the max-Var(A) and random rollout subsets, and the cosines of the top-|A|H and
    random token subsets with the full gradient."""
    rows = []
    model.requires_grad_(True)
    for b in range(GRAD_BATCHES):
        gb = torch.Generator().manual_seed(20_000 + 100 * seed + b)
        idx = torch.randint(0, len(prompts), (PROMPTS_PER_STEP,), generator=gb).tolist()
        batch = method.batched_rollout(model, [prompts[i] for i in idx], reward, GROUP_SIZE, K_TERMS, gb, v.eos,
                                       TEMPERATURE)  # fmt: skip
        signal = float((batch["rewards"].view(-1, GROUP_SIZE).std(dim=1) > 0).float().mean())
        row = {"seed": seed, "batch": b, "signal": signal, "reward": batch["rewards"].mean().item()}
        if signal > 0:
            full = grad_vector(model, method.downsample(batch, "all", 1.0, 1.0))
            norm_rand, cos_rand = [], []
            for _ in range(GRAD_RANDOM_DRAWS):
                norm_rand.append(float(grad_vector(model, method.downsample(batch, "random", GRAD_ROLLOUT_SHARE, 1.0,
                                                                            gb)).norm()))  # fmt: skip
                tok_rand = method.downsample(batch, "random", 1.0, GRAD_TOKEN_SHARE, gb)
                cos_rand.append(cosine(grad_vector(model, tok_rand), full))
            tok_d3s = method.downsample(batch, "d3s", 1.0, GRAD_TOKEN_SHARE)
            row.update(norm_d3s=float(grad_vector(model, method.downsample(batch, "d3s", GRAD_ROLLOUT_SHARE,
                                                                           1.0)).norm()),
                       norm_random=float(np.mean(norm_rand)), cos_d3s=cosine(grad_vector(model, tok_d3s), full),
                       cos_random=float(np.mean(cos_rand)))  # fmt: skip
        rows.append(row)
    return rows


grad_rows, acc_rows, step_rows, t0 = [], [], [], time.perf_counter()
for seed in SEEDS:
    policy, _ = load(MODEL)
    arith.sft_base(policy, v, K_TERMS, steps=SFT_STEPS, batch=SFT_BATCH, lr=SFT_LR, seed=seed, threads=THREADS)
    test, pool = arith.split_problems(K_TERMS, N_TEST, torch.Generator().manual_seed(10_000 + seed))
    prompts = [arith.prompt_ids(p, v) for p in pool]
    base_acc = arith.accuracy_vector(policy, test, v)
    grad_rows += gradient_rows(policy, prompts, seed)
    for arm in ARMS:
        model = copy.deepcopy(policy).requires_grad_(True)
        cfg = TrainConfig(steps=RL_STEPS, lr=RL_LR, warmup=3, schedule="constant", weight_decay=0.0, seed=seed,
                          log_every=10**9, threads=THREADS)  # fmt: skip
        rows = method.d3s_train(model, prompts, reward, cfg, MODE[arm], GROUP_SIZE, PROMPTS_PER_STEP, K_TERMS, v.eos,
                                ROLLOUT_START, ROLLOUT_END, TOKEN_START, TOKEN_END, EPSILON, TEMPERATURE)  # fmt: skip
        step_rows += [{"seed": seed, "arm": arm, **r} for r in rows]
        acc = arith.accuracy_vector(model, test, v)
        acc_rows.append({"seed": seed, "arm": arm, "base": float(np.mean(base_acc)), "base_correct": int(sum(base_acc)),
                         "acc": float(np.mean(acc)),
                         "updated_tokens": sum(r["kept_tokens"] for r in rows),
                         "sampled_tokens": sum(r["tokens"] for r in rows),
                         "updated_rollouts": sum(r["kept_rollouts"] for r in rows)})  # fmt: skip
grads, accs, steps_df = pd.DataFrame(grad_rows), pd.DataFrame(acc_rows), pd.DataFrame(step_rows)
print(f"{len(SEEDS)} seeds in {time.perf_counter() - t0:.0f} s")  # timing: not a verdict
accs.groupby("arm")[["base", "acc", "updated_tokens", "sampled_tokens", "updated_rollouts"]].mean().loc[ARMS]

# %% [markdown]
# The gradient comparisons per batch (means over batches with signal), and the held-out accuracy per seed and arm.

# %%
ok = grads.dropna()
print(f"{len(ok)} of {len(grads)} gradient batches carry signal")
display(ok[["signal", "reward", "norm_d3s", "norm_random", "cos_d3s", "cos_random"]].mean().to_frame("mean").T)
wide = accs.pivot(index="seed", columns="arm", values="acc").loc[SEEDS, ARMS]
wide.insert(0, "base", accs.groupby("seed")["base"].first().loc[SEEDS])
wide

# %% [markdown]
# ## Paper vs ours
# Gradient claims: the unit is a rollout batch of an SFT base (batches of every seed pooled). Training claim: the unit
# is the seed (its SFT base and three GRPO arms), paired.

# %%
n_b, n_s = "batches", "seeds"
tokens = accs.pivot(index="seed", columns="arm", values="updated_tokens").loc[SEEDS]
checks = {
    "sft-middling": Measurement.proportion(int(accs.groupby("seed")["base_correct"].first().sum()),
                                           N_TEST * len(SEEDS), n_unit="held-out problems"),  # fmt: skip
    "enough-seeds-beats-grpo": Measurement.exact(len(SEEDS), unit="seeds"),
    "groups-with-signal": Measurement.mean(grads["signal"].tolist(), n_unit=n_b, bounds=(0.0, 1.0)),
    "grpo-learns": Measurement.paired_difference(wide["grpo"].tolist(), wide["base"].tolist(), n_unit=n_s),
    "d3s-fewer-tokens": Measurement.mean((tokens["d3s"] / tokens["grpo"]).tolist(), n_unit=n_s),
}
measurements = {
    "larger-gradient-norm": Measurement.ratio(ok["norm_d3s"].tolist(), ok["norm_random"].tolist(), n_unit=n_b),
    "token-selection-keeps-gradient": Measurement.paired_difference(ok["cos_d3s"].tolist(), ok["cos_random"].tolist(),
                                                                    n_unit=n_b),  # fmt: skip
    "beats-grpo-fewer-tokens": Measurement.paired_difference(wide["d3s"].tolist(), wide["grpo"].tolist(), n_unit=n_s),
}
controls = {
    "larger-gradient-norm": Measurement.paired_difference(ok["norm_d3s"].tolist(), ok["norm_random"].tolist(),
                                                          n_unit=n_b),  # fmt: skip
    "token-selection-keeps-gradient": measurements["token-selection-keeps-gradient"],
    "beats-grpo-fewer-tokens": Measurement.paired_difference(wide["d3s"].tolist(), wide["random"].tolist(),
                                                             n_unit=n_s),  # fmt: skip
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# Reported, not judged: every arm against the SFT base and against GRPO (paired per seed), its updated tokens and
# rollouts, and the accuracy gain per thousand updated tokens.

# %%
pd.DataFrame([{"arm": a, "accuracy": wide[a].mean(),
               "- base": str(Measurement.paired_difference(wide[a].tolist(), wide["base"].tolist())),
               "- GRPO": str(Measurement.paired_difference(wide[a].tolist(), wide["grpo"].tolist())),
               "updated tokens": tokens[a].mean(), "tokens / GRPO's": (tokens[a] / tokens["grpo"]).mean(),
               "gain per 1k tokens": ((wide[a] - wide["base"]) / tokens[a] * 1000).mean()}
              for a in ARMS]).set_index("arm")  # fmt: skip

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].scatter(ok["norm_random"], ok["norm_d3s"], alpha=0.7)
lim = [0, max(ok["norm_random"].max(), ok["norm_d3s"].max()) * 1.05]
axes[0].plot(lim, lim, color="grey", lw=0.8)
axes[0].set(xlabel="gradient norm, random 4-of-8 subsets (mean)", ylabel="gradient norm, max-Var(A) subset",
            title="sample level: one dot per rollout batch")  # fmt: skip
axes[1].scatter(ok["cos_random"], ok["cos_d3s"], alpha=0.7, color="C1")
axes[1].plot([0, 1], [0, 1], color="grey", lw=0.8)
axes[1].set(xlabel="cosine to the full gradient, random 50% tokens", ylabel="cosine, top-50% tokens by |A| x H",
            title="token level: one dot per rollout batch")  # fmt: skip
for s in SEEDS:
    axes[2].plot(range(len(ARMS) + 1), wide.loc[s, ["base", *ARMS]], color="grey", alpha=0.3, marker="o", ms=3)
axes[2].plot(range(len(ARMS) + 1), wide[["base", *ARMS]].mean(), color="black", marker="o", lw=2, label="mean")
axes[2].set_xticks(range(len(ARMS) + 1), ["base", *ARMS])
axes[2].set(ylabel="held-out greedy accuracy", title="after RL, per seed")
axes[2].legend()
run.save_figure(fig, "d3s")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# See the README (verdicts of the largest fresh profile, what did not reproduce and why).
