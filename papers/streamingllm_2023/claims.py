"""The claims of arXiv:2309.17453 under test, with their verdict rules: fixed before any run, judged by code after.

Units are documents (the first DOC_TOKENS tokens of one KJV book each).
Paper values are read from arXiv 2309.17453v4 (the ICLR 2024 text). Issue 14 review: the 5.43 of sliding window with
re-computation is in Fig. 1 (panel c), not in Table 1 (which has no re-computation row: 0+1024 window 5158.07, 4+1020
5.40, 4"\\n"+1020 5.60); the references now say so. 950 (5158 / 5.43) and 0.994 (5.40 / 5.43) are Fig. 1's numbers and
stand; Table 1's own pair gives window / StreamingLLM = 5158.07 / 5.40 = 955. Perplexity ratios are paired per-document
ratios with a bootstrap interval on the log scale; the sink share is a mean over documents, bounded to [0, 1].

Power precondition `enough-documents` of `four-sinks-enough` (issue 14, item 3: stable verdicts): at least MIN_DOCS =
63 documents. Derivation, from the paper's value and the per-document spread of the committed `full` record, not from
the default's outcome: in the `full` record (66 documents of 128 tokens, cache 32; per-document ratios recomputed from
its profile, deterministic, geometric mean 0.983 as recorded) the per-document log ratio 4 sinks / 8 sinks has SD
0.0586; for a ratio of the paper's size (1.005, Table 2) to clear the bar 1.02, the 95% half-width on the log scale must be
at most ln(1.02 / 1.005) = 0.0148, which takes n >= (t_{n-1} x 0.0586 / 0.0148)^2, i.e. 63 documents. With fewer, the
verdict rests on the luck of the document set: the 16-document default moved between document sets (16 other books:
inconclusive 1.005 [0.972, 1.059] -> partially reproduced 0.991 [0.953, 1.023]). The precondition is fixed by the
profile, so it cannot pass by chance: the 60 s default (16 documents) says *inconclusive* on `four-sinks-enough`, and
the `full` profile (66 documents) meets it and decides. The same derivation for `one-sink-not-enough` (paper 1.24 against
its bar 1.05: half-width ln(1.24 / 1.05) = 0.166 at SD 0.0493) asks for 3 documents, so it carries no such
precondition.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

# the premise of the sink-count claims: window attention without sinks must degrade against 4 sinks + window, else
# every sink count "suffices" and "restores" vacuously. Measured as PPL(0 sinks) / PPL(4 sinks), same total cache.
SINKS_MATTER = Precondition("sinks-matter", "window attention without sinks is worse than with 4 sinks (PPL ratio "
                            ">= 1.2, the partial bar of window-collapse)", AtLeast(1.2))  # fmt: skip

MIN_DOCS = 63  # the power precondition of four-sinks-enough (docstring)
ENOUGH_DOCS = Precondition("enough-documents", f"the run has at least {MIN_DOCS} documents, enough for a ratio of the "
                           "paper's size (1.005) to clear the bar 1.02 at the per-document spread of the full record",
                           AtLeast(MIN_DOCS))  # fmt: skip

# reproduction tolerance, measured: the default profile at 1 and at 2 threads recorded identical values for every claim
# (and identical intervals), so the floor applies; measured again for issue 14's default (16 documents of 80 tokens,
# the "\\n"-sink claim included): identical again
TOL = Tolerance(
    rel=2e-3,
    why="1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for "
    "last-digit drift across CPUs",
)

V4 = "2309.17453v4"
FIG1 = ("Fig. 1 (Llama-2-13B, first PG-19 test book, 65K tokens): window attention PPL 5158, sliding window w/ "
        "re-computation PPL 5.43, StreamingLLM PPL 5.40")  # fmt: skip

CLAIMS = [
    Claim("initial-token-sink", "Layers above the bottom two put a large share of attention on the initial token, "
          "whatever it says", paper_value="most of the attention (Llama-2-7B)", unit="mean attention probability",
          paper_ref="Sec. 3.1, Fig. 2 (Llama-2-7B, 256 sentences of 16 tokens)", paper_version=V4,
          paper_quote="Beyond the bottom two layers, the model heavily attends to the initial token across all layers "
                      "and heads.",
          measures="mean attention on token 0 over heads of layers >= 2 and queries 16..ATTN_TOKENS; mean over "
                   "documents, bootstrap interval bounded to [0, 1]",
          rule=AtLeast(0.3, partial=0.15), fidelity="scaled-down", tolerance=TOL),
    Claim("window-collapse", "Window attention breaks once the initial tokens leave the cache",
          paper_value=950.0, unit="PPL ratio window / dense",
          paper_ref=f"{FIG1}: 5158 / 5.43 = 950; Table 1 agrees (0+1024 window 5158.07 vs 4+1020 5.40: 955)",
          paper_version=V4, paper_quote="Fig. 1, panels (b) and (c): PPL: 5158 (window attention), PPL: 5.43 (sliding "
                                        "window w/ re-computation)",
          measures="PPL of window attention (0 sinks, cache CACHE) / PPL of the dense model, over tokens read after the "
                   "first eviction; geometric mean of per-document ratios. Our documents stay inside the training "
                   "length, so the dense model plays the role of the paper's oracle (re-computation, Fig. 1); the "
                   "paper's dense attention fails past 4K tokens (5641 in Fig. 1)",
          rule=AtLeast(2.0, partial=1.2), fidelity="scaled-down", tolerance=TOL,
          control=Control("re-computed window", "a window of CACHE tokens re-computed from scratch reads as much "
                          "context: the margin log PPL(window) - log PPL(re-computation) at the same positions, per "
                          "document, must be > 0, else the short context, not the lost sinks, explains the collapse")),
    Claim("sinks-restore", "Keeping 4 initial tokens plus a window (StreamingLLM) matches the sliding window with "
          "re-computation", paper_value=0.994, unit="PPL ratio StreamingLLM / re-computation",
          paper_ref=f"{FIG1}: 5.40 / 5.43 = 0.994 (Table 1 has no re-computation row; Fig. 3 shows the match on 20K "
                    "tokens for several LLMs without a table)",
          paper_version=V4, paper_quote="Fig. 1, panels (c) and (d): PPL: 5.43 (re-computation), PPL: 5.40 "
                                        "(StreamingLLM)",
          measures="PPL of 4 sinks + window / PPL of re-computing the same-size window from scratch, at every "
                   "RECOMPUTE_STRIDE-th token after the first eviction; geometric mean of per-document ratios",
          # "matches" is two-sided: the v1 bars 1.1 / 1.3, mirrored on the log scale (1/1.1, 1/1.3)
          rule=Within(0.91, 1.1, partial=(0.77, 1.3)), fidelity="scaled-down", tolerance=TOL,
          preconditions=(SINKS_MATTER,)),
    Claim("four-sinks-enough", "Four initial tokens suffice: eight do not help further",
          paper_value=1.005, unit="PPL ratio 4 sinks / 8 sinks",
          paper_ref="Table 2 (Llama-2-7B, 400K tokens of concatenated PG19: 4+4092 9.59 vs 8+4088 9.54)",
          paper_version=V4, paper_quote="Introducing four initial tokens generally suffices; further additions have "
                                        "diminishing returns.",
          measures="PPL with 4 sinks / PPL with 8 sinks at the same total cache; geometric mean of per-document ratios",
          rule=AtMost(1.02, partial=1.05), fidelity="scaled-down", tolerance=TOL,
          preconditions=(SINKS_MATTER, ENOUGH_DOCS)),
    Claim("one-sink-not-enough", "A single initial token recovers less than four",
          paper_value=1.24, unit="PPL ratio 1 sink / 4 sinks",
          paper_ref="Table 2 (Llama-2-7B: 1+4095 11.88 vs 4+4092 9.59; Falcon-7B, MPT-7B and Pythia-12B show no such "
                    "gap: 12.12 vs 12.12, 14.99 vs 14.99, 11.95 vs 12.09)",
          paper_version=V4, paper_quote="Introducing one or two initial tokens doesn't fully restore model perplexity",
          measures="PPL with 1 sink / PPL with 4 sinks at the same total cache; geometric mean of per-document ratios",
          rule=AtLeast(1.05, partial=1.01), fidelity="scaled-down", tolerance=TOL, preconditions=(SINKS_MATTER,)),
    # issue 14: the Table 1 row the review asked for. "Comparable" is two-sided: the band of sinks-restore (the paper's
    # 1.037 lies inside it); the trivial control is window attention (no sinks), which the "\\n" sinks must beat
    Claim("newline-sinks-restore", "Four line-break tokens in place of the initial tokens, kept as the sinks, restore "
          "the perplexity about as well as the original initial tokens: the sinks' position, not their meaning, "
          "matters", paper_value=1.037, unit='PPL ratio 4 "\\n" sinks / 4 initial tokens',
          paper_ref='Sec. 3.1, Table 1 (Llama-2-13B, first PG-19 test book, 65K tokens): 4"\\n"+1020 5.60 vs 4+1020 '
                    "5.40 = 1.037",
          paper_version=V4, paper_quote='Table 1, Llama-2-13B: 4"\\n"+1020 5.60',
          measures='PPL with the first 4 tokens replaced by "\\n" and kept as the sinks (+ CACHE - 4 recent) / PPL with '
                   "the original first 4 tokens as the sinks, same cache, same scored tokens and positions (after the "
                   "first eviction); geometric mean of per-document ratios",
          rule=Within(0.91, 1.1, partial=(0.77, 1.3)), fidelity="scaled-down", tolerance=TOL,
          preconditions=(SINKS_MATTER,),
          control=Control("window attention", 'no sinks at all: the margin log PPL(0 sinks) - log PPL(4 "\\n" sinks) '
                          "over the same tokens, per document, must be > 0, else the line breaks do not act as "
                          "sinks and \"comparable\" only means that no sink matters")),
]  # fmt: skip
