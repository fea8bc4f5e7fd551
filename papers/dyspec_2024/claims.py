"""The claims of "DySpec: Faster Speculative Decoding with Dynamic Token Tree Structure" under test, with their verdict
rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, Claim

CLAIMS = [
    Claim("draft-prob-predicts-acceptance", "A draft token's draft probability is strongly correlated with its "
          "acceptance", paper_value="strong correlation", unit="Spearman rho (binned)", paper_ref="Sec. 3",
          measures="Spearman correlation between the mean draft probability and the mean exact acceptance "
                   "min(1, p/q) over N_BINS equal-count bins of sampled draft tokens; one value per seed",
          rule=AtLeast(0.7, partial=0.4), fidelity="analogue"),
    Claim("beats-fixed-trees", "The dynamic tree accepts more tokens per target call than fixed trees of the same size",
          paper_value="higher", unit="block efficiency ratio", paper_ref="Sec. 5, comparison with fixed trees",
          measures="block efficiency of DySpec / the best fixed shape (chain or k-ary tree drawn without replacement) "
                   "at the largest budget; one value per seed",
          rule=AtLeast(1.05, partial=1.0), fidelity="analogue"),
    Claim("lossless", "DySpec's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 4",
          measures="p-value of a chi-square test of N_EXACT sampled DySpec continuations against the enumerated target "
                   "distribution (power >= 0.99 against the draft's distribution)",
          rule=AtLeast(0.001), fidelity="analogue"),
]  # fmt: skip
