# %% [markdown]
# # $title ($arxiv): <the claim in one line>
#
# Catalog id $catalog_id. **Claims under test** (section, figure or table of the paper): 1. ... 2. ...
#
# **Replicated here:** ... **Not replicated, and why:** ...
#
# The claims and their verdict rules are fixed in `claims.py` (shown by the setup cell) before anything is measured.

# %% tags=["parameters"]
PROFILE = "default"  # the params/<profile>.yaml that overrides these values
SEEDS = [0, 1, 2, 3, 4]  # independent units: noisy claims need an interval over at least 5
N_EXAMPLES = 100  # <replace: the parameters of the default run, which must finish in <= 60 s on 2 CPU cores>

# %%
import matplotlib.pyplot as plt
import pandas as pd

from papers.$slug import method
from papers.$slug.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims, preregister, verdict_table
from shared.results import start_run

run = start_run("$slug", globals(), seeds=SEEDS)
pd.options.display.float_format = "{:.4g}".format

# %% tags=["nbval-check-output"]
# the pre-registration: the claims, their rules, controls and tolerances, fixed in claims.py before anything runs
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks

# %% tags=["nbval-check-output"]
# asserts that must hold before any number means anything (a known answer, an identity, an invariant); print only
# what is the same on every machine (pass/fail, not measured numbers): CI compares this cell's output
raise NotImplementedError("write the sanity checks of this replication")

# %% [markdown]
# ## Experiment

# %%
rows = []
results = pd.DataFrame(rows)

# %% [markdown]
# ## Paper vs ours

# %%
# the interval that fits each quantity (Measurement.mean / proportion / correlation / ratio / paired_difference /
# bootstrap / exact), with what one unit is; a comparative claim also passes its margin over its trivial control.
# Numbers drift in the last digit between machines: this cell is not compared by CI (the rerun contract checks them).
measurements = {"main": Measurement.mean([], n_unit="seeds")}
controls = {"main": Measurement.paired_difference([], [], n_unit="seeds")}
claim_results = evaluate_claims(CLAIMS, measurements, controls=controls)
verdict_table(claim_results)

# %% [markdown]
# ## Plots

# %%
fig, ax = plt.subplots(figsize=(6, 4))
run.save_figure(fig, "main")
plt.show()

# %% [markdown]
# ## Verdict

# %% tags=["nbval-check-output"]
record = run.finish(claim_results)

# %% [markdown]
# ## Discussion
# Why claims held, failed or deviated, said plainly.
