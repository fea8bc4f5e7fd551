"""The claims of arXiv:2306.14048 under test, with their verdict rules: fixed before any run, judged by code after.

Units are documents (the first DOC_TOKENS tokens of one KJV book each, streamed token by token; for the sparsity claim
the first SPARSITY_TOKENS tokens of the first SPARSITY_DOCS books, one forward pass each). Perplexity ratios are paired
per-document ratios with a bootstrap interval on the log scale; the share of sparse layers is a mean over documents,
bounded to [0, 1].

Paper values are quoted from arXiv:2306.14048v3. `heavy-hitters` (issue 14 redesign) uses the paper's own statistic:
Sec. 3.1 sets "the threshold as one percent of the maximum value in each row" of Softmax(QK^T) and reports the attention
matrices "highly sparse, with a sparsity over 95% in almost all layers" (Fig. 2(a), OPT on WikiText-103; the
introduction: "over 95% sparse at inference time"). The threshold 0.95 is the paper's; reading "almost all layers" as
at least 90% of the layers (27 of SmolLM2's 30) is ours, and so is the partial bar (half of the layers: "most").
"""

from shared.claims import AtLeast, Claim, Control, Tolerance, Within

# reproduction tolerance, measured: the default profile at 1 and at 2 threads recorded identical values for every claim
# (one interval bound moved by 3e-4 relative), so the floor applies
TOL = Tolerance(
    rel=2e-3,
    why="1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for "
    "last-digit drift across CPUs",
)

# the cheapest policy that could explain H2O's gain away: the first 4 tokens (attention sinks) plus random others plus
# the same recent window, at the same budget; margin = log PPL(control) - log PPL(H2O) per document (> 0: H2O better)
SINK_RANDOM = Control(
    "sink-protected random eviction",
    "random eviction at the same budget that keeps the first 4 "
    "tokens and the same recent window as H2O; H2O must beat it (per-document log-PPL margin > 0)",
)

CLAIMS = [
    Claim("heavy-hitters", "Attention in the pretrained LLM is sparse, the premise of heavy hitters: over 95% of the "
          "attention scores fall below 1% of their row's maximum, in almost all layers",
          paper_value="sparsity > 95% in almost all layers (OPT, WikiText-103)", unit="share of layers > 95% sparse",
          paper_ref="arXiv:2306.14048v3, Sec. 3.1 (Observation), Sec. 1, Fig. 2(a)",
          measures="per document, each layer's sparsity: the share of its causal attention scores (all heads) below "
                   "1% of their row's maximum (the paper's definition; the masked upper triangle is not counted); "
                   "the share of layers over 0.95, mean over documents, bootstrap interval bounded to [0, 1]",
          # 0.95 is the paper's; "almost all layers" read as >= 90% of them, partial = most (half): ours
          rule=AtLeast(0.9, partial=0.5), fidelity="scaled-down", tolerance=TOL),
    Claim("h2o-matches-full", "H2O with a 20% KV budget (half heavy hitters, half recent) keeps the full cache's "
          "quality", paper_value="on par with the full cache", unit="PPL ratio H2O / full cache",
          paper_ref="Sec. 5.1, Fig. 4, Table 1",
          measures="streaming perplexity with a 20% cache / with the full cache, over tokens read after the first "
                   "eviction; geometric mean of per-document ratios",
          # "on par" is two-sided: the v1 bars 1.1 / 1.3, mirrored on the log scale (1/1.1, 1/1.3)
          rule=Within(0.91, 1.1, partial=(0.77, 1.3)), fidelity="scaled-down", tolerance=TOL),
    Claim("h2o-beats-local", "At the same budget, keeping only recent tokens (local window) is much worse than H2O",
          paper_value="local collapses at 20%", unit="PPL ratio local / H2O", paper_ref="Sec. 5.1, Fig. 4",
          measures="streaming perplexity of the local window / of H2O, same 20% cache; geometric mean of "
                   "per-document ratios",
          rule=AtLeast(1.2, partial=1.05), fidelity="scaled-down", tolerance=TOL, control=SINK_RANDOM),
    Claim("heavy-hitters-matter", "The heavy hitters carry the quality: replacing them with other tokens degrades it",
          paper_value="significant degradation", unit="PPL ratio random+recent / H2O", paper_ref="Sec. 3.2",
          measures="streaming perplexity with random tokens in place of the heavy hitters (same recent window) / of "
                   "H2O, same 20% cache; geometric mean of per-document ratios",
          rule=AtLeast(1.1, partial=1.02), fidelity="scaled-down", tolerance=TOL, control=SINK_RANDOM),
]  # fmt: skip
