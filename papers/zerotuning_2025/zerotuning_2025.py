# %% [markdown]
# # ZeroTuning (arXiv:2505.11739): scaling the attention on the initial token, in chosen heads, improves accuracy without training
#
# Han, Yu, Tang, Zeng, Guo & Ungar, *ZeroTuning: Unlocking the Initial Token's Power to Enhance Large Language Models
# Without Training* (2025), catalog id 98.
#
# **The method.** In chosen heads, the attention every query gives to the initial token is multiplied by $\gamma$ and
# the row renormalised: $a_0' = \gamma a_0 / (1 + (\gamma - 1) a_0)$ and $a_i' = a_i / (1 + (\gamma - 1) a_0)$ for the
# other keys, which is the same as adding $\log\gamma$ to the initial key's logit. Heads are profiled on a calibration
# split (scaling one head index up helps: *up-effective*; hurts: *down-effective*), and $\gamma$ is searched for the
# larger group.
#
# **Claims under test.**
# 1. ZeroTuning raises task accuracy without training (2505.11739v1 abstract: "ZeroTuning improves Llama-3.1-8B by
#    11.71% on classification tasks, 2.64% on QA tasks", read as accuracy points; v3 restates it as a 19.9% relative
#    gain).
# 2. Raising the initial token's attention flattens the attention over the other tokens, lowering it sharpens it
#    (Sec. 3, theory). At the scaled layer the *renormalised* distribution over the other tokens cannot change (the
#    $a_i$ shrink or grow together, checked exactly below), so we measure its entropy in the layers that follow.
# 3. Earlier layers matter more than later ones (Sec. 4).
# 4. Heads differ: some are up-effective, some down-effective (Sec. 4). A head index counts as either only when the
#    per-example change of the correct label's log-probability, with that head scaled, is beyond the spread of the
#    calibration examples (t-test); a sign-flip placebo of the same changes is the control.
#
# **Our trivial control for claim 1** (not the paper's): a label-prior correction of the untuned model from the same
# forward passes (its test label scores minus its mean log-probability of each label over the calibration examples,
# contextual-calibration style). ZeroTuning must beat it too: the paired margin's interval above 0.
# **Power precondition** of the split-level claims (1, 3, 4): at least 20 splits (`claims.MIN_SPLITS`, derived in
# `claims.py`); the 60 s default has 5 and decides only claim 2, the `full` profile (30 splits) decides the rest.
#
# **Replicated here (scaled-down):** all four on Gemma-3-270M base (18 layers x 4 heads, a BOS token first) with a
# few-shot task built from offline data: language identification of GTK user-interface strings (French, German,
# Spanish or Italian; one demonstration per class). The `full` profile adds a harder language set (Spanish,
# Portuguese, Italian, Catalan), part of speech from WordNet definitions, SmolLM2-135M-Instruct, more examples and seeds.
# **Not replicated:** the paper's models (Llama-3.1-8B, Qwen, DeepSeek) and benchmarks (SST-2, BoolQ, MMLU, ...: not
# available offline), multiple-choice QA, the multi-turn MT-Bench score (needs a judge model), the comparison with tuning task-specific
# tokens, and the robustness studies (quantisation, long context, decoding). The paper's tables could not be read
# offline: the numbers and quotes are the v1 abstract's (2505.11739v1).
#
# **Units.** One split = a model, a task and a seed. With several (model, task) clusters (`full`) the bootstrap
# resamples whole clusters, since splits of one model and task are not independent of each other; with one (the
# default) it resamples splits.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # one fresh split (demonstrations, calibration, test) per seed
MODELS = ["gemma-3-270m"]  # zoo models
TASKS = ["language_id"]  # language_id (fr/de/es/it), language_id_romance (es/pt/it/ca), wordnet_pos
SHOTS_PER_LABEL = 1  # demonstrations per class in the prompt
CALIB_PER_LABEL = 3  # calibration examples per class
TEST_PER_LABEL = 5  # held-out examples per class
PROBE_GAMMA = 2.0  # scale used to profile each head index (and the layer groups)
UP_GRID = [1.5, 2.0, 3.0]  # scales searched for up-effective heads
DOWN_GRID = [0.25, 0.5, 0.75]  # scales searched for down-effective heads
ENTROPY_GAMMAS = [0.25, 0.5, 1.0, 2.0, 4.0]  # uniform scales for the entropy claim
ENTROPY_PROMPTS = 5  # test prompts (of the first task, seed 0) for the entropy claim: its units
HEAD_ALPHA = 0.05  # a head index is up- or down-effective only if a t-test over calibration examples rejects 0 here

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from scipy.stats import spearmanr

