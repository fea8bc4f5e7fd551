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
# (`shared.speculative.batch`), with SmolLM2-135M-Instruct as the target and its int8-quantised copy as the draft, on
# chat prompts. Every batched output is compared token by token with unbatched greedy decoding, for EQSPEC, EXSPEC and
# two naive variants that reproduce the ragged bugs (wrong position ids; rejected entries left visible).
# **Not replicated, and why:** the GPU throughput scaling to batch 8 (3x), SpecBench and the 7-9B model pairs. Only a
# 2-core CPU is available here, and on a CPU batching buys little. EXSPEC's overhead against EQSPEC's is judged on a
# deterministic count (KV-cache positions each design copies to keep its rows aligned), not on wall clock; the
# realignment share of EQSPEC's wall time is a timing from one run, reported but not judged (it would need repeats).
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0]  # greedy decoding: no randomness (kept for the run record)
N_PROMPTS = 4  # chat prompts, all in one batch
MAX_NEW = 24  # tokens generated per prompt
DRAFT_LEN = 4  # draft tokens per step

# %%
import matplotlib.pyplot as plt
import pandas as pd

from papers.batch_specdec_2025.claims import CLAIMS
from papers.batch_specdec_2025.method import chat_prompts, equivalence, int8_draft, realign_copies, regroup_copies
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.models import load
from shared.results import start_run
from shared.speculative.batch import batch_generate, exspec_generate, greedy_reference

