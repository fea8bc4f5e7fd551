# %% [markdown]
# # Batch Speculative Decoding Done Right (catalog id 120): ragged acceptance breaks batched speculative decoding
#
# **Claims under test.** In a batch, rows accept different numbers of draft tokens. Implementations that do not
# realign position ids, attention masks and KV caches afterwards produce outputs that differ from plain decoding
# (Sec. 3). EQSPEC realigns after every step and restores output equivalence; realignment is a large share of its
# overhead (40%, abstract). EXSPEC batches only sequences of equal length from a pool, so it needs no realignment,
# stays equivalent and cuts that overhead (abstract, Sec. 5).
#
# **Replicated here (scaled down):** greedy batched speculative decoding on the shared engine
# (`shared.speculative.batch`) with a real target/draft pair: the zoo's tiny-LM pair (8.4M target, 2.1M draft) in the
# default run, SmolLM2-135M-Instruct with its int8-quantised copy as the draft in `full`; 208 prompts (reasoning_gym
# questions of five task templates, batches of 8). Every batched output is checked
# against the target's unbatched greedy continuation, for EQSPEC, EXSPEC and two naive variants that reproduce the
# ragged bugs (wrong position ids; rejected entries left visible).
# **Not replicated, and why:** the GPU throughput scaling to batch 8 (3x), SpecBench and the 7-9B model pairs. Only a
# 2-core CPU is available here, and on a CPU batching buys little. EXSPEC's overhead against EQSPEC's is judged on a
# deterministic count (KV-cache positions each design copies to keep its rows aligned), not on wall clock. The
# realignment share of EQSPEC's decoding time (the paper's 40%) is measured per batch with an interval over the
# batches, but it is a GPU quantity: on a CPU its precondition fails and the claim is inconclusive by design.
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [1]  # draws the prompts (decoding is greedy and deterministic); seed 0 was the sizing pilot
TARGET = "tiny-lm-large"  # zoo names: the target (8.4M parameters) ...
DRAFT = "tiny-lm-small"  # ... and its draft (2.1M, same tokenizer); "int8" = the target's own int8 copy
N_PROMPTS = 208  # prompts: 26 EQSPEC batches, one EXSPEC pool (n >= 200: the 0.99 bar tolerates two differing rows)
BATCH = 8  # rows per EQSPEC batch and largest EXSPEC group (the paper's headline batch size)
N_NAIVE = 16  # prompts (two batches) run through each naive mode
MAX_NEW = 16  # tokens generated per prompt
DRAFT_LEN = 4  # draft tokens per step

# %%
import matplotlib.pyplot as plt
import pandas as pd

from papers.batch_specdec_2025.claims import CLAIMS
from papers.batch_specdec_2025.method import is_greedy, load_pair, realign_copies, regroup_copies, task_prompts
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run
from shared.speculative.batch import batch_generate, exspec_generate, greedy_reference

