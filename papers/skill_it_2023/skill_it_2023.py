# %% [markdown]
# # Skill-It (arXiv:2307.14430): ordered skills and an online skill-mixture sampler, on digit-position addition
#
# Chen, Roberts, Bhatia, Wang, Zhang, Sala & Ré, *Skill-it! A Data-Driven Skills Framework for Understanding and
# Training Language Models* (NeurIPS 2023), catalog id 168.
#
# **The method.** Training data comes in *skills* (data subsets). A *skills graph* `A` says which skill helps which
# (`A[i, j] > 0`: training on `i` lowers the loss on `j`). Skill-It trains in rounds; at the start of each round it
# samples the skills in proportions `p ∝ exp(eta * A @ (sum of the last `window` validation losses per skill))`, so
# skills that are still bad, and their prerequisites, get more data.
#
# **Claims under test** (abstract of v1; the update rule and the addition setup as in the authors' code):
# 1. ordered skills exist: training on a prerequisite with a dependent skill beats the dependent skill alone at the same
#    steps (`prerequisite-helps`);
# 2. Skill-It's online mixture reaches a lower loss over all skills than random sampling from the raw pool
#    (`skillit-beats-random`), 3. than skill-stratified sampling (`skillit-beats-stratified`), 4. than a skill
#    curriculum (`skillit-beats-curriculum`); each must also beat Skill-It run with a shuffled graph (the trivial
#    control: a loss-driven mixture that does not know the order).
#
# **Replicated here, scaled down:** the paper's addition synthetic (skills = digit positions of a sum) in base 4 with
# 2-digit operands (3 skills: units digit, tens digit, carry out), a 2-layer tiny Llama (the shared `shared.lm` model and
# trainer) trained from scratch at the same token budget in every arm, the graph learned in the notebook by the
# paper's brute-force rule on separate graph seeds. **Not replicated:** LEGO (its chains did not train in a CPU budget:
# see the README), Natural Instructions fine-tuning, RedPajama with a 3B model, accuracy numbers.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [10, 11, 12, 13, 14]  # claim units: model init and batches of every arm (sizing pilots used 0-3, 90-91)
GRAPH_SEEDS = [100]  # the skills graph is learned on these seeds only (never the claim seeds)
BASE = 4  # digits of the addition
N_DIGITS = 2  # digits per operand: skills = N_DIGITS sum digits + the carry out
POOL = [13, 14, 18]  # the raw pool's skill proportions (the authors' addition random baseline)
STEPS = 160  # training steps of every arm (the token budget: STEPS * BATCH prompts)
PAIR_STEPS = 100  # steps of the graph-learning and prerequisite runs
BATCH = 64  # prompts per step
LR = 0.003  # peak learning rate (warmup + cosine)
DIM = 64  # model width
LAYERS = 2  # transformer layers
HEADS = 2  # attention heads
ETA = 0.1  # Skill-It's learning rate (the authors' addition value)
WINDOW = 3  # Skill-It's window: the last WINDOW evaluations are summed
ROUNDS = 5  # Skill-It's mixture updates (the authors' 6000 steps / 1200)
EDGE_MIN = 0.05  # nats: an edge i -> j needs this gain on j (claims.EDGE_MIN)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.skill_it_2023 import claims as C
from papers.skill_it_2023 import method
from papers.skill_it_2023.claims import CLAIMS, ENOUGH_SEEDS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.dataselect.plots import claim_intervals
from shared.results import start_run

