# %% [markdown]
# # Trained linear self-attention learns one step of preconditioned gradient descent in context (arXiv:2306.09927)
#
# Zhang, Frei & Bartlett, *Trained Transformers Learn Linear Models In-Context* (JMLR 2024), catalog id 122.
#
# **Claims under test.** A single linear self-attention (LSA) layer trained by gradient flow on random linear-regression
# prompts (Sec. 4.1, Thm. 4.1)
# 1. converges, from the paper's initialisation, to the global minimum $u W_{11} = \Gamma^{-1}$ with
#    $\Gamma = (1 + \tfrac1N)\Lambda + \tfrac{\operatorname{tr}\Lambda}{N} I$, every other parameter block staying at zero;
# 2. has the closed-form prediction error of that minimum, which falls like $1/N$ as prompts grow; evaluated on prompts of
#    another length $M$ it follows the same formula with $\Gamma_M$;
# 3. tolerates task shifts and query shifts (Sec. 4.2): under a shifted task or query distribution its error still
#    vanishes as the prompt grows, as in distribution;
# 4. is brittle under covariate shift (Sec. 4.2): scaling the covariates at test time blows the error up, at every prompt
#    length and more the longer the prompt, while ordinary least squares on the same prompts is unaffected.
#
# **Replicated here:** all four, with gradient descent on fresh Monte-Carlo batches standing in for gradient flow on the
# population loss (scaled-down: $d = 5$, $N \le 40$ by default; the `full` profile uses $d = 10$, $N \le 100$, 5 seeds).
# **Not replicated:** the comparison with large nonlinear transformers (Sec. 4.3), which needs GPT-2-sized training runs,
# and the random-covariance setting of Thm. 4.5.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
D = 5  # covariate dimension d
PROMPT_LENGTHS = [5, 10, 20, 40]  # training prompt lengths N, one model per N and seed
SEEDS = [0, 1, 2, 3, 4]  # independent training runs (initialisation and data): the units of every claim
STEPS = 1200  # gradient steps per model (constant step, then linear decay to 0)
LR = 0.05  # step size
BATCH = 256  # fresh prompts per step
INIT_SCALE = 0.1  # sigma of the paper's initialisation
N_TEST = 20000  # test prompts per evaluation
SHIFT_N = 20  # training length of the model used for the length sweep and the shift experiments
TEST_LENGTHS = [5, 10, 20, 40, 80, 160]  # test prompt lengths M for the length sweep
COV_SCALES = [0.25, 0.5, 1.0, 2.0, 4.0]  # test-time covariate variance c (training: 1)
TASK_SCALES = [0.5, 3.0]  # test-time task scale (training: 1)
QUERY_SCALES = [0.5, 3.0]  # test-time query scale (training: 1)
TASK_MEAN = 1.0  # task shift judged against N: w gets mean TASK_MEAN in every coordinate (training: 0) ...
TASK_ANISO = 9.0  # ... and per-coordinate standard deviations from TASK_ANISO^-1/2 to TASK_ANISO^1/2 (training: 1)
QUERY_MEAN = 1.0  # query shift judged against N: the query gets mean QUERY_MEAN in every coordinate ...
QUERY_ANISO = 9.0  # ... and per-coordinate standard deviations from QUERY_ANISO^-1/2 to QUERY_ANISO^1/2

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from papers.icl_lsa_2023.claims import CLAIMS
from papers.icl_lsa_2023.method import (
    PromptDistribution,
    global_minimum,
    ols_predict,
    predicted_error,
    shifted_error,
    train,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run

run = start_run("icl_lsa_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
COV_SHIFT = max(COV_SCALES)  # the covariate shift the brittleness claim is judged at
# the shifts judged against the prompt length N, each applied at test time to the model trained at N, on prompts of N
N_SHIFTS = {
    "in-distribution": {},
    "task": {"task_mean": TASK_MEAN, "task_aniso": TASK_ANISO},
    "query": {"query_mean": QUERY_MEAN, "query_aniso": QUERY_ANISO},
    "covariate": {"cov_scale": COV_SHIFT},
}

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Before training: the Monte-Carlo estimate of the test error agrees with the closed form for the exact minimiser; the
# model's forward pass equals the formula $\hat y = h^\top (u W_{11}) x_q$ when the other blocks are zero; least squares
# recovers noiseless labels exactly.

# %% tags=["nbval-check-output"]
g = torch.Generator().manual_seed(1234)
dist = PromptDistribution(D, SHIFT_N)
E, yq, xs, ys, xq = dist.sample(N_TEST, g)
A_star = global_minimum(D, SHIFT_N)
h = (ys.unsqueeze(-1) * xs).mean(1)  # [B, d]
mc = ((h @ A_star * xq).sum(-1) - yq).pow(2).mean().item()
closed = predicted_error(A_star, SHIFT_N)
assert abs(mc / closed - 1) < 0.05, f"Monte-Carlo {mc:.4f} vs closed form {closed:.4f}"

model, _ = train(D, SHIFT_N, steps=1, lr=0.0, batch=4, sigma=INIT_SCALE, seed=0)
with torch.no_grad():
    formula = (h[:8] @ model.effective_matrix() * xq[:8]).sum(-1)
    torch.testing.assert_close(model(E[:8]), formula)
assert (ols_predict(xs[:256], ys[:256], xq[:256]) - yq[:256]).abs().max() < 1e-8
print(
    "Monte-Carlo error of the exact minimiser agrees with the closed form within 5%; forward pass = formula; least "
    "squares exact"
)

# %%
print(f"closed-form error at N={SHIFT_N}: {closed:.4f}, Monte-Carlo {mc:.4f}")

# %% [markdown]
# ## Experiment
# One model per training length $N$ and seed. Each is evaluated on fresh prompts of its own length $M = N$: in
# distribution, under a mean-shifted non-isotropic task, under a mean-shifted non-isotropic query, and under the covariate
# shift $c$ = `COV_SHIFT` (the shifts judged against $N$). The model of $N$ = `SHIFT_N` is also evaluated at other test
# lengths and under a sweep of task, query and covariate scales, beside least squares and ridge. *Normalised* error
# divides by $\mathbb E[y^2]$ of the test distribution, so a shift that merely rescales the labels does not count as a
# change.

# %%
rows, curves, shift_rows, n_rows = [], [], [], []
models = {}
for seed in SEEDS:
    for n in PROMPT_LENGTHS:
        model, hist = train(D, n, STEPS, LR, BATCH, INIT_SCALE, seed, log_every=max(1, STEPS // 40))
        models[seed, n] = model
        curves += [{"seed": seed, "N": n, **r} for r in hist]
        A = model.effective_matrix()
        target = global_minimum(D, n)
        g = torch.Generator().manual_seed(10_000 + seed)
        for m in sorted({n, *(TEST_LENGTHS if n == SHIFT_N else [])}):
            E, yq, *_ = PromptDistribution(D, m).sample(N_TEST, g)
            with torch.no_grad():
                err = (model(E) - yq).pow(2).mean().item()
            rows.append({"seed": seed, "N": n, "M": m, "test_error": err, "closed_form": predicted_error(target, m),
                         "rel_dist": float((A - target).norm() / target.norm()),
                         "off_blocks": model.off_block_norm()})  # fmt: skip
        for kind, kw in N_SHIFTS.items():
            dist = PromptDistribution(D, n, **kw)
            E, yq, *_ = dist.sample(N_TEST, g)
            with torch.no_grad():
                err = (model(E) - yq).pow(2).mean().item()
            theory, y2 = shifted_error(target, dist)
            n_rows.append({"seed": seed, "N": n, "shift": kind, "lsa": err / yq.pow(2).mean().item(),
                           "lsa_theory": theory / y2})  # fmt: skip
    # shifts, on the N = SHIFT_N model of this seed
    model = models[seed, SHIFT_N]
    shifts = [("covariate", c, {"cov_scale": c}) for c in COV_SCALES]
    shifts += [("task", s, {"task_scale": s}) for s in TASK_SCALES] + [
        ("query", s, {"query_scale": s}) for s in QUERY_SCALES
    ]
    shifts += [
        ("task, mean-shifted", TASK_ANISO, N_SHIFTS["task"]),
        ("query, mean-shifted", QUERY_ANISO, N_SHIFTS["query"]),
    ]
    for kind, level, kw in shifts:
        dist = PromptDistribution(D, SHIFT_N, **kw)
        E, yq, xs, ys, xq = dist.sample(N_TEST, g)
        with torch.no_grad():
            lsa = (model(E) - yq).pow(2).mean().item()
        ols = (ols_predict(xs, ys, xq) - yq).pow(2).mean().item()
        ridge = (ols_predict(xs, ys, xq, ridge=1.0) - yq).pow(2).mean().item()
        scale = yq.pow(2).mean().item()
        theory, y2 = shifted_error(global_minimum(D, SHIFT_N), dist)
        shift_rows.append({"seed": seed, "shift": kind, "level": level, "lsa": lsa / scale, "ols": ols / scale,
                           "ridge": ridge / scale,
                           "lsa_theory": theory / y2})  # fmt: skip

errors = pd.DataFrame(rows)
shifted = pd.DataFrame(shift_rows)
by_n = pd.DataFrame(n_rows)
training = pd.DataFrame(curves)
errors.groupby(["N", "M"])[["test_error", "closed_form", "rel_dist", "off_blocks"]].mean().round(4)

# %% [markdown]
# ## Paper vs ours

# %%
in_dist = errors[errors.N == errors.M]
worst = in_dist.groupby("seed")[["rel_dist", "off_blocks"]].max()
dev = errors.assign(dev=(errors.test_error / errors.closed_form - 1).abs()).groupby("seed").dev.max()
per_n = by_n.pivot_table(index="seed", columns=["shift", "N"], values="lsa")  # normalised error, seed x (shift, N)
n_lo, n_hi = min(PROMPT_LENGTHS), max(PROMPT_LENGTHS)
decay = {kind: per_n[kind, n_hi] / per_n[kind, n_lo] for kind in N_SHIFTS}  # error at N_max / at N_min, per seed
task_query = pd.concat([decay["task"], decay["query"]], axis=1).max(axis=1)
log_cov = np.log(per_n["covariate"] / per_n["in-distribution"])  # seed x N


def weakest_ratio(units):
    """Smallest over N of the geometric mean over seeds of the covariate-shift error ratio."""
    return float(np.exp(np.mean(units, axis=0)).min())


per_seed = {"n_unit": "seeds", "bounds": (0.0, float("inf"))}
measurements = {
    "global-min": Measurement.mean(worst.rel_dist, **per_seed),
    "other-blocks-zero": Measurement.mean(worst.off_blocks, **per_seed),
    "error-closed-form": Measurement.mean(dev, **per_seed),
    "task-query-robust": Measurement.mean(task_query, **per_seed),
    "covariate-brittle": Measurement.bootstrap(list(log_cov.to_numpy()), weakest_ratio, **per_seed),
}
checks = {"learns-in-distribution": Measurement.mean(decay["in-distribution"], **per_seed)}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# Normalised test error against the prompt length (model trained and tested at $N$; mean over seeds), with the closed
# form at the paper's minimum: in distribution and under the task and query shifts it vanishes like $1/N$, under the
# covariate shift it does not.

# %%
by_n.pivot_table(index="N", columns="shift", values=["lsa", "lsa_theory"]).round(4)

# %% [markdown]
# Normalised test error under shifts at $N$ = `SHIFT_N` (mean over seeds): least squares is exact on these noiseless
# prompts whatever the shift, the trained LSA is not. `lsa_theory` is the closed form at the paper's minimum.

# %%
shifted.groupby(["shift", "level"])[["lsa", "lsa_theory", "ols", "ridge"]].mean().round(3)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
ax = axes[0]
for n, grp in training.groupby("N"):
    mean = grp.groupby("step").rel_dist.mean()
    ax.plot(mean.index, mean.values, label=f"N={n}")
ax.set(yscale="log", xlabel="gradient step", ylabel=r"$\|uW_{11}-\Gamma^{-1}\| / \|\Gamma^{-1}\|$",
       title="Convergence to the predicted global minimum")  # fmt: skip
ax.legend()

ax = axes[1]
sweep = errors[errors.N == SHIFT_N].groupby("M")[["test_error", "closed_form"]].agg(["mean", "std"])
ax.errorbar(
    sweep.index,
    sweep["test_error", "mean"],
    yerr=sweep["test_error", "std"],
    fmt="o",
    label=f"trained LSA (N={SHIFT_N})",
)
ax.plot(sweep.index, sweep["closed_form", "mean"], "-", label=r"closed form, $A=\Gamma_N^{-1}$")
diag = in_dist.groupby("N")[["test_error", "closed_form"]].mean()
ax.plot(diag.index, diag.test_error, "s", label="trained at N, tested at M=N")
ax.plot(diag.index, diag.closed_form, "--", label=r"closed form $d(d+1)/(N+d+1)$")
ax.set(xscale="log", yscale="log", xlabel="test prompt length M", ylabel="test MSE", title="Error vs prompt length")
ax.legend(fontsize=8)

ax = axes[2]
cov = shifted[shifted["shift"] == "covariate"].groupby("level")[["lsa", "lsa_theory", "ols", "ridge"]].mean()
ax.plot(cov.index, cov.lsa, "o-", label="trained LSA")
ax.plot(cov.index, cov.lsa_theory, "k:", label="LSA closed form")
ax.plot(cov.index, cov.ridge, "s-", label="ridge (lambda=1)")
ax.set(xscale="log", yscale="log", xlabel="test covariate variance c (train: 1)", ylabel="normalised MSE",
       title="Covariate shift (least squares: exact, error 0)")  # fmt: skip
ax.set_xticks(COV_SCALES, [f"{c:g}" for c in COV_SCALES])
ax.minorticks_off()
ax.legend(fontsize=8)

ax = axes[3]
vs_n = by_n.groupby(["shift", "N"])[["lsa", "lsa_theory"]].mean()
for kind in N_SHIFTS:
    line = ax.plot(vs_n.loc[kind].index, vs_n.loc[kind].lsa, "o", label=kind)[0]
    ax.plot(vs_n.loc[kind].index, vs_n.loc[kind].lsa_theory, ":", color=line.get_color())
ax.set(xscale="log", yscale="log", xlabel="prompt length N (train = test)", ylabel="normalised MSE",
       title="Error vs N under shifts (dotted: closed form)")  # fmt: skip
ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "lsa_icl")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* ($d=5$, $N \in \{5, 10, 20, 40\}$, 5 seeds as the units, 1,200 steps): 5/5 reproduced, every interval
# far from its bar. Gradient descent with a decaying step on fresh batches lands within 2-3% of $\Gamma^{-1}$ (worst
# prompt length, mean over seeds 0.023, 95% bootstrap interval over seeds [0.020, 0.025]), and the off-diagonal blocks,
# trained freely, stay near zero (0.017 [0.016, 0.019]) as the proof says they do under gradient flow; the residual is
# Monte-Carlo noise of the last steps. The closed form predicts the test error at every training and test length within
# 4% (0.038 [0.030, 0.048]), including the saturation at large $M$ (a model trained at $N$ keeps its $\Gamma_N^{-1}$
# preconditioner, so its error does not vanish as $M \to \infty$).
#
# The shifts are judged against the prompt length, because that is what separates the paper's two statements. Under a
# mean-shifted, non-isotropic task or query (mean 1 per coordinate, standard deviations spread 9-fold) the error still
# vanishes like $1/N$: from $N = 5$ to $40$ it falls to 0.247 [0.242, 0.253] of its value, the closed form's 0.239
# (11/46), against a bar of 0.5. Under the covariate shift $c = 4$ it does not (it grows from 4.6 to 7.9, normalised), so
# its ratio to the in-distribution error grows with $N$; the smallest ratio over the four training lengths, at $N = 5$,
# is 8.3 [8.2, 8.4] (closed form 8.5; 61 at $N = 40$), against a bar of 5. Both rules can fail: the covariate shift fed
# to the task/query rule gives 1.7 (not reproduced), no shift fed to the covariate rule gives 1 (see `test_method.py`).
#
# "Competitive with the best linear predictor" holds only asymptotically: on noiseless prompts with $N > d$, least
# squares is exact, while the LSA error is $d(d+1)/(N+d+1)$, which vanishes like $1/N$. The covariate-shift result is
# the paper's: the trained preconditioner is tied to the training covariance, so the error grows roughly as $(c-1)^2$
# in the variance ratio $c$, in both directions, while least squares stays exact.
