# %% [markdown]
# # Scan and Snap (arXiv 2305.16380): a 1-layer transformer's attention scans towards distinct tokens, then snaps
#
# Tian, Wang, Chen & Du, *Scan and Snap: Understanding Training Dynamics and Token Composition in 1-layer
# Transformer* (NeurIPS 2023, arXiv:2305.16380v4), catalog id 115. The paper proves, for one self-attention layer plus
# a decoder trained by SGD on next-token prediction without positional encoding, that (1) attention starts uniform
# and moves to the *distinct* key tokens of the next token and away from *common* tokens shared by all next tokens;
# (2) among distinct tokens it drops weight in the order of low to high co-occurrence P(l | n); (3) this does not end
# in winner-takes-all but decelerates in a phase transition (the *snap*) whose timing and resulting sparsity the two
# learning rates control (eta_Y for the decoder, eta_Z for the attention logits).
#
# **Replicated here (scaled-down):** the paper's data model (`shared.lm.tasks.KeyTokenModel`: 4 next tokens sharing
# one query token, 4 distinct tokens each with P(l | n) = 0.4, 0.3, 0.2, 0.1 of their mass, 8 common tokens with 80%
# of the mass, 32 context tokens), a 1-layer, 1-head family model without positional encoding, Z(0) = 0, frozen
# embeddings, plain SGD at constant learning rates with eta_Y/eta_Z in {4, 11.3} at a fixed eta_Z = 0.05; 100 seeds.
# Training 300 models is past the default run's budget, so their outputs (attention curves and end-of-training
# statistics) ship with the paper in `runlogs/default.json.gz`: the recorded run trained them, every later default run
# reads them and retrains two to check that they come from this code; the `full` profile retrains all 300.
# **Trivial control:** the same runs with the next token drawn independently of the context (shuffled labels).
# **Not replicated:** the proofs themselves, and the WikiText experiments (no WikiText offline; see the README).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
# training seeds, the units of every claim: 0-99 (100-129 were pilot seeds: keep them out)
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
         30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,
         58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85,
         86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99]  # fmt: skip
CLASSES = 4  # next tokens K (all share one query token)
DISTINCT_PROBS = [0.4, 0.3, 0.2, 0.1]  # relative P(l | n) of each class's distinct tokens
COMMON = 8  # common tokens, shared by every class
COMMON_MASS = 0.8  # share of the context drawn from the common tokens
LENGTH = 32  # context tokens before the query
HIDDEN = 32  # model width d (one head)
MLP_RATIO = 1  # width of the family's MLP, in multiples of d
ETA_Z = 0.05  # SGD learning rate of the attention logits (query and key projections)
RATIOS = [4, 11.314]  # eta_Y / eta_Z: the decoder's learning rate in multiples of ETA_Z (the two ends: the best slope per run)
REF_RATIO = 11.314  # the ratio of the scan claims (decoder faster, the paper's assumption (c)); eta_Y = 0.57 at 0.05
STEPS = 800  # SGD steps per model
BATCH = 32  # sequences per step
PROBE_SEQS = 64  # fixed probe sequences for the attention curve along training
EVERY = 20  # steps between attention probes
FINAL_PROBE_SEQS = 512  # other fixed probe sequences for the end-of-training statistics (order, snapped entropy)
SNAP_FRAC = 0.1  # the snap step: where the entropy comes within this fraction of its total drop from the final value
THREADS = 1  # torch threads of each training run
WORKERS = 2  # runs trained at once, one process each (the numbers are those of a serial run)
RUNLOGS = "runlogs/default.json.gz"  # the runs' stored outputs (`shared.lm.runlogs`), relative to the paper folder
TRAIN = "missing"  # "missing": train the runs not in RUNLOGS; "always": retrain every run; "never": only read them
VERIFY = 2  # runs retrained here and compared with their stored outputs when nothing else was trained

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from papers.scan_snap_2023 import method
from papers.scan_snap_2023.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.lm import family, runlogs
from shared.lm.tasks import KeyTokenModel
from shared.parallel import map_jobs
from shared.results import start_run

