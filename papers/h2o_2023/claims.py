"""The claims of arXiv:2306.14048 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("heavy-hitters", "A small set of tokens (heavy hitters) collects most of the accumulated attention",
          paper_value="power law; attention > 95% sparse (OPT)", unit="share of accumulated attention",
          paper_ref="Sec. 3.1, Fig. 2",
          measures="share of all attention collected by the top 20% of keys by accumulated attention, mean over "
                   "layers and heads (uniform causal attention would give about 0.52); over documents",
          rule=AtLeast(0.8, partial=0.65), fidelity="scaled-down"),
    Claim("h2o-matches-full", "H2O with a 20% KV budget (half heavy hitters, half recent) keeps the full cache's "
          "quality", paper_value="on par with the full cache", unit="PPL ratio H2O / full cache",
          paper_ref="Sec. 5.1, Fig. 4, Table 1",
          measures="streaming perplexity with a 20% cache / with the full cache, over tokens read after the first "
                   "eviction; over documents",
          rule=AtMost(1.1, partial=1.3), fidelity="scaled-down"),
    Claim("h2o-beats-local", "At the same budget, keeping only recent tokens (local window) is much worse than H2O",
          paper_value="local collapses at 20%", unit="PPL ratio local / H2O", paper_ref="Sec. 5.1, Fig. 4",
          measures="streaming perplexity of the local window / of H2O, same 20% cache; over documents",
          rule=AtLeast(1.2, partial=1.05), fidelity="scaled-down"),
    Claim("heavy-hitters-matter", "The heavy hitters carry the quality: replacing them with other tokens degrades it",
          paper_value="significant degradation", unit="PPL ratio random+recent / H2O", paper_ref="Sec. 3.2",
          measures="streaming perplexity with random tokens in place of the heavy hitters (same recent window) / of "
                   "H2O, same 20% cache; over documents",
          rule=AtLeast(1.1, partial=1.02), fidelity="scaled-down"),
]  # fmt: skip
