"""The claims of "SpecTr: Fast Speculative Decoding via Optimal Transport" under test, with their verdict rules: fixed
before any run, judged by code after."""

from shared.claims import AtLeast, Claim

CLAIMS = [
    Claim("kseq-near-optimal", "K-SEQ draft selection is (1-1/e)-optimal: its acceptance probability is at least "
          "1-1/e times that of the optimal transport plan", paper_value=0.632, unit="acceptance / LP optimum",
          paper_ref="Sec. 4 (k-sequential selection, approximation guarantee)",
          measures="minimum over node pairs (p, q) and k in KS (k >= 2) of K-SEQ's exact acceptance divided by the "
                   "linear-programming optimum",
          rule=AtLeast(0.632), fidelity="analogue"),
    Claim("kseq-beats-single-draft", "With k drafts, K-SEQ accepts more often than single-draft speculative sampling",
          paper_value="higher acceptance", unit="acceptance ratio", paper_ref="Sec. 4-5",
          measures="mean over node pairs of K-SEQ acceptance at the largest k in KS / single-draft acceptance; "
                   "one value per seed (model pair)",
          rule=AtLeast(1.05, partial=1.0), fidelity="analogue"),
    Claim("block-efficiency-gain", "SpecTr with k drafts speeds decoding up beyond single-draft speculative decoding "
          "(the paper: a further 1.37x in wall clock)", paper_value=1.37, unit="x block efficiency",
          paper_ref="Abstract; Sec. 6 (experiments)",
          measures="block efficiency (tokens per target call) of SpecTr with max(GEN_KS) drafts / with 1 draft, same "
                   "draft length; one value per seed",
          rule=AtLeast(1.1, partial=1.0), fidelity="analogue"),
    Claim("lossless", "SpecTr's output follows the target distribution exactly (no quality degradation)",
          paper_value="exact", unit="chi-square p-value", paper_ref="Sec. 5 (SpecTr is a valid sampler)",
          measures="p-value of a chi-square test of N_EXACT sampled SpecTr continuations against the enumerated target "
                   "distribution (power >= 0.99 against the draft's distribution, checked in the notebook)",
          rule=AtLeast(0.001), fidelity="analogue"),
]  # fmt: skip
