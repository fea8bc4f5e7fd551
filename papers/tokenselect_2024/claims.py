"""The claims of arXiv:2411.02886 under test, with their verdict rules: fixed before any run, judged by code after.

Units: documents (the first DOC_TOKENS tokens of one KJV book each) for perplexity and the Selection Cache, planted
prompts for the passkey. Perplexity ratios are paired per-document ratios with a bootstrap interval on the log scale;
shares are bootstrapped means bounded to [0, 1]; passkey successes (all 5 digits recalled) are Wilson proportions.

Power precondition `enough-documents` of `selection-cache-quality` (issue 14, item 3: stable verdicts): at least
MIN_DOCS = 12 documents. Derivation, from the paper's value and the per-document spread of the committed `full` record,
not from the default's outcome: in the `full` record (12 documents of 256 tokens, budget 32; per-document ratios
recomputed from its profile, deterministic, geometric mean 1.004 as recorded) the per-document log ratio with / without
the Selection Cache has SD 0.0153; for a cost of the paper's size ("negligible": a ratio of 1.0) to clear the bar 1.01, the
95% half-width on the log scale must be at most ln 1.01 = 0.00995, which takes n >= (t_{n-1} x 0.0153 / 0.00995)^2, i.e.
12 documents. With fewer, the verdict rests on the luck of the document set: the 6-document default moved between
document sets (seed 1, six other books: inconclusive 1.009 [0.988, 1.039] -> partially reproduced 1.014 [1.005,
1.021]). The precondition is fixed by the profile, so it cannot pass by chance: the 60 s default (6 documents) says
*inconclusive* on `selection-cache-quality`, and the `full` profile (12 documents) meets it and decides. The same
derivation for the other document-level ratios asks for fewer documents than the default has (`matches-full`: the
paper's "without sacrificing accuracy", a ratio of 1.0, inside the band [0.91, 1.1] needs a half-width of ln(1 / 0.91)
= 0.094, at SD 0.040: 4 documents; `beats-streamingllm` and `beats-h2o` claim no number), so they carry no such
precondition.

Second power pass (session 13, before the runs it judges). The 6-document default moved `matches-full` between
*inconclusive* and *partially reproduced* across document sets (1.25 [1.19, 1.33] on Ge, Exo, Psa, Isa, Mat, Luke;
1.19 [1.12, 1.27] on Num, Deu, Job, Jer, John, Acts): with 16 past tokens (8 selected) its per-document log ratio has
SD about 0.08 and its estimate sits near the 1.3 edge. Redesign for units, not a new bar: the default reads 20
documents of 128 tokens from 20 books none of the earlier runs or the sizing pilot used (a half-width of about
t_19 x 0.08 / sqrt(20) = 0.037 on the log scale instead of 0.084). MIN_DOCS was derived at the `full` record's
document length (256 tokens); documents half as long spread the per-document ratio about twice as wide (SD 0.08
against 0.04 for `matches-full`), so 12 of them would not give the power the derivation promises. The precondition
therefore also asks for documents of at least MIN_DOC_TOKENS = 256 tokens (`long-enough-documents`), and the default
keeps saying *inconclusive* on `selection-cache-quality` by design; the `full` profile (12 documents of 256 tokens)
meets both and decides.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

# reproduction tolerance, measured: the default profile at 1 and at 2 threads (same seeds) recorded identical values
# (4 significant digits) for every claim; one interval bound (beats-h2o's lower) moved 1e-3 relative. So the floor
TOL = Tolerance(
    rel=2e-3,
    why="1 vs 2 threads: identical recorded values for every claim (one interval bound moved 1e-3 relative); "
    "floor 2e-3 for last-digit drift across CPUs",
)

# the cheapest explanation of TokenSelect's gain over StreamingLLM and H2O: reading any tokens outside the window, not
# the query-critical ones. RandomSelect keeps TokenSelect's budget, sinks and recent window and draws the rest at
# random; margin = log PPL(RandomSelect) - log PPL(TokenSelect) per document (> 0: the criticality vote matters)
RANDOM_SELECT = Control(
    "random selection",
    "the same budget, 4 sinks and recent window as TokenSelect with the other "
    "tokens drawn at random for every query and layer; TokenSelect must beat it (per-document "
    "log-PPL margin > 0)",
)
MIN_DOCS = 12  # the power precondition of selection-cache-quality (docstring)
ENOUGH_DOCS = Precondition(
    "enough-documents",
    f"the run has at least {MIN_DOCS} documents, enough for a cost of the paper's "
    "size (none: ratio 1.0) to clear the bar 1.01 at the per-document spread of the full record",
    AtLeast(MIN_DOCS),
)
MIN_DOC_TOKENS = 256  # the document length at which MIN_DOCS was derived (docstring)
LONG_ENOUGH_DOCS = Precondition(
    "long-enough-documents",
    f"documents of at least {MIN_DOC_TOKENS} tokens, the length at which the {MIN_DOCS}-document minimum was derived "
    "(shorter documents spread the per-document ratio wider)",
    AtLeast(MIN_DOC_TOKENS),
)
# the passkey claims mean something only if the full-cache model itself recalls the key
FULL_RECALLS = Precondition(
    "full-cache-recalls",
    "the full-cache model recalls the planted passkey (share of prompts "
    "with all 5 digits right, Wilson interval, >= 0.6)",
    AtLeast(0.6),
)

# the abstract of arXiv:2411.02886v4, verbatim (the experiments' tables could not be read offline: the other claims
# carry the paper's statement as described, and the v1 references, until a later issue checks them)
ABSTRACT_ACCURACY = (
    "By per-head soft voting mechanism, TokenSelect selectively involves a few critical KV cache tokens "
    "in attention calculation without sacrificing accuracy."
)
ABSTRACT_SUPERIOR = (
    "...while providing superior performance compared to state-of-the-art long-context inference methods."
)

CLAIMS = [
    Claim("matches-full", "Attending only a few critical tokens per query (TokenSelect) keeps the quality of full "
          "attention", paper_value="on par with full attention (InfiniteBench, RULER, LongBench)",
          unit="PPL ratio TokenSelect / full cache", paper_ref="Abstract; experiments (InfiniteBench, RULER, LongBench tables)",
          measures="perplexity over tokens read after the budget is exceeded, TokenSelect attending BUDGET past tokens "
                   "(1/8 of DOC_TOKENS) / full cache; geometric mean of per-document ratios",
          # "on par" is two-sided: the v1 bars 1.1 / 1.3, mirrored on the log scale (1/1.1, 1/1.3)
          rule=Within(0.91, 1.1, partial=(0.77, 1.3)), fidelity="scaled-down", tolerance=TOL,
          paper_version="2411.02886v4", paper_quote=ABSTRACT_ACCURACY),
    Claim("beats-streamingllm", "At the same budget TokenSelect beats StreamingLLM's sinks + recent window",
          # the InfiniteBench averages seen in a third-party copy (49.08 vs 16.07, Qwen2-7B) could not be checked against
          # the paper's table (only its abstract was readable offline), so no number is claimed: the abstract's statement
          paper_value="superior to state-of-the-art long-context inference methods (StreamingLLM among the baselines)",
          unit="PPL ratio StreamingLLM / TokenSelect", paper_ref="Abstract; experiments (InfiniteBench table, not checked)",
          measures="perplexity of StreamingLLM (4 sinks + window, BUDGET tokens) / of TokenSelect at the same BUDGET; "
                   "geometric mean of per-document ratios", rule=AtLeast(1.05, partial=1.01), fidelity="scaled-down",
          tolerance=TOL, control=RANDOM_SELECT, paper_version="2411.02886v4", paper_quote=ABSTRACT_SUPERIOR),
    Claim("beats-h2o", "At the same budget TokenSelect beats query-agnostic eviction of heavy hitters (H2O)",
          paper_value="superior to state-of-the-art long-context methods", unit="PPL ratio H2O / TokenSelect",
          paper_ref="Abstract",
          measures="perplexity of H2O (accumulated-attention eviction, half recent, cache BUDGET) / of TokenSelect at "
                   "the same BUDGET; geometric mean of per-document ratios", rule=AtLeast(1.05, partial=1.01),
          fidelity="analogue", tolerance=TOL, control=RANDOM_SELECT, paper_version="2411.02886v4",
          paper_quote=ABSTRACT_SUPERIOR),
    Claim("passkey-retrieval", "Token-level selection retrieves a fact planted anywhere in a long context",
          paper_value="Retr.PassKey solved (InfiniteBench)", unit="share of prompts recalled",
          paper_ref="Experiments, InfiniteBench table (R.PK)",
          measures="share of prompts whose 5 passkey digits after 'The pass key is' are all the top token (teacher "
                   "forced), key planted at depth (i + 0.5) / N_PASSKEY of a PASSKEY_FILLER-token KJV filler in prompt "
                   "i, TokenSelect at BUDGET; Wilson interval over the N_PASSKEY prompts",
          rule=AtLeast(0.9, partial=0.6), fidelity="scaled-down", tolerance=TOL, preconditions=(FULL_RECALLS,)),
    Claim("passkey-beats-streamingllm", "StreamingLLM, which drops the middle of the context, fails at retrieval "
          "where TokenSelect succeeds", paper_value="StreamingLLM performs poorly on R.PK, R.Num, R.KV",
          unit="share of prompts TokenSelect recalls and StreamingLLM misses", paper_ref="Experiments, InfiniteBench table",
          measures="share of prompts whose 5 digits TokenSelect recalls and StreamingLLM does not, same budget; Wilson "
                   "interval over prompts", rule=AtLeast(0.5, partial=0.2), fidelity="scaled-down", tolerance=TOL,
          preconditions=(FULL_RECALLS,)),
    Claim("selection-cache-reuse", "Consecutive queries are similar enough that the Selection Cache reuses most "
          "selections", paper_value="selection frequency greatly reduced", unit="share of selections reused",
          paper_ref="Method: Selection Cache",
          measures="share of (layer, query) selections served by the Selection Cache at cosine threshold 0.9 (the "
                   "official code's value), reading each document in one pass; mean over documents, bootstrap "
                   "interval bounded to [0, 1]",
          rule=AtLeast(0.5, partial=0.2), fidelity="scaled-down", tolerance=TOL),
    Claim("selection-cache-quality", "Reusing selections costs little quality", paper_value="negligible loss",
          unit="PPL ratio with / without Selection Cache", paper_ref="Method: Selection Cache; ablations",
          measures="perplexity of TokenSelect with the Selection Cache (threshold 0.9) / without, same BUDGET; "
                   "geometric mean of per-document ratios", rule=AtMost(1.01, partial=1.03), fidelity="scaled-down",
          tolerance=TOL, preconditions=(ENOUGH_DOCS, LONG_ENOUGH_DOCS)),
]  # fmt: skip
