"""The claims of "DySpec: Faster Speculative Decoding with Dynamic Token Tree Structure" under test, with their verdict
rules: fixed before any run, judged by code after.

Issue 14: the correlation and the block-efficiency comparison run on the zoo's real draft/target pair (`tiny-lm-small`
drafting for `tiny-lm-large`) on held-out contexts; the exactness test stays on enumerable n-gram toys. The correlation
is a Spearman coefficient over sampled draft tokens (one per independent context) with a Fisher z interval, never over
bin means; its trivial control is a placebo (the same acceptances against shuffled draft probabilities). The comparison
is a geometric mean of paired per-prompt ratios with a log-scale bootstrap; DySpec's greedy tree rests on the
correlation, so it carries it as a precondition, and its trivial control is the plain chain of the same size. The
exactness test is a seeded chi-square test, judged at level 1e-3 with its power as a precondition.

Bars: "strongly correlated" (abstract) is read as Spearman >= 0.7 (the conventional threshold of a strong correlation),
with >= 0.4 (moderate) as partial; "higher ... than fixed trees" is read as >= 5% more tokens per target call than the
best fixed shape of the same size (partial: not lower), at our largest budget.
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

V = "2410.11744v1"

# measured by running the default profile at 1 and at 2 threads, same seeds (see README): the tiny LMs' float32 forwards
# gave identical draws and values
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

PREMISE = Precondition("premise", "a draft token's draft probability predicts its acceptance (Spearman over sampled "
                       "draft tokens >= 0.4, the partial bar of draft-prob-predicts-acceptance): the premise of the "
                       "greedy tree", AtLeast(0.4))  # fmt: skip
USEFUL = Precondition("draft-useful", "the draft is a usable speculative draft for the target: its sampled tokens are "
                      "accepted at a mean rate >= 0.5 (mean of min(1, p/q) over the sampled tokens)",
                      AtLeast(0.5))  # fmt: skip
POWER = Precondition("test-power", "the chi-square test with N_EXACT samples rejects the draft's own distribution with "
                     "probability >= 0.99 at level 1e-3 (noncentral chi-square, exact)", AtLeast(0.99))  # fmt: skip

CLAIMS = [
    Claim("draft-prob-predicts-acceptance", "A draft token's draft probability is strongly correlated with its "
          "acceptance", paper_value="strong correlation", unit="Spearman rho", paper_ref="Abstract; Sec. 3",
          paper_version=V, paper_quote="We begin by bridging the draft distribution and acceptance rate from "
          "intuitive and empirical clues, and successfully show that the two variables are strongly correlated.",
          measures="Spearman correlation between the draft probability q(x) and the exact acceptance min(1, p/q) of "
                   "one draft token x ~ q per random held-out context (tiny-lm-small draft, tiny-lm-large target, "
                   "temperature 1; all seeds pooled), Fisher z interval over tokens",
          rule=AtLeast(0.7, partial=0.4), fidelity="scaled-down", tolerance=TOL, preconditions=(USEFUL,),
          control=Control("placebo", "the same acceptances against the draft probabilities of shuffled tokens: margin "
                          "= rho - rho(placebo), interval from the far ends of the two Fisher z intervals (conservative)")),
    Claim("beats-fixed-trees", "The dynamic tree accepts more tokens per target call than fixed trees of the same size",
          paper_value="higher", unit="block efficiency ratio", paper_ref="Abstract; Sec. 5, comparison with fixed trees",
          paper_version=V, paper_quote="Empirically, DySpec yields a higher acceptance rate and speedup than fixed "
          "trees.",
          measures="geometric mean over prompts (all seeds) of DySpec's block efficiency / the best fixed shape's (chain "
                   "or k-ary tree drawn without replacement, best by mean over the same prompts) at the largest "
                   "budget, tiny-LM pair on held-out prompts; log-scale bootstrap over prompts",
          rule=AtLeast(1.05, partial=1.0), fidelity="scaled-down", tolerance=TOL, preconditions=(PREMISE,),
          control=Control("chain", "a plain draft chain of the same size: paired per-prompt difference of block "
                          "efficiency, DySpec minus chain")),
    Claim("lossless", "DySpec's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 4",
          measures="p-value of a chi-square test of N_EXACT sampled DySpec continuations against the enumerated target "
                   "distribution (n-gram toys: the enumeration needs them; seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
