"""The claims of arXiv:2302.03169 (DSIR, Xie, Santurkar, Ma & Liang, NeurIPS 2023) under test, with their verdict rules:
fixed before any run, judged by code after.

The version quoted is the latest arXiv version (19 Nov 2023, the NeurIPS 2023 camera-ready, whose abstract reports
r = 0.82 over 8 selection methods; the first version's abstract reported r = 0.89 over 8 downstream tasks). Only the
abstract of that version could be read offline (its NeurIPS, OpenReview and arXiv-mirror pages); the tables were not,
so the paper values below are the abstract's.

Units: a *group* is one target domain and one seed: one split of the target's chunks into a target sample, a held-out
evaluation split and the rest (which stays in the raw pool), and one seed for every selection, initialisation and batch
order trained on it. Groups are independent; arms are paired within a group.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

VERSION = "2302.03169 (latest arXiv version, 19 Nov 2023 = NeurIPS 2023)"
# reproduction tolerance: training is deterministic for a seed and a thread count, but chaotic in the last bit: another
# CPU code path (ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 on the Intel Xeon of the recorded run, what a CPU
# with other kernels runs) moved `dsir-beats-random` 0.8513 -> 0.8578 and `kl-reduction-tracks-loss` 0.6991 -> 0.6813,
# far past the 2e-3 floor first declared; on another CPU each group's training is in effect another draw of its noise,
# so the trained claims also allow one width of their committed interval (`Tolerance.interval`). Verdicts must not move.
TOL = Tolerance(rel=0.002, interval=1.0, why="floor 2e-3 relative; plus one interval width: the AVX2 code path moved "
                "the trained values by up to 0.018, inside their intervals")  # fmt: skip
TIMING_TOL = Tolerance(rel=1.0, why="a timing: machine-dependent, reported by a rerun elsewhere, never failed on")

LEARNS = Precondition(
    "dsir-beats-unigram",
    "the model trained on the DSIR selection beats a context-free predictor on the target's held-out split: its mean "
    "held-out loss is below the cross-entropy of the add-0.5 unigram model of the same selected tokens (paired per "
    "group, interval above 0), so the models learn more than token frequencies and a null result would mean something",
    AtLeast(0.0),
)
SPREAD = Precondition(
    "selections-differ",
    "the selection methods differ in KL reduction: DSIR's KL reduction exceeds random selection's (paired per group, "
    "interval above 0), so there is something for the correlation to track",
    AtLeast(0.0),
)

CLAIMS = [
    Claim("dsir-beats-random",
          "Training on DSIR-selected data gives a lower target loss than training on randomly selected data at the same "
          "token budget (the paper: DSIR improves over random selection)",
          paper_value="2-2.5% better on GLUE than random selection and heuristic filtering (general-domain target)",
          unit="held-out target loss, DSIR / random (geometric mean over groups)",
          paper_ref="Abstract; Sec. 6 (pretraining from scratch) and Sec. 5 (continued pretraining)",
          paper_version=VERSION,
          paper_quote="When pretraining general-domain models (target is Wikipedia and books), DSIR improves over "
                      "random selection and heuristic filtering baselines by 2-2.5% on the GLUE benchmark.",
          measures="per group (target domain x seed): mean next-token loss on the target's held-out split of a tiny "
                   "LM trained from scratch on the DSIR selection, over that of the same LM (same initialisation, same "
                   "steps and batch shape, so the same number of tokens) trained on a random selection of as many "
                   "documents; geometric mean over groups, bootstrap over groups on the log scale. Trivial control: "
                   "all data (the whole raw pool, same tokens)",
          rule=AtMost(0.98, partial=1.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(LEARNS,),
          control=Control("all data", "training on the whole raw pool for the same number of tokens (no selection): "
                          "margin = loss(all data) - loss(DSIR) per group, in nats")),
    Claim("kl-reduction-tracks-loss",
          "KL reduction on hashed n-gram features correlates with the performance of the model trained on the "
          "selected data, across selection methods",
          paper_value=0.82, unit="Pearson r, KL reduction vs. minus held-out target loss (within groups)",
          paper_ref="Abstract; Sec. 4 (KL reduction)", paper_version=VERSION,
          paper_quote="Across 8 data selection methods (including expert selection), KL reduction on hashed n-gram "
                      "features highly correlates with average downstream accuracy (r=0.82).",
          measures="per selection (6 methods per group: DSIR, DSIR top-k, classifier top-k, domain oracle, 50% DSIR + "
                   "random, random; all of k documents): KL(target || raw) - KL(target || selection) over 10,000 "
                   "hashed unigram+bigram buckets (target = the held-out split), and minus the held-out target loss of "
                   "the LM trained on it; Pearson r of the two after centring each within its group (target x seed); "
                   "bootstrap over groups",
          rule=AtLeast(0.5, partial=0.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(LEARNS, SPREAD)),
    Claim("dsir-matches-curation",
          "DSIR performs comparably to expert curation of the target domain",
          paper_value="comparable across 8 target distributions",
          unit="held-out target loss, DSIR / domain oracle (geometric mean over groups)",
          paper_ref="Abstract; Sec. 5 (continued pretraining)", paper_version=VERSION,
          paper_quote="When selecting data for continued pretraining on a specific domain, DSIR performs comparably to "
                      "expert curation across 8 target distributions.",
          measures="per group: held-out target loss of the LM trained on the DSIR selection over that of the LM "
                   "trained on k random documents of the target domain itself (the pool's domain labels: the analogue "
                   "of expert curation); geometric mean over groups, bootstrap over groups on the log scale; "
                   "comparable = within 2% (the size of the improvement claim 1 asks of DSIR over random)",
          rule=Within(1 / 1.02, 1.02, partial=(1 / 1.05, 1.05)), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(LEARNS,)),
    Claim("selection-cost",
          "Hashed n-gram DSIR is cheap: selecting costs little more than reading and hashing the raw data",
          paper_value="100M documents of the Pile selected in 4.5 hours",
          unit="time of the whole DSIR selection / time of featurising the same texts",
          paper_ref="Abstract", paper_version=VERSION,
          paper_quote="We instantiate the DSIR framework with hashed n-gram features for efficiency, enabling the "
                      "selection of 100M documents from the full Pile dataset in 4.5 hours.",
          measures="wall time of DSIR's whole selection from text (featurise raw pool and target sample, fit both "
                   "bag-of-ngrams models, weigh, Gumbel top-k) over the wall time of reading and hashing the same "
                   "texts into the same features (the floor of any n-gram selector), 5 interleaved repeats in one run, "
                   "geometric mean, bootstrap on the log scale; bar 3x (issue 17's throughput target)",
          rule=AtMost(3.0, partial=5.0), fidelity="scaled-down", kind="timing", tolerance=TIMING_TOL),
]  # fmt: skip