run = start_run("scan_snap_2023", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
task = KeyTokenModel(classes=CLASSES, distinct_probs=tuple(DISTINCT_PROBS), common=COMMON, common_mass=COMMON_MASS)
STORE = Path(RUNLOGS) if Path(RUNLOGS).is_absolute() else Path(method.__file__).parent / RUNLOGS
CODE = family.code_version() + runlogs.code_fingerprint(method.__file__)  # a change to either retrains the stored runs

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The attention statistics on hand-computable cases; the paper's starting point (Z(0) = 0: exactly uniform attention,
# every occurrence gain 1, the distinct share equal to the share of distinct tokens in the context); the learning-rate
# split (only the query and key projections run at eta_Z; the embeddings are frozen).

# %% tags=["nbval-check-output"]
import torch

ctx = torch.tensor([[5, 5, 7, 9]])
attn = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64)
mass = method.type_mass(attn, ctx, 10)
assert torch.allclose(mass[0, [5, 7, 9]], torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64))
gain = method.occurrence_gain(mass, method.type_counts(ctx, 10))
assert torch.allclose(gain[0, [5, 7, 9]], torch.tensor([0.6, 1.2, 1.6], dtype=torch.float64))
assert abs(float(method.type_entropy(torch.full((1, 4), 0.25, dtype=torch.float64))) - np.log(4)) < 1e-12
assert method.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0 and method.spearman([1, 2, 3], [5, 5, 5]) == 0.0
assert method.snap_step([0, 10, 20, 30], [2.0, 1.0, 0.95, 0.9]) == 10.0
assert abs(method.snap_step([0, 10, 20, 30], [2.0, 1.0, 0.95, 0.9], interpolate=True) - 9.9) < 1e-9
assert abs(method.slope(np.log([4, 8, 16]), np.log([400, 200, 100])) + 1) < 1e-12  # t ~ 1/eta_Y: slope -1
assert abs(method.late_share([0, 10, 20], [2.0, 1.0, 0.0]) - 0.5) < 1e-12

model = method.make_model(method.make_spec(task, HIDDEN, MLP_RATIO, LENGTH), seed=0)
method.paper_init(model)
probe = task.sample(64, LENGTH, torch.Generator().manual_seed(0))
a = method.query_attention(model, probe["input_ids"])
assert torch.allclose(a, torch.full_like(a, 1 / LENGTH)), "Z(0) = 0 must give uniform attention"
share = torch.tensor([float(torch.isin(probe["input_ids"][i, :-1], torch.tensor(task.distinct_ids(int(n)))).float().mean())
                      for i, n in enumerate(probe["classes"])])  # fmt: skip
p = method.Probe(task, probe["input_ids"], probe["classes"], every=1)
p(model, 0)
assert abs(p.rows[0]["distinct"] - float(share.mean())) < 1e-9 and abs(p.rows[0]["distinct"] + p.rows[0]["common"] - 1) < 1e-9
mult = method.lr_mult(ETA_Z * REF_RATIO, ETA_Z)
assert {k: round(v, 12) for k, v in mult.items()} == {k: round(1 / REF_RATIO, 12) for k in method.ATTENTION_PREFIXES}
assert not model.model.embed_tokens.weight.requires_grad
print("attention statistics, uniform start and learning-rate split as specified")

# %% [markdown]
# ## Experiment: SGD at several learning-rate ratios, and the shuffled-label control
# One model per seed and ratio eta_Y/eta_Z (eta_Z fixed), plus one shuffled-label model per seed at the reference
# ratio. Each probes its attention on 64 fixed sequences every 20 steps (the curve: scan, snap step, late share) and,
# at the end, on 512 other fixed sequences (the order by co-occurrence and the snapped entropy). The outputs come from
# the run-log store `RUNLOGS` (keyed by every setting, the engine's and this paper's code); runs missing from it are
# trained here, two at a time, and added to it.

# %%
keys, jobs = [], []  # per seed: every ratio, then the shuffled-label control at the reference ratio
for seed in SEEDS:
    for ratio, shuffled in [(r, False) for r in RATIOS] + [(REF_RATIO, True)]:
        keys.append((seed, ratio, shuffled))
        jobs.append(dict(task=task, eta_y=ETA_Z * ratio, eta_z=ETA_Z, steps=STEPS, batch=BATCH, length=LENGTH,
                         seed=seed, hidden=HIDDEN, mlp_ratio=MLP_RATIO, probe_seqs=PROBE_SEQS, every=EVERY,
                         final_probe_seqs=FINAL_PROBE_SEQS, threads=THREADS, shuffle_labels=shuffled))  # fmt: skip
