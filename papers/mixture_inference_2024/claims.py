"""The claims of arXiv:2407.16607 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, Claim, Precondition, RelativeTo, Tolerance

# reproduction tolerances, measured: the default profile re-run at 1 and 2 threads recorded identical values (BPE
# training, pair counts, the LP and the seeded bootstrap do not depend on the thread count), so the floors apply.
# The issue-14 redesign changes sizes and the number of mixtures, not the code path, so the measurement carries over.
_WHY = "1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for last-digit drift across CPUs"
TOL = Tolerance(rel=0.002, why=_WHY)
TOL_ZERO = Tolerance(
    rel=0.002,
    abs=2e-4,
    why="1 vs 2 threads: identical (0); the value is 0, so an absolute floor of "
    "2e-4 (two steps of the fourth decimal of a share)",
)

# The bars of the controlled recovery, from the paper's numbers and our scale-down.
# Paper (Sec. 4, Tab. 1; the numbers were checked in the output of the authors' notebooks/experimental_results.ipynb,
# github.com/alisawuffles/tokenizer-attack, as the paper's PDF table was not readable offline): mean
# log10 MSE of the attack -7.66 for 10 natural languages, -6.30 for 10 programming languages, -3.41 for 5 English
# domains, against -1.84 (n = 10) and -1.39 (n = 5) for a random Dirichlet guess: log10 gains of 5.8, 4.5 and 2.0.
# Ours is a 10-category mix of 9 languages and Python code at 1/100 to 1/30 of the paper's 30,000 merges, with
# categories from one domain (software help), so precision can only drop: the full bar is the paper's weakest setting
# (2.0 = 100x, its domains), not its 5.8 for languages; the partial bar is one order of magnitude (10x better than a
# random guess: the attack still clearly reads the mixture from the merge list, at a precision the paper never reports).
CONTROLLED_BAR, CONTROLLED_PARTIAL = 2.0, 1.0

# the positive control of the real-tokenizer claims: the attack must recover planted mixtures in our setup at the
# precision the paper reports for its controlled experiments (at least 100x lower MSE than a random guess); the
# paper's Sec. 5 inferences rest on that precision. It is measured by `controlled-recovery`.
RECOVERS = Precondition(
    "planted-mixture-recovered",
    "the LP recovers planted mixtures (BPE trained on known Dirichlet mixtures of the same 10 categories) at least "
    "100x better than a random guess",
    AtLeast(CONTROLLED_BAR),
)

# The three real-tokenizer claims are analogues: the paper solves over 112 languages, 37 programming languages and 5
# English web domains with web-text samples; we have 10 categories from LibreOffice help pages and CPython, so a share
# here is a share of this menu, not of the tokenizer's training data. Their bars:
# - gpt4o-more-multilingual: the paper gives 39% non-English for o200k (abstract; 0.3904 in the authors'
#   notebooks/figures.ipynb) and calls it "much more multilingual than its predecessors", without a number for cl100k
#   that we could check; we judge the comparison, o200k - cl100k, read "much more" as at least 10 points of share
#   (a quarter of the 39%), and "not more" (a difference below 0) as not reproduced;
# - cl100k-code-heavy: "~60%" code (abstract), within 25% relative (0.45-0.75) reproduced, within 50% partially;
# - gpt2-mostly-english: "mostly" read as a majority: at least 0.5 partially, at least 0.7 reproduced.
CLAIMS = [
    Claim("controlled-recovery",
          "For BPE tokenizers trained on known mixtures, the LP over the merge list recovers the mixture with high "
          "precision (log10 MSE gains over a random guess of 2.0 for 5 English domains to 5.8 for 10 languages)",
          paper_value=2.0, unit="log10(MSE of random guess / MSE of LP)",
          paper_ref="Sec. 4, Tab. 1 (log10 MSE -7.66 languages, -6.30 code at n = 10; -3.41 domains at n = 5; "
                    "random guess -1.84 / -1.39; checked in the authors' experimental_results notebook)",
          measures="per planted mixture (the unit: a Dirichlet(1) mixture of our 10 categories, a byte-level BPE "
                   "trained on it, held-out samples), log10 of the mean squared error of a uniform-Dirichlet random "
                   "guess over that of the LP estimate from the first MERGES merges; mean over mixtures, BCa bootstrap "
                   "over mixtures; the paper value is its weakest setting (domains)",
          rule=AtLeast(CONTROLLED_BAR, partial=CONTROLLED_PARTIAL), fidelity="scaled-down", kind="noisy",
          tolerance=TOL),
    Claim("gpt4o-more-multilingual",
          "GPT-4o's tokenizer (o200k) is much more multilingual than its predecessor GPT-3.5's (cl100k); the paper "
          "infers 39% non-English for o200k",
          paper_value="o200k 0.39 non-English; cl100k lower (no number checked)",
          unit="difference of inferred non-English shares, o200k minus cl100k (8 languages of our 10 categories)",
          paper_ref="abstract; Sec. 5, Fig. 1",
          measures="inferred share of our 8 non-English languages for o200k minus that for cl100k (tiktoken rank "
                   "files, first MERGES_REAL merges, the same seeded samples); one deterministic LP solve each, "
                   "judged as a point; the paper's 39% is not comparable to a share of our 10-category menu",
          rule=AtLeast(0.10, partial=0.0), fidelity="analogue", kind="exact", tolerance=TOL,
          preconditions=(RECOVERS,)),
    Claim("cl100k-code-heavy",
          "GPT-3.5's tokenizer (cl100k) is trained on predominantly code (~60%)",
          paper_value=0.60, unit="inferred code share (Python, one of our 10 categories)",
          paper_ref="abstract; Sec. 5, Fig. 1",
          measures="inferred share of the code category (CPython stdlib) for cl100k among our 10 categories; one "
                   "deterministic LP solve on fixed seeded samples, judged as a point",
          rule=RelativeTo(0.60, tol=0.25, partial_tol=0.5), fidelity="analogue", kind="exact", tolerance=TOL,
          preconditions=(RECOVERS,)),
    Claim("gpt2-mostly-english",
          "GPT-2's tokenizer (trained on WebText, filtered to English) is inferred to be mostly English",
          paper_value="mostly English (no number checked)", unit="inferred English share (one of our 10 categories)",
          paper_ref="Sec. 5, Fig. 1",
          measures="inferred share of the English category (LibreOffice help) for r50k (GPT-2) among our 10 "
                   "categories; one deterministic LP solve on fixed seeded samples, judged as a point",
          rule=AtLeast(0.7, partial=0.5), fidelity="analogue", kind="exact", tolerance=TOL_ZERO,
          preconditions=(RECOVERS,)),
]  # fmt: skip