run = start_run("skill_it_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
assert EDGE_MIN == C.EDGE_MIN and abs(C.LN_BASE - np.log(BASE)) < 1e-12
task = method.Addition(BASE, N_DIGITS)
val = [task.validation(i) for i in range(task.skills)]
kw = {"batch": BATCH, "lr": LR, "dim": DIM, "layers": LAYERS, "heads": HEADS, "val": val}
SKILLS = [f"digit {i}" for i in range(N_DIGITS)] + ["carry out"]
print(f"{task.skills} skills ({', '.join(SKILLS)}); vocab {task.vocab}; {len(val[0]['input_ids'])} validation "
      f"prompts per skill; {STEPS * BATCH:,} training prompts per arm")  # fmt: skip

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The prompts' answers are the digits of the true sum; the vectorised Skill-It mixture equals the loop-by-loop
# reference; the shuffled graph keeps the diagonal and the number of edges; the curriculum visits every skill in order
# in equal blocks.

# %% tags=["nbval-check-output"]
b = val[1]
ops = b["input_ids"][:, : 2 * N_DIGITS + 1]
a_int = sum(ops[:, N_DIGITS - 1 - i] * BASE**i for i in range(N_DIGITS))
b_int = sum(ops[:, 2 * N_DIGITS - i] * BASE**i for i in range(N_DIGITS))
assert ((a_int + b_int) // BASE % BASE == b["targets"][:, -1]).all()
assert ((a_int + b_int) // BASE**N_DIGITS == val[-1]["targets"][:, -1]).all()
rng = np.random.default_rng(0)
g_test = method.graph_from_edges(rng.random((3, 3)) > 0.5)
hist = [rng.random(3) for _ in range(5)]
assert np.allclose(method.skillit_weights(g_test, hist, 0.7, 3), method.skillit_weights_reference(g_test, hist, 0.7, 3))
sg = method.shuffled_graph(g_test, 0)
assert np.allclose(np.diag(sg), 1) and (sg > 0).sum() == (g_test > 0).sum()
assert [method.curriculum_skill(s, 9, [2, 0, 1]) for s in range(9)] == [2, 2, 2, 0, 0, 0, 1, 1, 1]
print("answers = digits of the sum; Skill-It mixture = reference; shuffled graph keeps diagonal and edge count; "
      "curriculum blocks in order: ok")  # fmt: skip

# %% [markdown]
# ## The skills graph (graph seeds only)
# For every ordered pair `(i, j)`: a model trained `PAIR_STEPS` steps on the half-and-half mixture of `i` and `j`
# against one trained the same steps on `j` alone, scored on `j`. The gain (alone minus mixture) averaged over the graph
# seeds; an edge where it is at least `EDGE_MIN` nats.

# %%
t0 = time.perf_counter()
gain, _ = method.learn_graph(task, GRAPH_SEEDS, PAIR_STEPS, **kw)
edges = gain >= EDGE_MIN
graph = method.graph_from_edges(edges)
order = method.prerequisite_order(edges)
off = ~np.eye(task.skills, dtype=bool)
i_star, j_star = np.unravel_index(np.where(off, gain, -np.inf).argmax(), gain.shape)
other = next(k for k in range(task.skills) if k not in (i_star, j_star))
print(f"graph learned in {time.perf_counter() - t0:.0f} s; strongest pair {SKILLS[i_star]} -> {SKILLS[j_star]} "
      f"(gain {gain[i_star, j_star]:.3f} nats); curriculum order {[SKILLS[k] for k in order]}")  # fmt: skip
print("gain[i, j] (nats; row: trained with, column: scored on):")
print(pd.DataFrame(gain, index=SKILLS, columns=SKILLS).round(3).to_string())
print("Skill-It's graph:\n" + pd.DataFrame(graph, index=SKILLS, columns=SKILLS).to_string())

# %% [markdown]
# ## Experiment
# Per claim seed: the prerequisite runs (`j*` alone, with `i*`, with the third skill) and the five arms (Skill-It,
# Skill-It with a shuffled graph, random from the pool, stratified, curriculum), every arm `STEPS` steps of `BATCH`
# prompts from the same initial weights.

# %%
rows, pair_rows, mix_rows, curves = [], [], [], []
t0 = time.perf_counter()
for seed in SEEDS:
    pair_rows.append({"seed": seed,
                      "alone": method.pair_run(task, j_star, None, seed, PAIR_STEPS, **kw),
                      "prerequisite": method.pair_run(task, j_star, i_star, seed, PAIR_STEPS, **kw),
                      "other": method.pair_run(task, j_star, other, seed, PAIR_STEPS, **kw)})  # fmt: skip
    arms = {
        "Skill-It": dict(arm="skillit", graph=graph),
        "Skill-It (shuffled graph)": dict(arm="skillit", graph=method.shuffled_graph(graph, seed)),
        "random (pool)": dict(arm="mixture", p=POOL),
        "stratified": dict(arm="mixture", p=np.ones(task.skills)),
        "curriculum": dict(arm="curriculum", order=order),
    }
    for name, a in arms.items():
        out = method.train_arm(task, seed=seed, steps=STEPS, eta=ETA, window=WINDOW, rounds=ROUNDS, **kw, **a)
        rows.append({"seed": seed, "arm": name, "mean": float(out["final"].mean()),
                     "area": method.curve_area(out["curve"]),
                     **{s: float(v) for s, v in zip(SKILLS, out["final"])}})  # fmt: skip
        curves += [{"seed": seed, "arm": name, "step": st, "mean": float(ls.mean())} for st, ls in out["curve"]]
        if a["arm"] == "skillit":
            mix_rows += [{"seed": seed, "arm": name, "round": r, **dict(zip(SKILLS, p))}
                         for r, p in enumerate(out["mixtures"])]  # fmt: skip
res, pairs = pd.DataFrame(rows), pd.DataFrame(pair_rows)
mixes, curves = pd.DataFrame(mix_rows), pd.DataFrame(curves)
print(f"{len(SEEDS)} seeds x ({res.arm.nunique()} arms + 3 prerequisite runs) in {time.perf_counter() - t0:.0f} s")
res.groupby("arm")[["area", "mean", *SKILLS]].mean().sort_values("area")

# %% [markdown]
# ## Paper vs ours
# Units: claim seeds, independent; arms paired within a seed. The Skill-It claims compare the area under the loss
# curve per step (`method.curve_area`: how fast all skills are learned), the prerequisite claim the final loss on the
# dependent skill. Ratios: geometric mean of per-seed ratios, bootstrap over seeds on the log scale. Preconditions: the
# graph seeds found an edge (else there is no order to exploit), the stratified arm learns the skills beyond a uniform
# guess, and the Skill-It claims get at least 20 seeds (`enough-seeds-skillit`; the default's 5 cannot decide them).
# Controls: the prerequisite claim must beat the mixture with the non-prerequisite skill; the Skill-It claims must beat
# Skill-It with a shuffled graph.

# %%
wide = res.pivot(index="seed", columns="arm", values="mean")
area = res.pivot(index="seed", columns="arm", values="area")
su = "seeds"
sk = area["Skill-It"]
measurements = {
    "prerequisite-helps": Measurement.ratio(pairs["prerequisite"], pairs["alone"], n_unit=su),
    "skillit-beats-random": Measurement.ratio(sk, area["random (pool)"], n_unit=su),
    "skillit-beats-stratified": Measurement.ratio(sk, area["stratified"], n_unit=su),
    "skillit-beats-curriculum": Measurement.ratio(sk, area["curriculum"], n_unit=su),
}
shuffled_margin = Measurement.paired_difference(area["Skill-It (shuffled graph)"], sk, n_unit=su)
controls = {"prerequisite-helps": Measurement.paired_difference(pairs["other"], pairs["prerequisite"], n_unit=su),
            "skillit-beats-random": shuffled_margin, "skillit-beats-stratified": shuffled_margin,
            "skillit-beats-curriculum": shuffled_margin}  # fmt: skip
checks = {"graph-has-edge": Measurement.exact(float(gain[i_star, j_star]), n_unit="graph seeds"),
          "skills-learned": Measurement.mean(wide["stratified"], n_unit=su),
          ENOUGH_SEEDS.id: Measurement.exact(area.index.nunique(), n_unit=su)}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
print("preconditions: " + "; ".join(f"{k} {v}" for k, v in checks.items()))
print("controls: " + "; ".join(f"{k} {v}" for k, v in controls.items()))
verdict_table(claim_results)

# %% [markdown]
# Per-skill losses (mean over seeds) of every arm, the prerequisite runs per seed, and Skill-It's mixtures per round
# (mean over seeds):

# %%
print(res.groupby("arm")[SKILLS].mean().round(4).to_string())
print(f"\nloss on {SKILLS[j_star]} after {PAIR_STEPS} steps:\n" + pairs.set_index("seed").round(4).to_string())
print("\nSkill-It mixtures per round:\n" + mixes.groupby(["arm", "round"])[SKILLS].mean().round(3).to_string())

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
ax = axes[0]
for name, g in curves.groupby("arm"):
    m = g.groupby("step")["mean"].mean()
    ax.plot(m.index, m.values, marker="o", ms=3, label=name)
ax.axhline(np.log(BASE), ls=":", c="gray", lw=1, label="uniform guess (ln 4)")
ax.set(
    xlabel="step", ylabel="loss averaged over skills (nats)", title="Validation loss during training (mean of seeds)"
)
ax.legend(fontsize=7)
ax = axes[1]
order_arms = res.groupby("arm")["mean"].mean().sort_values().index
per = res.groupby("arm")[SKILLS].mean().reindex(order_arms)
w = 0.8 / len(SKILLS)
for k, s in enumerate(SKILLS):
    ax.bar(np.arange(len(order_arms)) + (k - 1) * w, per[s], w, label=s)
ax.set(xticks=np.arange(len(order_arms)), ylabel="final loss (nats)", title="Final loss per skill and arm")
ax.set_xticklabels(order_arms, rotation=25, ha="right", fontsize=8)
ax.legend(fontsize=8)
claim_intervals(axes[2], measurements, bar=0.98, ylabel="ratio (geometric mean, 95% CI)",
                title="Claims: ratios of final loss (prerequisite) and of area", rotation=25)  # fmt: skip
fig.tight_layout()
run.save_figure(fig, "skill_it")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Written after the recorded runs (see the README for the verdicts of both profiles).
