"""The claims of "Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement" under
test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, Claim

CLAIMS = [
    Claim("wor-node-acceptance", "Drafting without replacement makes acceptance at a tree node more likely than i.i.d. "
          "drafts under recursive rejection sampling", paper_value="higher", unit="acceptance ratio",
          paper_ref="Sec. 3 (RSD, sampling without replacement)",
          measures="mean over node pairs (p, q) of exact acceptance with K_NODE drafts without replacement / with "
                   "i.i.d. drafts; one value per seed",
          rule=AtLeast(1.02, partial=1.0), fidelity="analogue"),
    Claim("fixed-length", "RSD-C beats i.i.d. draft trees consistently for a fixed draft length",
          paper_value="consistently better", unit="block efficiency ratio", paper_ref="Sec. 5, fixed draft length",
          measures="mean over tree shapes of block efficiency RSD-C / the i.i.d. tree of the same shape; one value per "
                   "seed",
          rule=AtLeast(1.02, partial=1.0), fidelity="analogue"),
    Claim("fixed-budget", "RSD-C is at least as good as i.i.d. baselines in most fixed target-budget settings",
          paper_value="most settings", unit="fraction of budgets", paper_ref="Sec. 5, fixed target computation",
          measures="fraction of budgets in BUDGETS where RSD-C's mean block efficiency (over seeds) is >= the best "
                   "i.i.d.-sequence baseline's",
          rule=AtLeast(0.6, partial=0.3), fidelity="analogue"),
    Claim("lossless", "RSD's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 3 (recursive rejection sampling is exact)",
          measures="p-value of a chi-square test of N_EXACT sampled RSD-C continuations against the enumerated "
                   "target distribution (power >= 0.99 against the draft's distribution)",
          rule=AtLeast(0.001), fidelity="analogue"),
]  # fmt: skip