outs, trained_here = runlogs.cached_map(method.run_summary, jobs, STORE, code=CODE, train=TRAIN, workers=WORKERS)
runs = dict(zip(keys, outs))
print(f"{len(jobs)} runs: {trained_here} trained here, {len(jobs) - trained_here} read from {RUNLOGS}")

# %% [markdown]
# Do the stored runs come from this code? When nothing was trained here, the first `VERIFY` runs are retrained and
# their attention curves compared with the stored ones: identical on the machine that trained them; another CPU may
# drift in the last digits, which SGD amplifies, so the check allows 0.05 nats (the size of the smallest effect the
# claims judge is 0.05 nats per doubling, over many seeds).

# %%
if trained_here == 0 and VERIFY:
    again = map_jobs(method.run_summary, jobs[:VERIFY], workers=min(WORKERS, VERIFY))
    drift = max(abs(a["entropy"] - b["entropy"]) for new, old in zip(again, outs) for a, b in zip(new["rows"], old["rows"]))
    print(f"{VERIFY} stored runs retrained: largest difference of the attention-entropy curve {drift:.2e} nats")
    assert all(len(new["rows"]) == len(old["rows"]) for new, old in zip(again, outs)), "a retrained run diverged differently"
    assert drift <= 0.05, f"the stored runs do not match this code (curves differ by {drift:.3g} nats): retrain, TRAIN='always'"

probs = np.array(DISTINCT_PROBS)
curves, finals = [], []
for (seed, ratio, shuffled), out in runs.items():
    rows = out["rows"]
    end = out["final"] or rows[-1]  # a diverged run has no final probe: its last finite probe (the precondition fails)
    steps, H = [r["step"] for r in rows], [r["entropy"] for r in rows]
    curves += [{"seed": seed, "ratio": ratio, "shuffled": shuffled, "step": r["step"], "entropy": r["entropy"],
                "distinct": r["distinct"]} for r in rows]  # fmt: skip
    # the seed's order: attention per occurrence at each co-occurrence level, averaged over the classes, then ranked
    rho = method.spearman(probs, np.nanmean(np.array(end["gain"], dtype=float), axis=0))
    finals.append({"seed": seed, "ratio": ratio, "shuffled": shuffled, "diverged": out["diverged"] is not None,
                   "accuracy": out["accuracy"],
                   "loss": out["final_loss"], "entropy0": H[0], "entropy": end["entropy"], "entropy_drop": H[0] - H[-1],
                   "distinct0": rows[0]["distinct"], "distinct": rows[-1]["distinct"], "order_rho": rho,
                   "snap_step": method.snap_step(steps, H, SNAP_FRAC, interpolate=True),
                   "late_share": method.late_share(steps, H)})  # fmt: skip
curves, finals = pd.DataFrame(curves), pd.DataFrame(finals)
mean_gain = {ratio: np.nanmean([(runs[s, ratio, False]["final"] or runs[s, ratio, False]["rows"][-1])["gain"]
                                 for s in SEEDS], axis=(0, 1)) for ratio in RATIOS}  # fmt: skip

# %%
finals.groupby(["shuffled", "ratio"])[["diverged", "accuracy", "loss", "entropy0", "entropy", "distinct", "order_rho",
                                       "snap_step", "late_share"]].mean()  # fmt: skip

# %%
pd.DataFrame(mean_gain, index=[f"P={p:g}" for p in DISTINCT_PROBS]).rename_axis("distinct token").round(2)

# %% [markdown]
# ## Paper vs ours

