"""The claims of arXiv:2411.02886 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim, Tolerance

# reproduction tolerance: the recorded run and CI's re-execution both use 1 BLAS thread on the same kind of machine,
# and every computation here is deterministic inference (no training); the floor of two steps of the recorded fourth
# significant digit covers last-digit drift between CPUs. Not measured separately with 2 threads (issue 14 re-runs it).
TOL = Tolerance(rel=0.002, why="deterministic inference recorded at 1 thread as CI runs it; floor 2e-3 for "
                "last-digit drift across CPUs")

CLAIMS = [
    Claim("matches-full", "Attending only a few critical tokens per query (TokenSelect) keeps the quality of full "
          "attention", paper_value="on par with full attention (InfiniteBench, RULER, LongBench)",
          unit="PPL ratio TokenSelect / full cache", paper_ref="Abstract; experiments (InfiniteBench, RULER, LongBench tables)",
          measures="perplexity over tokens read after the budget is exceeded, TokenSelect attending BUDGET past tokens "
                   "(1/8 of DOC_TOKENS) / full cache; over documents",
          rule=AtMost(1.1, partial=1.3), fidelity="scaled-down", kind="noisy", tolerance=TOL),
    Claim("beats-streamingllm", "At the same budget TokenSelect beats StreamingLLM's sinks + recent window",
          paper_value="InfiniteBench avg 49.08 vs 16.07 (Qwen2-7B), unverified copy",
          unit="PPL ratio StreamingLLM / TokenSelect", paper_ref="Experiments, InfiniteBench table",
          measures="perplexity of StreamingLLM (4 sinks + window, BUDGET tokens) / of TokenSelect at the same BUDGET; "
                   "over documents", rule=AtLeast(1.05, partial=1.01), fidelity="scaled-down", kind="noisy", tolerance=TOL),
    Claim("beats-h2o", "At the same budget TokenSelect beats query-agnostic eviction of heavy hitters (H2O)",
          paper_value="superior to state-of-the-art long-context methods", unit="PPL ratio H2O / TokenSelect",
          paper_ref="Abstract",
          measures="perplexity of H2O (accumulated-attention eviction, half recent, cache BUDGET) / of TokenSelect at "
                   "the same BUDGET; over documents", rule=AtLeast(1.05, partial=1.01), fidelity="analogue", kind="noisy", tolerance=TOL),
    Claim("passkey-retrieval", "Token-level selection retrieves a fact planted anywhere in a long context",
          paper_value="Retr.PassKey solved (InfiniteBench)", unit="digit accuracy",
          paper_ref="Experiments, InfiniteBench table (R.PK)",
          measures="teacher-forced accuracy of the 5 passkey digits after 'The pass key is', key planted at depths "
                   "0.1-0.9 of a PASSKEY_FILLER-token KJV filler, TokenSelect at BUDGET; over planted samples",
          rule=AtLeast(0.9, partial=0.6), fidelity="scaled-down", kind="noisy", tolerance=TOL),
    Claim("passkey-beats-streamingllm", "StreamingLLM, which drops the middle of the context, fails at retrieval "
          "where TokenSelect succeeds", paper_value="StreamingLLM performs poorly on R.PK, R.Num, R.KV",
          unit="digit accuracy TokenSelect - StreamingLLM", paper_ref="Experiments, InfiniteBench table",
          measures="per-sample difference of passkey digit accuracy, same budget; over planted samples",
          rule=AtLeast(0.5, partial=0.2), fidelity="scaled-down", kind="noisy", tolerance=TOL),
    Claim("selection-cache-reuse", "Consecutive queries are similar enough that the Selection Cache reuses most "
          "selections", paper_value="selection frequency greatly reduced", unit="share of selections reused",
          paper_ref="Method: Selection Cache",
          measures="share of (layer, query) selections served by the Selection Cache at cosine threshold 0.9 (the "
                   "official code's value), reading each document in one pass; over documents",
          rule=AtLeast(0.5, partial=0.2), fidelity="scaled-down", kind="noisy", tolerance=TOL),
    Claim("selection-cache-quality", "Reusing selections costs little quality", paper_value="negligible loss",
          unit="PPL ratio with / without Selection Cache", paper_ref="Method: Selection Cache; ablations",
          measures="perplexity of TokenSelect with the Selection Cache (threshold 0.9) / without, same BUDGET; over "
                   "documents", rule=AtMost(1.01, partial=1.03), fidelity="scaled-down", kind="noisy", tolerance=TOL),
]  # fmt: skip
