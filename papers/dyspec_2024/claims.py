"""The claims of "DySpec: Faster Speculative Decoding with Dynamic Token Tree Structure" under test, with their verdict
rules: fixed before any run, judged by code after.

The correlation is a Spearman coefficient over sampled draft tokens (independent draws), with a Fisher z interval, never
over bin means. The block-efficiency comparison is a geometric mean of paired per-prompt ratios with a log-scale
bootstrap; DySpec's greedy tree rests on the correlation, so the comparison carries it as a precondition (where the toy
breaks the premise, the comparison cannot show the effect). The exactness test is a seeded chi-square test, judged at
level 1e-3 with its power as a precondition.
"""

from shared.claims import AtLeast, Claim, Precondition, Tolerance

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

PREMISE = Precondition("premise", "a draft token's draft probability predicts its acceptance (Spearman over sampled "
                       "draft tokens >= 0.4, the partial bar of draft-prob-predicts-acceptance): the premise of the "
                       "greedy tree", AtLeast(0.4))  # fmt: skip
POWER = Precondition("test-power", "the chi-square test with N_EXACT samples rejects the draft's own distribution with "
                     "probability >= 0.99 at level 1e-3 (noncentral chi-square, exact)", AtLeast(0.99))  # fmt: skip

CLAIMS = [
    Claim("draft-prob-predicts-acceptance", "A draft token's draft probability is strongly correlated with its "
          "acceptance", paper_value="strong correlation", unit="Spearman rho", paper_ref="Sec. 3",
          measures="Spearman correlation between the draft probability q(x) and the exact acceptance min(1, p/q) over "
                   "N_DRAWS sampled draft tokens per seed (all seeds pooled), Fisher z interval over tokens",
          rule=AtLeast(0.7, partial=0.4), fidelity="analogue", tolerance=TOL),
    Claim("beats-fixed-trees", "The dynamic tree accepts more tokens per target call than fixed trees of the same size",
          paper_value="higher", unit="block efficiency ratio", paper_ref="Sec. 5, comparison with fixed trees",
          measures="geometric mean over prompts (all seeds) of DySpec's block efficiency / the best fixed shape's (chain "
                   "or k-ary tree drawn without replacement, best by mean over the same prompts) at the largest "
                   "budget; log-scale bootstrap over prompts",
          rule=AtLeast(1.05, partial=1.0), fidelity="analogue", tolerance=TOL, preconditions=(PREMISE,)),
    Claim("lossless", "DySpec's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 4",
          measures="p-value of a chi-square test of N_EXACT sampled DySpec continuations against the enumerated target "
                   "distribution (seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