from papers.zerotuning_2025.claims import CLAIMS
from papers.zerotuning_2025.method import (
    Score,
    both_effective,
    calibrate,
    clustered_measurement,
    head_effect,
    label_logprobs,
    label_token_ids,
    language_id_task,
    nonsink_entropy,
    prior_corrected,
    rescale_initial,
    scaled_initial_attention,
    wordnet_pos_task,
)
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.data.loaders import data_path, read_jsonl
from shared.models import load
from shared.results import start_run

run = start_run("zerotuning_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %%
GETTEXT = "parallel/gettext/gtk30/messages.jsonl"
BUILDERS = {  # task name -> (data file, builder(rows, n_per_label, seed))
    "language_id": (GETTEXT, lambda rows, n, s: language_id_task(rows, ["fr", "de", "es", "it"], n, s)),
    "language_id_romance": (GETTEXT, lambda rows, n, s: language_id_task(rows, ["es", "pt", "it", "ca"], n, s)),
    "wordnet_pos": ("text/wordnet/glosses.jsonl", wordnet_pos_task),
}
rows_of = {t: read_jsonl(data_path(BUILDERS[t][0])) for t in TASKS}


def make_split(task_name: str, tok, seed: int):
    """Demonstration prefix ids `[P]` (initial token first), and calibration / test `(query ids, labels)`."""
    _, build = BUILDERS[task_name]
    task = build(rows_of[task_name], SHOTS_PER_LABEL + CALIB_PER_LABEL + TEST_PER_LABEL, seed)
    demos, cal, test = task.split(SHOTS_PER_LABEL, CALIB_PER_LABEL, TEST_PER_LABEL)
    prefix = tok(task.prefix(demos), return_tensors="pt").input_ids[0]

    def encode(examples):
        queries = [tok(task.query(q), add_special_tokens=False, return_tensors="pt").input_ids[0] for q, _ in examples]
        return queries, torch.tensor([y for _, y in examples])

    return task, prefix, encode(cal), encode(test)


def one_split(model, tok, task_name: str, seed: int) -> dict:
    """Untuned vs ZeroTuning on the test split, the calibration record, and the layer-group probe, for one split."""
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    task, prefix, (cal_q, cal_y), (test_q, test_y) = make_split(task_name, tok, seed)
    labels = label_token_ids(tok, task.labels)
    logps = {}  # calibration log-probs [N, C] by gamma

    def evaluate(g, queries=cal_q, ys=cal_y):
        with scaled_initial_attention(model, g):
            lp = label_logprobs(model, prefix, queries, labels)
        logps[(queries is cal_q, tuple(g.flatten().tolist()))] = lp
        return Score.of(lp, ys)

    cal = calibrate(evaluate, L, H, PROBE_GAMMA, UP_GRID, DOWN_GRID)
    base = logps[(True, tuple(torch.ones(L * H).tolist()))]
    kl, third = {}, max(1, L // 3)
    for group, layers in [("early", range(third)), ("late", range(L - third, L))]:
        g = torch.ones(L, H)
        g[list(layers)] = PROBE_GAMMA
        evaluate(g)
        lp = logps[(True, tuple(g.flatten().tolist()))]
        kl[group] = float((base.exp() * (base - lp)).sum(-1).mean())  # KL(untuned || scaled), mean over examples
    untuned = evaluate(torch.ones(L, H), test_q, test_y)
    tuned = untuned if cal.head_type == "none" else evaluate(cal.gamma, test_q, test_y)
    # our trivial control (not the paper's): the untuned model with its label prior on the calibration examples
    # removed (contextual-calibration style), from the same untuned forward passes
    ones = tuple(torch.ones(L * H).tolist())
    control = Score.of(prior_corrected(logps[(False, ones)], logps[(True, ones)]), test_y)
    # share of the test predictions that go to the most-predicted label: 1 / C for a balanced predictor
    top_share = {name: float(logps[(False, tuple(g.flatten().tolist()))].argmax(-1).bincount().max()) / len(test_y)
                 for name, g in [("untuned", torch.ones(L, H)), ("tuned", cal.gamma)]}  # fmt: skip
    # heads-differ: up- and down-effective head indices beyond the spread of the calibration examples, and the same
    # test on sign-flipped changes (the placebo: no head helps or hurts)
    both = both_effective(cal.diffs, HEAD_ALPHA)
    both_placebo = both_effective(cal.diffs, HEAD_ALPHA, placebo_seed=1000 * seed)
    effects = [head_effect(d, HEAD_ALPHA) for d in cal.diffs.values()]
    return {"untuned": 100 * untuned.accuracy, "tuned": 100 * tuned.accuracy,
            "gain": 100 * (tuned.accuracy - untuned.accuracy), "control": 100 * control.accuracy,
            "control_gain": 100 * (control.accuracy - untuned.accuracy),
            "margin": 100 * (tuned.accuracy - control.accuracy), "top_share_untuned": top_share["untuned"],
            "top_share_tuned": top_share["tuned"], "head_type": cal.head_type,
            "heads": ",".join(map(str, cal.heads)), "gamma": cal.value, "up": len(cal.up), "down": len(cal.down),
            "up_sig": effects.count(1), "down_sig": effects.count(-1), "both": int(both),
            "both_placebo": int(both_placebo), "kl_early": kl["early"], "kl_late": kl["late"],
            "calibration": cal}  # fmt: skip


# %% [markdown]
# ## Sanity checks
# On the first model and one prompt: the hook with $\gamma = 1$ is the stock model; the fast path (SDPA with
# $\log\gamma$ on key 0) equals the paper's literal form (eager softmax, then rescale and renormalise); layer 0's scaled
# attention equals the closed form applied to its untuned attention, and its renormalised attention over the other
# tokens (hence its entropy) is exactly unchanged; the shared-prefix scoring equals scoring each full prompt.

# %% tags=["nbval-check-output"]
model, tok = loaded = load(MODELS[0])
L, H = model.config.num_hidden_layers, model.config.num_attention_heads
task, prefix, (cal_q, cal_y), _ = make_split(TASKS[0], tok, SEEDS[0])
labels = label_token_ids(tok, task.labels)
ids = torch.cat([prefix, cal_q[0]]).view(1, -1)
gamma = torch.linspace(0.3, 3.0, L * H).view(L, H)
with torch.no_grad():
    stock = model(input_ids=ids, output_attentions=False).logits
    with scaled_initial_attention(model, torch.ones(L, H)):
        same = model(input_ids=ids).logits
    with scaled_initial_attention(model, gamma):
        fast = model(input_ids=ids).logits
    with scaled_initial_attention(model, torch.ones(L, H), reference=True):
        attn0 = model(input_ids=ids, output_attentions=True).attentions[0][0]  # [H, T, T] untuned layer 0
    with scaled_initial_attention(model, gamma, reference=True):
        out = model(input_ids=ids, output_attentions=True)
scaled0 = out.attentions[0][0]
assert (same - stock).abs().max() < 1e-4, "gamma = 1 must leave the model unchanged"
assert (fast - out.logits).abs().max() < 1e-3 * out.logits.abs().max(), "fast path != reference"
assert (fast - stock).abs().max() > 1e-2, "the scaling must change the output"
assert (scaled0 - rescale_initial(attn0, gamma[0])).abs().max() < 1e-5, "layer 0 != closed form"
ent_gap = (nonsink_entropy(scaled0[None]) - nonsink_entropy(attn0[None])).abs().max().item()
assert ent_gap < 1e-4, "the renormalised attention over the other tokens must not change at the scaled layer"
with scaled_initial_attention(model, gamma), torch.no_grad():
    shared_prefix = label_logprobs(model, prefix, cal_q[:2], labels)
    one_by_one = torch.stack([model(input_ids=torch.cat([prefix, q]).view(1, -1)).logits[0, -1, labels].double()
                              .log_softmax(-1) for q in cal_q[:2]])  # fmt: skip
assert (shared_prefix - one_by_one).abs().max() < 1e-3, "shared-prefix scoring != full prompts"
print(f"{MODELS[0]}: {L} layers x {H} heads; initial token {tok.convert_ids_to_tokens(int(prefix[0]))!r}; "
      "fast == reference, closed form exact, layer-0 entropy unchanged")  # fmt: skip

# %%
print(f"layer-0 attention on the initial token: {attn0[:, 1:, 0].mean():.2f} on average")

# %% [markdown]
# ## Experiment
# For every model, task and seed: a fresh split; the untuned model and ZeroTuning (profiling + scale search on the
# calibration split) on the held-out split; the layer-group probe on the calibration split. `up`/`down` count head
# indices by the sign of the calibration objective (how the method picks heads); `up_sig`/`down_sig` count those
# beyond noise (the `heads-differ` test), `both_placebo` the same test on sign-flipped changes.

# %%
rows, profiles = [], []
for model_name in MODELS:
    model, tok = loaded if model_name == MODELS[0] else load(model_name)
    for task_name in TASKS:
        for seed in SEEDS:
            row = one_split(model, tok, task_name, seed)
            cal = row.pop("calibration")
            rows.append({"model": model_name, "task": task_name, "seed": seed, **row})
            profiles += [{"model": model_name, "task": task_name, "seed": seed, "head": h, "delta_acc": 100 * d}
                         for h, d in cal.profile.items()]  # fmt: skip
results = pd.DataFrame(rows)
results.drop(columns=["kl_early", "kl_late"]).round(2)

# %% [markdown]
# Head profiling: calibration accuracy change (points) when one head index is scaled by `PROBE_GAMMA` in every layer.

# %%
profile = pd.DataFrame(profiles).pivot_table(index=["model", "task", "seed"], columns="head", values="delta_acc")
profile.round(1)

# %% [markdown]
# ### Entropy of the attention over the other tokens, as $\gamma$ varies
# All heads of all layers scaled by the same $\gamma$, on `ENTROPY_PROMPTS` test prompts of the first model and task
# (seed 0); the entropy of each query's attention over the non-initial keys (renormalised), averaged over heads and
# queries, per layer.

# %%
model, tok = loaded
L, H = model.config.num_hidden_layers, model.config.num_attention_heads
task, prefix, _, (test_q, _) = make_split(TASKS[0], tok, SEEDS[0])
ent_rows = []
with torch.no_grad():
    for p, q in enumerate(test_q[:ENTROPY_PROMPTS]):
        ids = torch.cat([prefix, q]).view(1, -1)
        for g in ENTROPY_GAMMAS:
            with scaled_initial_attention(model, torch.full((L, H), g), reference=True):
                # the decoder alone: the attentions without the 262k-word output layer (3x faster, same numbers)
                attn = torch.stack(model.model(input_ids=ids, output_attentions=True).attentions)[:, 0]  # [L, H, T, T]
            per_layer = nonsink_entropy(attn, skip=2).mean((1, 2))  # [L]
            ent_rows += [{"prompt": p, "gamma": g, "layer": i, "entropy": float(e)} for i, e in enumerate(per_layer)]
entropy = pd.DataFrame(ent_rows)
upper = entropy[entropy.layer >= 1].groupby(["prompt", "gamma"]).entropy.mean().unstack("gamma")
rho = [spearmanr(ENTROPY_GAMMAS, upper.loc[p, ENTROPY_GAMMAS]).statistic for p in upper.index]
assert entropy[entropy.layer == 0].groupby("prompt").entropy.agg(lambda e: e.max() - e.min()).max() < 1e-4
upper.round(4)

# %% [markdown]
# ## Paper vs ours

# %%
# one split = a model, a task and a seed; the bootstrap resamples whole (model, task) clusters when there are several
keys = list(zip(results.model, results.task))
measurements = {
    "zerotuning-gain": clustered_measurement(results.gain, keys, unit="points"),
    "entropy-direction": Measurement.mean(rho, n_unit="prompts", bounds=(-1.0, 1.0)),
    "early-layers-matter-more": clustered_measurement(results.kl_early / results.kl_late, keys, log=True),
    "heads-differ": clustered_measurement(results.both, keys, bounds=(0.0, 1.0), proportion=True),
}
controls = {
    "zerotuning-gain": clustered_measurement(results.margin, keys, unit="points"),
    "heads-differ": clustered_measurement(results.both - results.both_placebo, keys, bounds=(-1.0, 1.0)),
}
# the power precondition of the split-level claims: the number of splits (claims.MIN_SPLITS)
checks = {"enough-splits": Measurement.exact(len(results), n_unit="splits")}
claim_results = evaluate_claims(CLAIMS, measurements, controls, checks)
summary = results.groupby(["model", "task"])[["untuned", "control", "tuned", "gain", "control_gain", "margin"]].mean()
display(summary.round(2))  # noqa: F821
# the control's own gain over the untuned model (context for the margin; not a claim)
print(f"label-prior correction - untuned: {clustered_measurement(results.control_gain, keys, unit='points')}; "
      f"ZeroTuning - control: {controls['zerotuning-gain']}")  # fmt: skip
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
ax = axes[0]
for i, (_, grp) in enumerate(results.groupby(["model", "task"])):
    ax.plot([i - 0.15] * len(grp), grp.untuned, "o", color="tab:gray", label="untuned" if i == 0 else None)
    ax.plot([i + 0.15] * len(grp), grp.tuned, "o", color="tab:red", label="ZeroTuning" if i == 0 else None)
    ax.plot([i + 0.3] * len(grp), grp.control, "x", color="tab:blue",
            label="label-prior correction (control)" if i == 0 else None)  # fmt: skip
    for u, t in zip(grp.untuned, grp.tuned):
        ax.plot([i - 0.15, i + 0.15], [u, t], color="k", lw=0.5)
ax.set_xticks(range(results.groupby(["model", "task"]).ngroups),
              [f"{m}\n{t}" for m, t in results.groupby(["model", "task"]).groups], fontsize=8)  # fmt: skip
ax.set(xlim=(-0.6, results.groupby(["model", "task"]).ngroups - 0.4), ylabel="held-out accuracy (%)",
       title="Untuned vs ZeroTuning, one line per seed")  # fmt: skip
ax.legend()

ax = axes[1]
mean_curve = entropy.groupby(["gamma", "layer"]).entropy.mean().unstack("layer")
base_curve = mean_curve.loc[1.0]
for layer in mean_curve.columns:
    ax.plot(ENTROPY_GAMMAS, mean_curve[layer] - base_curve[layer], color=plt.cm.viridis(layer / L), lw=1)
ax.axhline(0, color="k", lw=0.5)
ax.set(xscale="log", xlabel="gamma (all heads, all layers)", ylabel="entropy change vs gamma = 1 (nats)",
       title="Attention entropy over the non-initial tokens, per layer\n(dark = early, yellow = late)")  # fmt: skip
ax.set_xticks(ENTROPY_GAMMAS, [f"{g:g}" for g in ENTROPY_GAMMAS])
ax.minorticks_off()

ax = axes[2]
ax.plot(results.kl_early, results.kl_late, "o")
top = max(results.kl_early.max(), results.kl_late.max()) * 1.1
ax.plot([0, top], [0, top], "k--", lw=0.5)
ax.set(xlabel=f"KL, first third of layers scaled by {PROBE_GAMMA}", ylabel="KL, last third scaled",
       title="Effect on the label distribution by depth\n(below the diagonal: early layers matter more)")  # fmt: skip
fig.tight_layout()
run.save_figure(fig, "zerotuning")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (Gemma-3-270M, language identification of GTK strings, 5 splits of 12 calibration and 20 test
# examples; 5 prompts for the entropy claim; intervals over splits). The default is below the pre-registered power
# precondition of the split-level claims (20 splits, derived in `claims.py` from the paper's +11.71 and the per-split
# spread of the gain), so the gain, the depth trend and the head claim are *inconclusive* here whatever their values,
# and the `full` profile (30 splits in 6 model x task clusters) decides them; only the entropy claim is decided. Before
# that precondition, 5 splits moved 2 of 4 verdicts between seed sets; with it, seeds 10-14 and 30-34 moved none.
#
# ZeroTuning's held-out gain over the untuned model per split was +10, +5, +45, -15 and 0 points (mean +9). The
# +45 split is the untuned model answering one language for every test example (top share 1.0). Our trivial control,
# the untuned model with its label prior removed (its mean log-probability of each label over the calibration
# examples, subtracted from its test scores: no calibration label, no extra forward pass), reached 88% against
# ZeroTuning's 63% and the untuned 54%: margin -25 [-34, -18] points, wholly below 0 here and under both other seed
# sets. In the `full` profile the control wins in all six clusters (margin -17.7 [-26.6, -10.3]) while ZeroTuning beats
# the untuned model by 6.0 [3.4, 12.0]: *not reproduced* as pre-registered. At this scale what ZeroTuning gains is a
# partial correction of the label bias that a direct prior correction removes better; the paper's 7-8B models and its
# benchmarks, whose label mixes are not balanced like ours, are not tested.
#
# The mechanism is clean. At the scaled layer the other tokens' weights shrink or grow together by exactly
# 1 / (1 + (gamma - 1) a0), as the paper derives, so their renormalised distribution does not move (checked to 1e-4
# nats); in every later layer the entropy of that distribution rises monotonically with gamma (rho = 1 for all five
# prompts, *reproduced*, under all three seed sets): raising the sink's attention flattens the attention over the rest
# of the prompt downstream, lowering it sharpens it, the paper's direction. Scaling the first third of the layers moved
# the label distribution more than scaling the last third in these splits (geometric mean of the KL ratios 7.2 [2.3,
# 16.4]; 3.2 and 3.8 under the other seed sets), but over the `full` profile's clusters it is 2.2 [0.8, 5.5],
# inconclusive.
#
# Heads differ only beyond noise: a head index counts as up- or down-effective when a t-test over the calibration
# examples rejects a zero mean change of the correct label's log-probability. With 12 calibration examples no default
# split had both kinds, 0 [0, 0.43]; the sign-flip placebo never passes. In the `full` profile (24 calibration
# examples, SmolLM2's 9 heads) 17 of 30 splits have both kinds: *partially reproduced*.
#
# Re-run at 1 and 2 threads and on another CPU code path (AVX2) before issue 14, every value was unchanged at 4
# significant digits (the scoring code is unchanged; the control is arithmetic on the same log-probabilities).
