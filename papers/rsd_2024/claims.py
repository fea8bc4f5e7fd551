"""The claims of "Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement" under
test, with their verdict rules: fixed before any run, judged by code after.

Per-node acceptances are enumerated exactly, but the node pairs are random draws: the per-node gain is a geometric mean
of paired per-node ratios over distinct node pairs (log-scale bootstrap). Block efficiencies come from sampled
generations: paired per-prompt ratios over prompts. The fixed-budget comparison picks the best i.i.d. configuration on
the same runs and yields one win or loss per budget (3 budgets): a point estimate, which the engine leaves
inconclusive. The exactness test is a seeded chi-square test, judged at level 1e-3 with its power as a precondition.
"""

from shared.claims import AtLeast, Claim, Precondition, Tolerance

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

POWER = Precondition("test-power", "the chi-square test with N_EXACT samples rejects the draft's own distribution with "
                     "probability >= 0.99 at level 1e-3 (noncentral chi-square, exact)", AtLeast(0.99))  # fmt: skip

CLAIMS = [
    Claim("wor-node-acceptance", "Drafting without replacement makes acceptance at a tree node more likely than i.i.d. "
          "drafts under recursive rejection sampling", paper_value="higher", unit="acceptance ratio",
          paper_ref="Sec. 3 (RSD, sampling without replacement)",
          measures="geometric mean over distinct node pairs (p, q) (all seeds) of exact acceptance with K_NODE drafts "
                   "without replacement / with i.i.d. drafts; log-scale bootstrap over node pairs",
          rule=AtLeast(1.02, partial=1.0), fidelity="analogue", tolerance=TOL),
    Claim("fixed-length", "RSD-C beats i.i.d. draft trees consistently for a fixed draft length",
          paper_value="consistently better", unit="block efficiency ratio", paper_ref="Sec. 5, fixed draft length",
          measures="geometric mean over prompts (all seeds) of RSD-C's block efficiency / the i.i.d. tree's, each "
                   "prompt's ratio a geometric mean over the tree shapes; log-scale bootstrap over prompts",
          rule=AtLeast(1.02, partial=1.0), fidelity="analogue", tolerance=TOL),
    Claim("fixed-budget", "RSD-C is at least as good as i.i.d. baselines in most fixed target-budget settings",
          paper_value="most settings", unit="fraction of budgets", paper_ref="Sec. 5, fixed target computation",
          measures="fraction of budgets in BUDGETS where RSD-C's mean block efficiency is >= the best i.i.d.-sequence "
                   "baseline's, the best chosen on the same runs (a point estimate over 3 budgets: no interval)",
          rule=AtLeast(0.6, partial=0.3), fidelity="analogue", tolerance=TOL),
    Claim("lossless", "RSD's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 3 (recursive rejection sampling is exact)",
          measures="p-value of a chi-square test of N_EXACT sampled RSD-C continuations against the enumerated "
                   "target distribution (seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