run = start_run("batch_specdec_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
target, draft, tok = load_pair(TARGET, DRAFT)
prompts, questions = task_prompts(tok, N_PROMPTS, SEEDS[0])
batches = [list(range(i, min(i + BATCH, N_PROMPTS))) for i in range(0, N_PROMPTS, BATCH)]
on_gpu = next(target.parameters()).is_cuda

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# The equivalence check (one unbatched forward pass over prompt + output: every output token must be the argmax before
# it) agrees with token-by-token greedy decoding on the first prompts and rejects an output with one token changed;
# unbatched speculative decoding (a batch of one, realigned) is greedy; the prompts differ in length, so every batch is
# left-padded from the start.

# %% tags=["nbval-check-output"]
references = [greedy_reference(target, p, MAX_NEW) for p in prompts[:2]]
assert all(is_greedy(target, p, r) for p, r in zip(prompts, references))
assert not is_greedy(target, prompts[0], references[0][:-1] + [(references[0][-1] + 1) % len(tok)])
single = batch_generate(target, draft, prompts[:1], MAX_NEW, DRAFT_LEN, "realign")
assert single.tokens == references[:1]
assert all(len({len(prompts[i]) for i in b}) > 1 for b in batches)
print("the check agrees with greedy decoding and rejects a changed token; a batch of one is greedy; "
      "every batch mixes prompt lengths")  # fmt: skip

# %% [markdown]
# ## Experiment
# EQSPEC (mode `realign`) on every batch of `BATCH` prompts; EXSPEC on one pool of all prompts, groups of at most
# `BATCH`; each naive mode on the first `N_NAIVE` prompts (whole batches). Every output is checked against the target's unbatched greedy
# continuation of its prompt.

# %%
eq_runs = [batch_generate(target, draft, [prompts[i] for i in b], MAX_NEW, DRAFT_LEN, "realign") for b in batches]
ex_run = exspec_generate(target, draft, prompts, MAX_NEW, DRAFT_LEN, batch_size=BATCH)
naive_runs = {mode: [batch_generate(target, draft, [prompts[i] for i in b], MAX_NEW, DRAFT_LEN, mode)
                     for b in batches if b[0] < N_NAIVE]
              for mode in ("naive_positions", "naive_unmasked")}  # fmt: skip
outputs = {"realign": [t for r in eq_runs for t in r.tokens], "exspec": ex_run.tokens}
outputs.update({mode: [t for r in rs for t in r.tokens] for mode, rs in naive_runs.items()})
checked: dict = {}


def greedy(i, out):
    """Is `out` the target's unbatched greedy continuation of prompt `i` (each distinct output checked once)."""
    key = (i, tuple(out))
    if key not in checked:
        checked[key] = is_greedy(target, prompts[i], out)
    return checked[key]


identical = {mode: [greedy(i, out) for i, out in enumerate(outs)] for mode, outs in outputs.items()}

copies = {"realign": sum(realign_copies([prompts[i] for i in b], r.accepted) for b, r in zip(batches, eq_runs)),
          "exspec": regroup_copies(prompts, ex_run.accepted, MAX_NEW, BATCH)}  # fmt: skip
ragged = [
    len(set(r.accepted[s * len(r.tokens) : (s + 1) * len(r.tokens)])) > 1 for r in eq_runs for s in range(r.steps)
]
realign_share = [r.realign_seconds / r.seconds for r in eq_runs]
table = pd.DataFrame([{"method": m, "rows": len(v), "identical_rows": sum(v) / len(v)} for m, v in identical.items()])
table = table.set_index("method")
table["steps"] = [sum(r.steps for r in rs) for rs in (eq_runs, [ex_run], *naive_runs.values())]
table["cache_copies"] = pd.Series(copies)
timed = {"realign": (eq_runs, N_PROMPTS), "exspec": ([ex_run], N_PROMPTS)}
timed.update({mode: (rs, N_NAIVE) for mode, rs in naive_runs.items()})
timing = pd.DataFrame([{"method": m, "seconds": sum(r.seconds for r in rs),
                        "realign_seconds": sum(r.realign_seconds for r in rs),
                        "tokens_per_s": n * MAX_NEW / sum(r.seconds for r in rs)} for m, (rs, n) in timed.items()])  # fmt: skip
timing = timing.set_index("method")

# %% [markdown]
# ## Paper vs ours
# Greedy decoding of a fixed prompt set is deterministic: the equivalence shares and the cache-copy counts are exact
# values over these prompts. The wall-clock numbers (on a shared CPU) are shown for readers; the realignment share per
# EQSPEC batch is the paper's quantity, judged only on a GPU (precondition `accelerator`).

# %%
print(table.round(4).to_string())
print(timing.round(3).to_string())
print("realignment share per EQSPEC batch:", [round(x, 4) for x in realign_share])


# %%
def share(mode, identical_rows=True):
    """Share of the mode's prompts whose output is (or is not) the greedy continuation: a count over the prompt set."""
    v = identical[mode]
    k = sum(x == identical_rows for x in v)
    return Measurement.exact(k / len(v), n=len(v), n_unit="prompts")


measurements = {
    "naive-positions-break": share("naive_positions", identical_rows=False),
    "naive-mask-break": share("naive_unmasked", identical_rows=False),
    "eqspec-equivalence": share("realign"),
    "exspec-equivalence": share("exspec"),
    "realign-overhead": Measurement.mean(realign_share, n_unit="EQSPEC batches", bounds=(0.0, 1.0)),
    "exspec-overhead": Measurement.exact(copies["exspec"] / copies["realign"], n=N_PROMPTS, n_unit="prompts"),
}
checks = {"ragged": Measurement.exact(sum(ragged) / len(ragged), n=len(ragged), n_unit="steps"),
          "accelerator": Measurement.exact(float(on_gpu), n_unit="device")}  # fmt: skip
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(table.index, table.identical_rows)
ax.set(ylabel="rows equal to unbatched greedy", ylim=(0, 1.05), title="Output equivalence by batching mode")
fig.tight_layout()
run.save_figure(fig, "equivalence")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (the tiny-LM pair, 208 reasoning_gym prompts drawn with seed 1, EQSPEC in 26 batches of 8, EXSPEC on
# one pool of 208, 16 new tokens, draft length 4). The ragged problem is real and easy to hit: each naive variant
# changed the output of 15 of its 16 rows. With column-based position ids the rows that rejected draft tokens see holes
# in their positions; with rejected entries left visible every later token attends to tokens that were never emitted.
# Realignment (EQSPEC) and same-length grouping (EXSPEC) both give the target's unbatched greedy continuation on all
# 208 prompts, above the 0.99 bar (which would have tolerated two differing rows) and the paper's 95%: in fp32 on a
# CPU the batched and unbatched kernels agree closely enough that no argmax flips, while the paper's 5% comes from
# GPU floating-point non-determinism (its v2 abstract). Every EQSPEC step was ragged (the rows accepted different
# numbers of draft tokens), so the realignment was exercised at every step. These shares are exact counts over the
# drawn prompts; as an estimate of a population rate, 208/208 would bound it above about 0.98 (Wilson).
#
# EXSPEC's group formation copied 0.33x the KV-cache positions EQSPEC's realignment gathered (52,700 vs 159,200 per
# layer and model): with a pool of 208 prompts, same-length groups form, and EXSPEC saves the padding EQSPEC copies
# with every row at every step. It took 322 steps against EQSPEC's 265 (its groups are smaller than 8).
#
# The realignment share of EQSPEC's decoding time, the paper's "up to 40%", was 0.098 [0.095, 0.101] over the 26
# batches with the 8.4M tiny LM and 0.041 [0.040, 0.043] with the 135M SmolLM2 of the `full` run: on a CPU the
# forward passes dominate, and the dearer they are the smaller the share. The share belongs to the hardware, so the
# claim is inconclusive by design here (precondition `accelerator`); a GPU run would decide it.
