"""The claims of "SpecTr: Fast Speculative Decoding via Optimal Transport" under test, with their verdict rules: fixed
before any run, judged by code after.

Acceptances on the toy n-gram pairs are enumerated, so the (1-1/e) guarantee is checked exactly (`kind="exact"`: a
minimum over a fixed set of node pairs). The acceptance gain and the block-efficiency gain are estimates over random
node pairs and sampled generations: geometric means of paired per-unit ratios with a log-scale bootstrap interval
(units: distinct node pairs; prompts). The exactness test is a seeded chi-square test, deterministic on every machine,
judged at level 1e-3 with its power against the draft's distribution as a precondition.
"""

from shared.claims import AtLeast, Claim, Precondition, Tolerance

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

POWER = Precondition("test-power", "the chi-square test with N_EXACT samples rejects the draft's own distribution with "
                     "probability >= 0.99 at level 1e-3 (noncentral chi-square, exact)", AtLeast(0.99))  # fmt: skip

CLAIMS = [
    Claim("kseq-near-optimal", "K-SEQ draft selection is (1-1/e)-optimal: its acceptance probability is at least "
          "1-1/e times that of the optimal transport plan", paper_value=0.632, unit="acceptance / LP optimum",
          paper_ref="Sec. 4 (k-sequential selection, approximation guarantee)",
          measures="minimum over node pairs (p, q) and k in KS (k >= 2) of K-SEQ's exact acceptance divided by the "
                   "linear-programming optimum (a worst case over a fixed set)",
          rule=AtLeast(0.632), fidelity="analogue", kind="exact", tolerance=TOL),
    Claim("kseq-beats-single-draft", "With k drafts, K-SEQ accepts more often than single-draft speculative sampling",
          paper_value="higher acceptance", unit="acceptance ratio", paper_ref="Sec. 4-5",
          measures="geometric mean over distinct node pairs (all seeds) of K-SEQ's exact acceptance at the largest k "
                   "in KS / single-draft acceptance; log-scale bootstrap over node pairs",
          rule=AtLeast(1.05, partial=1.0), fidelity="analogue", tolerance=TOL),
    Claim("block-efficiency-gain", "SpecTr with k drafts speeds decoding up beyond single-draft speculative decoding "
          "(the paper: a further 1.37x in wall clock)", paper_value=1.37, unit="x block efficiency",
          paper_ref="Abstract; Sec. 6 (experiments)",
          measures="geometric mean over prompts (all seeds) of block efficiency (tokens per target call) of SpecTr "
                   "with max(GEN_KS) drafts / with 1 draft, same prompt, draft length and sampler seed; log-scale "
                   "bootstrap over prompts",
          rule=AtLeast(1.1, partial=1.0), fidelity="analogue", tolerance=TOL),
    Claim("lossless", "SpecTr's output follows the target distribution exactly (no quality degradation)",
          paper_value="exact", unit="chi-square p-value", paper_ref="Sec. 5 (SpecTr is a valid sampler)",
          measures="p-value of a chi-square test of N_EXACT sampled SpecTr continuations against the enumerated target "
                   "distribution (seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
