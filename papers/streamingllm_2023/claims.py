"""The claims of arXiv:2309.17453 under test, with their verdict rules: fixed before any run, judged by code after.

Units are documents (the first DOC_TOKENS tokens of one KJV book each). Perplexity ratios are paired per-document
ratios with a bootstrap interval on the log scale; the sink share is a mean over documents, bounded to [0, 1].
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

# the premise of the sink-count claims: window attention without sinks must degrade against 4 sinks + window, else
# every sink count "suffices" and "restores" vacuously. Measured as PPL(0 sinks) / PPL(4 sinks), same total cache.
SINKS_MATTER = Precondition("sinks-matter", "window attention without sinks is worse than with 4 sinks (PPL ratio "
                            ">= 1.2, the partial bar of window-collapse)", AtLeast(1.2))  # fmt: skip

# reproduction tolerance, measured: the default profile at 1 and at 2 threads recorded identical values for every claim
# (and identical intervals), so the floor applies
TOL = Tolerance(
    rel=2e-3,
    why="1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for "
    "last-digit drift across CPUs",
)

CLAIMS = [
    Claim("initial-token-sink", "Layers above the bottom two put a large share of attention on the initial token, "
          "whatever it says", paper_value="most of the attention (Llama-2-7B)", unit="mean attention probability",
          paper_ref="Sec. 3.1, Fig. 2",
          measures="mean attention on token 0 over heads of layers >= 2 and queries 16..ATTN_TOKENS; mean over "
                   "documents, bootstrap interval bounded to [0, 1]",
          rule=AtLeast(0.3, partial=0.15), fidelity="scaled-down", tolerance=TOL),
    Claim("window-collapse", "Window attention breaks once the initial tokens leave the cache",
          paper_value=950.0, unit="PPL ratio window / dense",
          paper_ref="Table 1 (Llama-2-13B: 5158.07 vs 5.43 for sliding window w/ re-computation)",
          measures="PPL of window attention (0 sinks, cache CACHE) / PPL of the dense model, over tokens read after the "
                   "first eviction; geometric mean of per-document ratios",
          rule=AtLeast(2.0, partial=1.2), fidelity="scaled-down", tolerance=TOL,
          control=Control("re-computed window", "a window of CACHE tokens re-computed from scratch reads as much "
                          "context: the margin log PPL(window) - log PPL(re-computation) at the same positions, per "
                          "document, must be > 0, else the short context, not the lost sinks, explains the collapse")),
    Claim("sinks-restore", "Keeping 4 initial tokens plus a window (StreamingLLM) matches the sliding window with "
          "re-computation", paper_value=0.994, unit="PPL ratio StreamingLLM / re-computation",
          paper_ref="Table 1 (Llama-2-13B: 5.40 vs 5.43)",
          measures="PPL of 4 sinks + window / PPL of re-computing the same-size window from scratch, at every "
                   "RECOMPUTE_STRIDE-th token after the first eviction; geometric mean of per-document ratios",
          # "matches" is two-sided: the v1 bars 1.1 / 1.3, mirrored on the log scale (1/1.1, 1/1.3)
          rule=Within(0.91, 1.1, partial=(0.77, 1.3)), fidelity="scaled-down", tolerance=TOL,
          preconditions=(SINKS_MATTER,)),
    Claim("four-sinks-enough", "Four initial tokens suffice: eight do not help further",
          paper_value=1.005, unit="PPL ratio 4 sinks / 8 sinks", paper_ref="Table 2 (Llama-2-7B: 9.59 vs 9.54)",
          measures="PPL with 4 sinks / PPL with 8 sinks at the same total cache; geometric mean of per-document ratios",
          rule=AtMost(1.02, partial=1.05), fidelity="scaled-down", tolerance=TOL, preconditions=(SINKS_MATTER,)),
    Claim("one-sink-not-enough", "A single initial token recovers less than four",
          paper_value=1.24, unit="PPL ratio 1 sink / 4 sinks", paper_ref="Table 2 (Llama-2-7B: 11.88 vs 9.59)",
          measures="PPL with 1 sink / PPL with 4 sinks at the same total cache; geometric mean of per-document ratios",
          rule=AtLeast(1.05, partial=1.01), fidelity="scaled-down", tolerance=TOL, preconditions=(SINKS_MATTER,)),
]  # fmt: skip
