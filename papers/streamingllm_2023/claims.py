"""The claims of arXiv:2309.17453 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("initial-token-sink", "Layers above the bottom two put a large share of attention on the initial token, "
          "whatever it says", paper_value="most of the attention (Llama-2-7B)", unit="mean attention probability",
          paper_ref="Sec. 3.1, Fig. 2",
          measures="mean attention on token 0 over heads of layers >= 2 and queries 16..ATTN_TOKENS; over documents",
          rule=AtLeast(0.3, partial=0.15), fidelity="scaled-down"),
    Claim("window-collapse", "Window attention breaks once the initial tokens leave the cache",
          paper_value=950.0, unit="PPL ratio window / dense",
          paper_ref="Table 1 (Llama-2-13B: 5158.07 vs 5.43 for sliding window w/ re-computation)",
          measures="PPL of window attention (0 sinks, cache CACHE) / PPL of the dense model, over tokens read after the "
                   "first eviction; over documents",
          rule=AtLeast(2.0, partial=1.2), fidelity="scaled-down"),
    Claim("sinks-restore", "Keeping 4 initial tokens plus a window (StreamingLLM) matches the sliding window with "
          "re-computation", paper_value=0.994, unit="PPL ratio StreamingLLM / re-computation",
          paper_ref="Table 1 (Llama-2-13B: 5.40 vs 5.43)",
          measures="PPL of 4 sinks + window / PPL of re-computing the same-size window from scratch, at every "
                   "RECOMPUTE_STRIDE-th token after the first eviction; over documents",
          rule=AtMost(1.1, partial=1.3), fidelity="scaled-down"),
    Claim("four-sinks-enough", "Four initial tokens suffice: eight do not help further",
          paper_value=1.005, unit="PPL ratio 4 sinks / 8 sinks", paper_ref="Table 2 (Llama-2-7B: 9.59 vs 9.54)",
          measures="PPL with 4 sinks / PPL with 8 sinks at the same total cache; over documents",
          rule=AtMost(1.02, partial=1.05), fidelity="scaled-down"),
    Claim("one-sink-not-enough", "A single initial token recovers less than four",
          paper_value=1.24, unit="PPL ratio 1 sink / 4 sinks", paper_ref="Table 2 (Llama-2-7B: 11.88 vs 9.59)",
          measures="PPL with 1 sink / PPL with 4 sinks at the same total cache; over documents",
          rule=AtLeast(1.05, partial=1.01), fidelity="scaled-down"),
]  # fmt: skip
