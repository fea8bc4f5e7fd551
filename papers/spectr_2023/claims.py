"""The claims of "SpecTr: Fast Speculative Decoding via Optimal Transport" under test, with their verdict rules: fixed
before any run, judged by code after.

Acceptances on the toy n-gram pairs are enumerated, so the (1-1/e) guarantee is checked exactly (`kind="exact"`: a
minimum over a fixed set of node pairs, against the linear-programming optimum). The acceptance gain and the
block-efficiency gain are measured on the zoo's real pair (tiny-lm-small drafting for tiny-lm-large) over held-out
text (issue 14): geometric means of paired per-unit ratios with a log-scale bootstrap interval (units: held-out
windows; prompts), each with a precondition that the pair leaves room for the effect, and the block-efficiency gain
with a trivial control. The exactness test is a seeded chi-square test, deterministic on every machine, judged at
level 1e-3 with its power against the draft's distribution as a precondition.

Paper: arXiv:2310.15141 (the abstract as listed there; the arXiv version was not checked offline).
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance, Within

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

# the real-pair claims (tiny LMs in fp32): the default profile at 1 and at 2 threads, same seeds, gave the same
# per-window acceptance table to 4 digits; the 2-thread generation did not finish (10x slower on the shared machine),
# and a last-digit change of a probability flips a sampled token only when a uniform falls within ~1e-7 of a boundary
TOL_REAL = Tolerance(rel=2e-3, why="1 vs 2 threads: acceptances identical to 4 digits; generations not compared "
                     "(2 threads too slow here); floor 2e-3 for last-digit drift across CPUs")

PAPER = "2310.15141 (abstract; version not checked offline)"

INFORMATIVE = Precondition("draft-informative", "on the real pair, the mean single-draft acceptance over held-out "
                           "windows lies in [0.2, 0.95]: the draft predicts the target (else no draft rule can gain) "
                           "but not perfectly (else extra drafts have nothing to add)", Within(0.2, 0.95))
ROOM = Precondition("room-to-gain", "single-draft speculative decoding on the real pair gives a mean block efficiency in "
                    "[1.2, 4.5] tokens per target call (the cap is DRAFT_LEN + 1 = 5): drafts help, and not so much "
                    "that no further gain fits", Within(1.2, 4.5))
FIRST_OF_K = Control("first-of-k", "the draft samples the same max(GEN_KS) sequences, but only the first is verified "
                     "(single-draft rule): the same draft work and sampler, none of the extra drafts used")

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
          paper_value="higher acceptance", unit="acceptance ratio", paper_ref="Abstract; Sec. 4 (k candidates)",
          paper_version=PAPER,
          paper_quote="This new formulation enables us to generalize the speculative decoding method to allow for a set "
                      "of k candidates at the token-level, which leads to an improved optimal membership cost.",
          measures="real pair (tiny-lm-small -> tiny-lm-large, temperature 1): geometric mean over held-out windows of "
                   "the window's mean exact K-SEQ acceptance with NODE_K i.i.d. drafts / its mean single-draft "
                   "acceptance (maximal coupling); log-scale bootstrap over windows",
          notes=("bar: the paper gives no number for the acceptance gain; any k > 1 must raise acceptance, and 1.05 "
                 "(5%) asks for a gain larger than the last-digit noise of a ratio near 1",),
          rule=AtLeast(1.05, partial=1.0), fidelity="scaled-down", tolerance=TOL_REAL, preconditions=(INFORMATIVE,)),
    Claim("block-efficiency-gain", "SpecTr with k drafts speeds decoding up beyond single-draft speculative decoding "
          "(the paper: a further 1.37x in wall clock)", paper_value=1.37, unit="x block efficiency",
          paper_ref="Abstract; Sec. 6 (experiments)", paper_version=PAPER,
          paper_quote="We experimentally demonstrate that for state-of-the-art large language models, the proposed "
                      "approach achieves a wall clock speedup of 2.13X, a further 1.37X speedup over speculative "
                      "decoding on standard benchmarks.",
          measures="real pair (tiny-lm-small -> tiny-lm-large, temperature 1): geometric mean over held-out prompts of "
                   "block efficiency (tokens per target call) of SpecTr with max(GEN_KS) drafts / with 1 draft, same "
                   "prompt, draft length and sampler seed; log-scale bootstrap over prompts",
          notes=("bar: on an accelerator a k-draft tree costs one target call like a chain, so the paper's 1.37x wall "
                 "clock implies a block-efficiency gain of at least 1.37x at its (k, L); at our L = 4 a call yields at "
                 "most 5 tokens and one draft already gives the tiny pair about 2.8 (a pilot of 6 prompts, seeds "
                 "outside the recorded runs), so at most ~1.8x is possible; reproduced asks for 1.1 (a quarter of the "
                 "paper's further 37%), partial for any gain",),
          rule=AtLeast(1.1, partial=1.0), fidelity="scaled-down", tolerance=TOL_REAL, preconditions=(ROOM,),
          control=FIRST_OF_K),
    Claim("lossless", "SpecTr's output follows the target distribution exactly (no quality degradation)",
          paper_value="exact", unit="chi-square p-value", paper_ref="Sec. 5 (SpecTr is a valid sampler)",
          measures="p-value of a chi-square test of N_EXACT sampled SpecTr continuations against the enumerated target "
                   "distribution (seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