# %%
real = finals[~finals.shuffled].set_index(["seed", "ratio"])
ref = real.xs(REF_RATIO, level="ratio").loc[SEEDS]
ctrl = finals[finals.shuffled].set_index("seed").loc[SEEDS]
per_seed = {s: real.loc[s].loc[RATIOS] for s in SEEDS}
# per seed: the elasticity of the snap step in the ratio (t_0 ~ 1/eta_Y gives -1) and the snapped entropy's rise per
# doubling of the ratio (nats), least squares over the seed's ratios
time_slope = [method.slope(np.log(RATIOS), np.log(per_seed[s].snap_step.to_numpy())) for s in SEEDS]
entropy_slope = [method.slope(np.log2(RATIOS), per_seed[s].entropy.to_numpy()) for s in SEEDS]
seeds = {"n_unit": "seeds"}
measurements = {
    "scan-distinct": Measurement.paired_difference(ref.distinct, ref.distinct0, **seeds),
    "order-cooccurrence": Measurement.mean(ref.order_rho, bounds=(-1.0, 1.0), **seeds),
    "snap-freezes": Measurement.mean(ref.late_share, **seeds),
    "no-winner-takes-all": Measurement.mean(ref.entropy, bounds=(0.0, float("inf")), **seeds),
    "snap-time-lr": Measurement.mean(time_slope, **seeds),
    "snap-entropy-lr": Measurement.mean(entropy_slope, **seeds),
}
controls = {
    "scan-distinct": Measurement.paired_difference(ref.distinct - ref.distinct0, ctrl.distinct - ctrl.distinct0, **seeds),
    "order-cooccurrence": Measurement.paired_difference(ref.order_rho, ctrl.order_rho, **seeds),
}
by_ratio = real.groupby(level="ratio")
checks = {
    "no-run-diverged": Measurement.exact(int(finals.diverged.sum()), n=len(SEEDS), n_unit="seeds"),
    "attention-moved": Measurement.mean(ref.entropy_drop, **seeds),
    "attention-moved-every-ratio": Measurement.exact(by_ratio.entropy_drop.mean().min(), n=len(SEEDS), n_unit="seeds"),
    "froze-every-ratio": Measurement.exact(by_ratio.late_share.mean().max(), n=len(SEEDS), n_unit="seeds"),
}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
ax = axes[0]
for ratio, grp in curves[~curves.shuffled].groupby("ratio"):
    m = grp.groupby("step").entropy.mean()
    ax.plot(m.index, m.values, label=f"eta_Y/eta_Z = {ratio}")
m = curves[curves.shuffled].groupby("step").entropy.mean()
ax.plot(m.index, m.values, "k--", label=f"shuffled labels ({REF_RATIO})")
ax.set(xlabel="SGD step", ylabel="attention entropy over token types (nats)", title="Scan, then snap")
ax.legend(fontsize=7)
ax = axes[1]
for ratio, grp in curves[~curves.shuffled].groupby("ratio"):
    m = grp.groupby("step").distinct.mean()
    ax.plot(m.index, m.values, label=f"eta_Y/eta_Z = {ratio}")
m = curves[curves.shuffled].groupby("step").distinct.mean()
ax.plot(m.index, m.values, "k--", label="shuffled labels")
ax.set(xlabel="SGD step", ylabel="attention share on the class's distinct tokens", title="Distinct vs common tokens")
ax.legend(fontsize=7)
ax = axes[2]
for ratio in RATIOS:
    ax.plot(DISTINCT_PROBS, mean_gain[ratio], "o-", label=f"eta_Y/eta_Z = {ratio}")
ax.set(xlabel="P(l | n) of the distinct token (relative)", ylabel="final attention per occurrence / uniform",
       title="Order by co-occurrence")  # fmt: skip
ax.legend(fontsize=7)
fig.tight_layout()
run.save_figure(fig, "scan_snap")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Design (issue 14 redesign, pre-registered before the recorded runs):* the unit is a training seed. Per seed, one
# model at each end of the ratio range (eta_Y/eta_Z = 4 and 11.3; the two ends give the most precise per-seed slope
# per model trained) and one shuffled-label control at the reference ratio 11.3, for 100 seeds (session 9; until then
# the default trained 10 seeds and `full` 50 seeds at four ratios, see `claims.py`). The default reads the 300 runs
# from the shipped run-log store, the `full` profile retrains them. The learning-rate claims are per-seed least-squares
# slopes (log snap step against log ratio; snapped entropy against log2 ratio), averaged over seeds with a BCa
# bootstrap over seeds, instead of a Spearman rho over three ratios. The order statistic ranks the seed's attention per
# occurrence at the four co-occurrence levels, averaged over the four classes, on 512 end-of-training probe sequences.
#
# The numbers of the recorded runs are in the README (Results in brief).