run = start_run("batch_specdec_2025", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format
target, tok = load("smollm2-135m-instruct")
draft = int8_draft(target)
prompts = chat_prompts(tok, N_PROMPTS)

# %% tags=["nbval-check-output"]
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks
# Unbatched speculative decoding (batch of one, realigned) equals greedy decoding for the first prompt, and the prompts
# have different lengths, so the batch is left-padded from the start.

# %% tags=["nbval-check-output"]
references = [greedy_reference(target, p, MAX_NEW) for p in prompts]
single = batch_generate(target, draft, prompts[:1], MAX_NEW, DRAFT_LEN, "realign")
assert single.tokens == references[:1]
assert len({len(p) for p in prompts}) > 1
print("batch of one equals greedy; the prompts differ in length")

# %% [markdown]
# ## Experiment
# One batch per mode, the same prompts; then EXSPEC, and every prompt on its own (batch size 1) for throughput.

# %%
runs = {mode: batch_generate(target, draft, prompts, MAX_NEW, DRAFT_LEN, mode)
        for mode in ("realign", "naive_positions", "naive_unmasked")}  # fmt: skip
runs["exspec"] = exspec_generate(target, draft, prompts, MAX_NEW, DRAFT_LEN, batch_size=N_PROMPTS)
solo = [batch_generate(target, draft, [p], MAX_NEW, DRAFT_LEN, "realign") for p in prompts]
rows = [{"method": name, "identical_rows": equivalence(r.tokens, references), "steps": r.steps,
         "mean_accepted": sum(r.accepted) / len(r.accepted)} for name, r in runs.items()]  # fmt: skip
table = pd.DataFrame(rows).set_index("method")
# cache positions copied to keep rows aligned (per layer and model): EQSPEC's gather, EXSPEC's group concatenation
copies = {"realign": realign_copies(prompts, runs["realign"].accepted),
          "exspec": regroup_copies(prompts, runs["exspec"].accepted, MAX_NEW, N_PROMPTS)}  # fmt: skip
B = len(prompts)
realign_steps = [runs["realign"].accepted[s * B : (s + 1) * B] for s in range(runs["realign"].steps)]
ragged_share = sum(len(set(a)) > 1 for a in realign_steps) / len(realign_steps)
timing = pd.DataFrame([{"method": name, "seconds": r.seconds, "realign_seconds": r.realign_seconds,
                        "tokens_per_s": sum(map(len, r.tokens)) / r.seconds} for name, r in runs.items()]
                      + [{"method": "batch size 1", "seconds": sum(s.seconds for s in solo),
                          "realign_seconds": sum(s.realign_seconds for s in solo),
                          "tokens_per_s": sum(len(s.tokens[0]) for s in solo) / sum(s.seconds for s in solo)}])  # fmt: skip

# %% [markdown]
# ## Paper vs ours
# Greedy decoding of a fixed prompt set is deterministic: the equivalence shares and the cache-copy counts are exact
# values over these prompts. The wall-clock table (one run each, on a shared CPU) is shown for readers and judged
# nowhere except the realignment share, a timing claim the engine leaves inconclusive without repeats.

# %%
table["cache_copies"] = pd.Series(copies)
print(table.round(3).to_string())
print(timing.set_index("method").round(3).to_string())

# %%
n = len(prompts)


def share(mode, identical=True):
    """Share of prompts whose output is (or is not) identical to unbatched greedy: a count over the prompt set."""
    k = sum((out == ref) == identical for out, ref in zip(runs[mode].tokens, references))
    return Measurement.exact(k / n, n=n, n_unit="prompts")


measurements = {
    "naive-positions-break": share("naive_positions", identical=False),
    "naive-mask-break": share("naive_unmasked", identical=False),
    "eqspec-equivalence": share("realign"),
    "exspec-equivalence": share("exspec"),
    "realign-overhead": Measurement(runs["realign"].realign_seconds / runs["realign"].seconds, n_unit="runs"),
    "exspec-overhead": Measurement.exact(copies["exspec"] / copies["realign"], n=n, n_unit="prompts"),
}
checks = {"ragged": Measurement.exact(ragged_share, n=len(realign_steps), n_unit="steps")}
claim_results = evaluate_claims(CLAIMS, measurements, checks=checks)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(table.index, table.identical_rows)
ax.set(ylabel="rows identical to unbatched greedy", ylim=(0, 1.05), title="Output equivalence by batching mode")
fig.tight_layout()
run.save_figure(fig, "equivalence")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# *Default run* (4 chat prompts of different lengths, 24 new tokens each, draft length 4, one batch). The ragged
# problem is real and easy to hit: both naive variants changed the output of every row (4/4). With column-based
# position ids the rows that rejected draft tokens see holes in their positions; with rejected entries left visible
# every later token attends to tokens that were never emitted. Realignment (EQSPEC) and same-length grouping (EXSPEC)
# both reproduce unbatched greedy decoding exactly, 4/4 rows, above the paper's 95%: in fp32 on a CPU the batched and
# unbatched kernels agree closely enough that no argmax flips (the paper's 5% presumably comes from fp16/bf16 GPU
# kernels whose rounding depends on the batch shape). These shares are exact counts over our four prompts, not
# estimates of a rate over a prompt population: as such an estimate, 4/4 would only bound the rate above about 0.5.
#
# EXSPEC's overhead is judged on what each design copies to keep its rows aligned, a count that is the same on every
# machine: EQSPEC's realignment gathered 2400 KV-cache positions (per layer and model), EXSPEC's group formation 1463,
# 0.61x. EXSPEC saves the padding that EQSPEC copies with every row, but it still copies each member's cache to form a
# group, and because prompts of different lengths rarely share a length its groups were mostly single rows: it needed
# 24 steps against EQSPEC's 10, which on a CPU costs throughput (see the wall-clock table), something the paper avoids
# with a large, sliding pool of requests. The count moves slightly with the thread count (0.6138 at 1 thread, 0.6096
# at 2: EXSPEC's acceptances follow the draft's argmax near-ties, while the outputs stay identical). The earlier
# wall-clock version of this claim flipped between machines (0.87 -> 1.13): both timings are fractions of a second.
#
# The realignment share of EQSPEC's wall time (the abstract's 40%) is a timing from one run: 0.018 in the recorded run,
# 0.03-0.07 in our scratch runs on the same shared machine, so the engine calls it inconclusive. It stays far below
# 40% in every run we made: a 135M model's forward passes on a CPU cost far more than gathering the caches, while on a
# GPU the forwards are fast and the host-side realignment dominates. (Our ratio also has the whole run as denominator;
# the abstract's "40% of overhead" may mean a share of the non-forward overhead, which we could not check offline.)
# Deciding it needs at least 5 interleaved repeats of the EQSPEC run (about 40 s more than the default budget) or
# per-step timings from the engine.
