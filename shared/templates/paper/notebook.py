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
SEEDS = [0, 1, 2]  # independent runs: noisy claims get an interval
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
preregister(CLAIMS)

# %% [markdown]
# ## Sanity checks

# %% tags=["nbval-check-output"]
# asserts that must hold before any number means anything (a known answer, an identity, an invariant)
raise NotImplementedError("write the sanity checks of this replication")

# %% [markdown]
# ## Experiment

# %%
rows = []
results = pd.DataFrame(rows)

# %% [markdown]
# ## Paper vs ours

# %% tags=["nbval-check-output"]
measurements = {"main": Measurement.from_samples([])}
claim_results = evaluate_claims(CLAIMS, measurements)
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
