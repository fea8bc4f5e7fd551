"""The claims of arXiv:2507.12466 (BETR, Mizrahi, Larsen, Allardice, Petryk, Gorokhov, Li, Fang, Gardner, Gunter &
Dehghan, 2025) under test, with their verdict rules: fixed before any run, judged by code after.

The version quoted is v1 (16 Jul 2025): its abstract, Sec. 3 (the method), Sec. 5.1 and 5.5 (Fig. 8, Table 4), read
in the ar5iv rendering of v1.

Units: a *group* is one target domain and one seed: one split of the target's chunks into a target sample (the
paper's benchmark training examples: all the selectors see of the target), a held-out evaluation split and the rest
(which stays in the raw pool), and one seed for every classifier, selection, initialisation and batch order trained
on it. Groups are independent; arms are paired within a group.

Power preconditions (session 16, committed before the runs they judge). Three ratio claims sit within a point or two
of their bars, and their verdicts moved under other seeds: in the default (5 groups, seeds 30-34)
`betr-beats-target-classifier` (1.007 -> not reproduced) and `betr-beats-dsir` (0.999 -> 1.010, not reproduced); in
the redesigned full (48 groups, seeds 90-105) `max-beats-mean` (0.988 [0.974, 1.001] inconclusive -> 0.983 [0.966,
0.997] partially). Each claim now needs the number of groups the engine's estimate (`Rule.decide`: n x (half-width /
distance to the nearest straddled bar)^2 x 1.1) gives from the recorded 48-group full:
- `betr-beats-dsir`: 48 x (0.0148 / 0.0199)^2 x 1.1 = 29 groups to decide the bar 1.0 (the full's estimate sits on
  the bar 0.98 itself, which no number of groups decides): the default is inconclusive on it by design, the full
  decides;
- `betr-beats-target-classifier`: 48 x (0.0118 / 0.0073)^2 x 1.1 = 138 groups;
- `max-beats-mean`: 48 x (0.0137 / 0.0075)^2 x 1.1 = 175 groups (nearest bar 0.98);
both beyond the full's 20-minute budget (48 groups take about 8 minutes), so both profiles say inconclusive on those
two by design. Bars, arms and the rest of the design are unchanged.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

VERSION = "2507.12466v1"
QUOTE_ABSTRACT = ("From this, we find that simply aligning pretraining data to evaluation benchmarks using BETR achieves a "
                  "2.1x compute multiplier over DCLM-Baseline (4.7x over unfiltered data) and improves performance on 9 "
                  "out of 10 tasks across all scales.")  # fmt: skip
# a value from models trained in the notebook: chaotic in the last bit across CPUs (papers/README.md, "Reproduction
# tolerance"): one width of the committed interval, plus a 2e-3 relative floor (as in the DSIR, ZIP-FIT and CoLoR-Filter
# replications on the same engine)
TOL = Tolerance(rel=0.002, interval=1.0,
                why="trained in the notebook: another CPU's BLAS redraws each seed's training noise; one interval width "
                    "+ 2e-3 relative floor")  # fmt: skip
# the classifier's AUC: no LM training; measured identical at 1 and 2 threads and on the AVX2 code path (three pilot
# groups), while the embeddings moved in the 7th digit: 0.002 allows a couple of swapped near-ties
AUC_TOL = Tolerance(rel=0.0, abs=0.002,
                    why="AUC identical at 1 vs 2 threads and on the AVX2 path (3 pilot groups); embeddings move in the "
                        "7th digit, 0.002 allows a couple of swapped near-ties")  # fmt: skip

ORACLE = Precondition(
    "oracle-beats-random",
    "the setup can show a selection effect at this token budget: the model trained on k random chunks of the target "
    "domain (the domain oracle) reaches a lower held-out target loss than the one trained on k random chunks of the "
    "whole pool (loss(random) - loss(oracle), paired per group, interval above 0)",
    AtLeast(0.0),
)
SCORES_FIND_TARGET = Precondition(
    "scores-find-target",
    "the embedding scores carry target information: the share of target-domain chunks among the top 10% of the scored "
    "sample exceeds their share in the whole scored sample (paired per group, interval above 0)",
    AtLeast(0.0),
)

GROUPS_DSIR, GROUPS_CLASSIFIER, GROUPS_AGGREGATION = 29, 138, 175  # the power preconditions (module docstring)


def _enough_groups(name: str, n: int, record: str) -> Precondition:
    return Precondition(name, f"at least {n} groups (target domain x seed): the engine's estimate from the recorded "
                        f"48-group full ({record}); fewer leave the verdict to the seed set", AtLeast(n))  # fmt: skip


ENOUGH_DSIR = _enough_groups("enough-groups-dsir", GROUPS_DSIR, "0.980 [0.967, 0.997]")
ENOUGH_CLASSIFIER = _enough_groups("enough-groups-classifier", GROUPS_CLASSIFIER, "0.993 [0.981, 1.005]")
ENOUGH_AGGREGATION = _enough_groups("enough-groups-aggregation", GROUPS_AGGREGATION, "0.988 [0.974, 1.001]")

MEASURES = ("per group (target domain x seed): mean next-token loss on the target's held-out split of a tiny LM "
            "trained from scratch on a selection of k raw chunks, the same initialisation, steps and batch shape (so "
            "the same tokens) in every arm; geometric mean of the per-group ratio over groups, bootstrap over groups on "
            "the log scale; ")  # fmt: skip

CLAIMS = [
    Claim("betr-beats-random",
          "Training on BETR-selected data reaches a lower target loss than training on unfiltered (randomly selected) "
          "data at the same token budget",
          paper_value="4.7x compute multiplier over unfiltered data",
          unit="held-out target loss, BETR / random (geometric mean over groups)",
          paper_ref="Abstract; Sec. 5.1, Fig. 1", paper_version=VERSION, paper_quote=QUOTE_ABSTRACT,
          measures=MEASURES + "numerator: BETR's k chunks (MiniLM embeddings of the target sample and of a fixed "
                   "scoring sample of the pool, each chunk scored by its best rank over the target examples, a "
                   "hashed n-gram logistic regression trained on the top 10% vs. a balanced draw of the rest, applied "
                   "to the whole raw pool, top k); denominator: k random raw chunks (the trivial control); bar: 2% "
                   "lower (the engine's bar for a selection beating random: a loss ratio, since a compute multiplier "
                   "needs a budget sweep), partially if lower at all. Trivial control: all data (the whole raw pool, "
                   "same tokens)",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ORACLE,),
          control=Control("all data", "training on the whole raw pool for the same number of tokens (no selection): "
                          "margin = loss(all data) - loss(BETR) per group, in nats")),
    Claim("betr-beats-target-classifier",
          "BETR's two steps (rank by similarity to the examples, then learn the ranking) select better data than a "
          "classifier trained directly to tell the target examples from the pool",
          paper_value="Core average 62.3 (BETR) vs. 59.7 (benchmarks vs. crawl classifier), 7B-1x",
          unit="held-out target loss, BETR / target-vs-pool classifier (geometric mean over groups)",
          paper_ref="Table 4 (right); Sec. 5.5", paper_version=VERSION,
          paper_quote="Finally, directly classifying benchmark vs web text underperforms BETR (59.7 vs 62.2), "
                      "validating our two-step approach.",
          measures=MEASURES + "numerator: BETR's k chunks; denominator: the k raw chunks of highest score of the "
                   "engine's target-vs-pool classifier (logistic regression, target sample vs. as many random raw "
                   "chunks, on the same hashed n-gram features as BETR's classifier: the paper's 'Core vs crawl'); "
                   "bar: 2% lower, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ORACLE, ENOUGH_CLASSIFIER)),
    Claim("betr-beats-dsir",
          "BETR selects better data than a strong existing selector at the same token budget (the paper's baseline is "
          "DCLM-Baseline; here the engine's strongest targeted selector, DSIR)",
          paper_value="2.1x compute multiplier over DCLM-Baseline",
          unit="held-out target loss, BETR / DSIR (geometric mean over groups)",
          paper_ref="Abstract; Sec. 5.1", paper_version=VERSION, paper_quote=QUOTE_ABSTRACT,
          measures=MEASURES + "numerator: BETR's k chunks; denominator: DSIR's k chunks (hashed n-gram importance "
                   "resampling, 10,000 buckets, the same target sample); bar: 2% lower, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ORACLE, ENOUGH_DSIR)),
    Claim("max-beats-mean",
          "Scoring a document by its best rank over the target examples (max aggregation) selects better data than "
          "scoring it by its mean rank value over them",
          paper_value="Core average 62.2 (max) vs. 58.2 (mean), 7B-1x",
          unit="held-out target loss, BETR max / BETR mean (geometric mean over groups)",
          paper_ref="Fig. 8c; Sec. 5.5", paper_version=VERSION,
          paper_quote="Scoring functions that reward documents highly relevant to any single benchmark example (62.2) "
                      "outperform functions that reward average relevance across multiple examples (58.2).",
          measures=MEASURES + "numerator: BETR's k chunks (score max_i 1/r_ij); denominator: the same pipeline with "
                   "the score mean_i log2(1/r_ij) (same embeddings, scoring sample, classifier and k); bar: 2% lower, "
                   "partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ORACLE, SCORES_FIND_TARGET, ENOUGH_AGGREGATION)),
    Claim("classifier-reproduces-scores",
          "A light classifier trained on the scored sample reproduces the embedding-based top-10% label on documents "
          "it was not trained on",
          paper_value="75.4% validation accuracy (FastText, top 10% vs. bottom 90%)",
          unit="AUC of the classifier's score for the exact top-10% label, held-out chunks (mean over groups)",
          paper_ref="Fig. 8d; Sec. 3.5, 5.5", paper_version=VERSION,
          paper_quote="A simple FastText classifier matches or exceeds LM-based classifiers and regressors despite "
                      "lower validation accuracy (75.4% vs 82.4% for 302M LM)",
          measures="per group: BETR's classifier (trained on the scoring sample's labels) scores held-out chunks of "
                   "the raw pool that were embedded but not in the scoring sample; a held-out chunk's exact label is "
                   "whether its best rank against the scoring sample (ties: best cosine similarity) would put it in "
                   "the sample's top 10%; the AUC of the score for that label (the threshold-free counterpart of the "
                   "paper's accuracy on balanced classes); mean over groups, Student t interval over groups; bar: "
                   "0.754 (the paper's FastText accuracy), partially if the whole interval is above 0.6 (a tenth above "
                   "chance, 0.5: a classifier at chance is not reproduced)",
          rule=AtLeast(0.754, partial=0.6), fidelity="analogue", kind="noisy", tolerance=AUC_TOL,
          preconditions=(SCORES_FIND_TARGET,)),
]  # fmt: skip
