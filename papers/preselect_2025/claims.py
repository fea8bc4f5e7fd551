"""The claims of arXiv:2503.00808 (PreSelect, Shum, Huang, Zou, Ding, Liao, Chen, Liu & He, 2025) under test, with
their verdict rules: fixed before any run, judged by code after.

What could be read offline: the abstract of v1 (the arXiv HTML of v1) and the abstract page of v4 (2 Aug 2025, the
latest version: the same claims, one clause added), and the authors' code (github.com/hkust-nlp/PreSelect,
`data_processing/fasttext/train_fasttext.py`: the six Llama-1/2 models, a document's score = the number of model pairs
whose loss order matches their benchmark order, positives = the documents with every pair in order, negatives = as many
of the lowest scores, a fastText classifier with word bigrams). The body (the 1B and 3B result tables, the baselines'
numbers) was not read, so every paper value below is the abstract's statement and number.

Units: a *group* is one target domain and one seed: one split of the target's chunks into a target sample (all the
selectors see of the target: the family's abilities are measured on it, the baselines fit on it), a held-out
evaluation split and the rest (which stays in the raw pool), and one seed for the family (mixtures, initialisations),
the scored sample, every classifier, selection, initialisation and batch order. Groups are independent; arms are
paired within a group.

The bar of every ratio claim is the engine's bar for a selection beating another at a fixed token budget (a 2% lower
held-out target loss, as in the DSIR, ZIP-FIT, CoLoR-Filter and BETR replications), partially if lower at all: the
paper's numbers are compute multipliers and benchmark gaps that need budget sweeps and 1B models, so the scale-down
keeps the direction and asks for a margin the runs can resolve.

Power precondition (committed after the stability check, before the re-runs it judges). `preselect-beats-dsir` moved
under other seeds in `full` (seeds 50-65: inconclusive 1.006 [0.997, 1.017] -> seeds 70-85: not reproduced 1.021
[1.009, 1.042]): the estimate sits within about 1-2% of the bar 1. The engine's estimate (`Rule.decide`: n x
(half-width / distance to the bar)^2 x 1.1) from the recorded 48-group full is 48 x (0.0102 / 0.0060)^2 x 1.1 = 152
groups, beyond the full's 8-minute budget (48 groups take about 5 minutes): both profiles say inconclusive on it by
design. Bars, arms and the rest of the design are unchanged.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

VERSION = "2503.00808v1"
QUOTE_HEADLINE = ("Through comprehensive experiments with 1B and 3B parameter models, we demonstrate that models trained "
                  "on 30B tokens selected with PreSelect surpass the performance of the vanilla baseline trained on 300B "
                  "tokens, achieving a 10x reduction in compute requirements.")  # fmt: skip
QUOTE_HYPOTHESIS = ("Building on this observation, we hypothesize that data on which model losses are predictive of "
                    "downstream abilities also contribute effectively to learning.")  # fmt: skip
QUOTE_BASELINES = ("Furthermore, PreSelect significantly outperforms other competitive data selection baselines, such as "
                   "DCLM and FineWeb-Edu on a scale of 3B models trained on 100B tokens.")  # fmt: skip
# a value from models trained in the notebook: chaotic in the last bit across CPUs (papers/README.md, "Reproduction
# tolerance"): one width of the committed interval, plus a 2e-3 relative floor (as in the DSIR, ZIP-FIT, CoLoR-Filter
# and BETR replications on the same engine)
TOL = Tolerance(rel=0.002, interval=1.0,
                why="trained in the notebook: another CPU's BLAS redraws each seed's training noise; one interval width "
                    "+ 2e-3 relative floor")  # fmt: skip

STRENGTH_FINDS_TARGET = Precondition(
    "strength-finds-target",
    "the paper's premise holds in this setup (the normalised losses of diverse models on text predict their ability "
    "when the text's domain aligns with the target): the share of target-domain chunks among PreSelect's positives "
    "(the scored chunks of perfect predictive strength) exceeds their share in the scored sample (paired per group, "
    "interval above 0)",
    AtLeast(0.0),
)

GROUPS_DSIR = 152  # the power precondition (module docstring)
ENOUGH_DSIR = Precondition(
    "enough-groups-dsir",
    f"at least {GROUPS_DSIR} groups (target domain x seed): the engine's estimate from the recorded 48-group full "
    "(1.006 [0.997, 1.017]); fewer leave the verdict to the seed set",
    AtLeast(GROUPS_DSIR),
)

MEASURES = ("per group (target domain x seed): mean next-token loss on the target's held-out split of a tiny LM "
            "trained from scratch on a selection of k raw chunks, the same initialisation, steps and batch shape (so "
            "the same tokens) in every arm; geometric mean of the per-group ratio over groups, bootstrap over groups on "
            "the log scale; ")  # fmt: skip
PRESELECT = ("PreSelect's k chunks (a family of six tiny LMs trained on the raw pool, each on its own domain mixture, "
             "width and step count; ability = minus bits per character on the target sample; a chunk's predictive "
             "strength = the share of member pairs whose bits-per-character order on it matches their ability order, "
             "over a random 25% of the raw pool; positives = perfect strength, negatives = as many of the lowest; a "
             "logistic regression on hashed n-grams scores the whole raw pool; top k)")  # fmt: skip
ALL_DATA = Control("all data", "training on the whole raw pool for the same number of tokens (no selection): "
                   "margin = loss(all data) - loss(arm) per group, in nats")  # fmt: skip

CLAIMS = [
    Claim("preselect-beats-random",
          "Training on PreSelect-selected data reaches a lower target loss than training on randomly selected data "
          "at the same token budget",
          paper_value="30B PreSelect tokens surpass 300B random tokens: a 10x compute reduction (1B model)",
          unit="held-out target loss, PreSelect / random (geometric mean over groups)",
          paper_ref="Abstract", paper_version=VERSION, paper_quote=QUOTE_HEADLINE,
          measures=MEASURES + "numerator: " + PRESELECT + "; denominator: k random raw chunks (the trivial control); "
                   "bar: 2% lower, partially if lower at all. Trivial control: all data (the whole raw pool, same "
                   "tokens)",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(STRENGTH_FINDS_TARGET,), control=ALL_DATA),
    Claim("predictive-data-teaches",
          "The data on which the models' losses predict their abilities (high predictive strength) teaches better "
          "than random data at the same token budget, with no classifier in between",
          paper_value="the paper's hypothesis (abstract), tested there through the fastText scorer",
          unit="held-out target loss, strength top-k / random (geometric mean over groups)",
          paper_ref="Abstract; title", paper_version=VERSION, paper_quote=QUOTE_HYPOTHESIS,
          measures=MEASURES + "numerator: the k chunks of highest predictive strength among the scored 25% of the raw "
                   "pool (ties in a seeded random order; the same family and strengths as PreSelect's); denominator: k "
                   "random raw chunks; bar: 2% lower, partially if lower at all. Trivial control: all data",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(STRENGTH_FINDS_TARGET,), control=ALL_DATA),
    Claim("preselect-beats-perplexity-filter",
          "PreSelect selects better data than keeping the documents of lowest normalised loss under the family's most "
          "able model (a perplexity filter built from the same models)",
          paper_value="outperforms competitive data selection baselines (abstract; the baselines' table not read)",
          unit="held-out target loss, PreSelect / perplexity filter (geometric mean over groups)",
          paper_ref="Abstract", paper_version=VERSION, paper_quote=QUOTE_BASELINES,
          measures=MEASURES + "numerator: PreSelect's k chunks; denominator: the k raw chunks of lowest bits per "
                   "character under the family member of highest ability (lowest bits per character on the target "
                   "sample); bar: 2% lower, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(STRENGTH_FINDS_TARGET,)),
    Claim("preselect-beats-reference-classifier",
          "PreSelect selects better data than a classifier trained to tell reference examples from the pool (the "
          "recipe of the DCLM baseline's fastText filter)",
          paper_value="significantly outperforms DCLM and FineWeb-Edu (3B models, 100B tokens)",
          unit="held-out target loss, PreSelect / target-vs-pool classifier (geometric mean over groups)",
          paper_ref="Abstract", paper_version=VERSION, paper_quote=QUOTE_BASELINES,
          measures=MEASURES + "numerator: PreSelect's k chunks; denominator: the k raw chunks of highest score of the "
                   "engine's target-vs-pool classifier (logistic regression, the target sample vs. as many random raw "
                   "chunks, on the same hashed n-gram features: DCLM's reference-vs-pool recipe with the target sample "
                   "as the reference); bar: 2% lower, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(STRENGTH_FINDS_TARGET,)),
    Claim("preselect-beats-dsir",
          "PreSelect selects better data than a targeted importance-resampling selector (DSIR) at the same token "
          "budget",
          paper_value="outperforms competitive data selection baselines (abstract: DCLM, FineWeb-Edu; DSIR is not named there: here the engine's targeted selector)",
          unit="held-out target loss, PreSelect / DSIR (geometric mean over groups)",
          paper_ref="Abstract", paper_version=VERSION, paper_quote=QUOTE_BASELINES,
          measures=MEASURES + "numerator: PreSelect's k chunks; denominator: DSIR's k chunks (the engine's hashed "
                   "n-gram importance resampling, 10,000 buckets, fitted on the same target sample); bar: 2% lower, "
                   "partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(STRENGTH_FINDS_TARGET, ENOUGH_DSIR)),
]  # fmt: skip
