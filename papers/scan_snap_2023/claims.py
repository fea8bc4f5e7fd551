"""The claims of arXiv:2305.16380v4 (Scan and Snap) under test, with their verdict rules: fixed before any run, judged
by code after.

The unit of every claim is a training seed (one model per seed and learning-rate ratio, trained by SGD on the shared
`KeyTokenModel` data); every value is a mean over seeds with a bootstrap interval over seeds. The paper gives no
number for any of these statements (its synthetic figures are qualitative), so the bars follow from what the
statements mean at our scale, as each claim's comment says. The direction of the learning-rate claims is our reading
of the paper's phase-transition theorem (Sec. 5): the snap comes at t_0 ~ 1/eta_Y, and the attention's sparsity
reached by then grows with eta_Z/eta_Y, so at a fixed eta_Z a faster decoder snaps earlier and leaves a less sparse
(higher-entropy) token combination.

Redesign for power (issue 14, pre-registered before the recorded runs): the scan claims are measured at the reference
ratio eta_Y/eta_Z = 16, since session 8 11.3 (the decoder much faster than the attention, the paper's assumption (c)); the order statistic
ranks each seed's attention per occurrence at the four co-occurrence levels (averaged over classes, on 512
end-of-training probe sequences); the learning-rate claims are per-seed least-squares slopes over the seed's ratios
(two in the default run, five in `full`) instead of a Spearman rho over three points. A sizing pilot (seeds 100-103,
kept out of every recorded run) measured the run time (about 3.5 s per model) and the per-seed spread; the bars were
fixed from the paper's statements before it, as each claim's comment says.

Session 8 (stability, pre-registered before the runs it judges): at eta_Z = 0.05 the ratio-16 decoder ran at eta_Y =
0.8, near SGD's stability edge for this model (one model in about 40 diverged, which made every claim of the seed-40-44
stability rerun inconclusive through `no-run-diverged`). The ratio range is now 4 to 8*sqrt(2) = 11.3 (eta_Y 0.2 to
0.57 at the unchanged eta_Z = 0.05), the reference ratio 11.3, and `full` runs the four half-octave ratios 4, 5.66, 8
and 11.3; steps, bars and statistics are unchanged. Why not the other ways to keep eta_Y <= 0.6: a first attempt
(commit fcadb1a, recorded and superseded) lowered eta_Z to 0.0375 at ratios 4-16; the ratio-4 models then no longer
froze within 800 steps (share of the entropy drop in the second half 0.47, the `froze-every-ratio` precondition's bar
is 0.35), so `snap-entropy-lr` became untestable; a pilot at eta_Z = 0.05 and ratio 3 (eta_Y = 0.15; seeds 100-111,
never in a recorded run) froze no better (mean 0.35), while ratio 4 at 0.05 froze at 0.09-0.10 in both recorded runs
of the previous design. So the decoder's rate stays between the two ends that both work: 0.2 (freezes) and 0.6 (0 of
30 ratio-16 models diverged at eta_Y = 0.6 in the eta_Z = 0.0375 pilot, seeds 100-129). The learning-rate slopes now
span 1.5 doublings instead of 2, which widens their per-seed spread by about a third.
Then the units (pre-registered after the ratio change's default run, 32909a9, superseded, and its stability rerun):
with 5 seeds that default moved 2 of 6 verdicts under seeds 40-44 (the order statistic 0.80 [0.68, 0.92] vs 0.20
[-0.24, 0.64]; the entropy slope's interval about 0.4 nats per doubling wide), so the default trains twice the seeds,
two runs at a time (`shared.parallel`, the numbers of a serial run), and `full` 50 seeds instead of 30.
Session 9 (power, pre-registered before the runs it judges): at 10 seeds the same default moved the two learning-rate
claims between *partially reproduced* and *inconclusive* under seeds 40-49 (snap-time-lr -0.34 vs -0.26, its interval
about 0.3 wide around the partial bar -0.2; snap-entropy-lr 0.13 vs 0.10 around 0.05), while the 50-seed, four-ratio
`full` run put them at -0.32 [-0.40, -0.23] and 0.149 [0.116, 0.183], each within about one standard error of a
bar. The effects are not in doubt; the seeds are too few. Now both profiles train 100 seeds (0-99; the pilot seeds
100-129 stay out) at the two ends of the ratio range, 4 and 11.3, where a slope per model trained is most precise
(two ends give 90% of the four half-octave ratios' precision at half the models), so the learning-rate intervals
narrow by about a quarter against the 50-seed `full` and by about two thirds against the 10-seed default. 300
models do not fit a 60 s default, so their outputs ship with the paper (`runlogs/default.json.gz`, keyed by every
setting and the code); the default reads them and retrains two, and `full` retrains all 300. Bars, steps, probes,
statistics and preconditions are unchanged.

Tolerances: see `TOL` (provisional: the 1 vs 2 thread rerun did not fit the loaded machine).
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

VERSION = "2305.16380v4"
ABSTRACT = "Abstract"
SHUFFLED = Control(
    "shuffled labels",
    "the same model, data contexts, learning rates and steps, with the next token drawn independently of the context "
    "(the random-task version: nothing to discriminate)",
)
_TRAIN = ("provisional, not yet measured: SGD over hundreds of steps amplifies last-digit differences between thread "
          "counts and CPUs; expected spread {}; to be replaced by the 1 vs 2 thread rerun")  # fmt: skip
TOL = {
    "scan-distinct": Tolerance(rel=0.05, why=_TRAIN.format("< 5% relative")),
    "order-cooccurrence": Tolerance(rel=0.1, abs=0.1, why=_TRAIN.format("< 0.1 absolute (a 4-level rank moves in steps of 0.2 per seed)")),
    "snap-freezes": Tolerance(rel=0.2, abs=0.03, why=_TRAIN.format("< 0.03 absolute")),
    "no-winner-takes-all": Tolerance(rel=0.05, why=_TRAIN.format("< 5% relative")),
    "snap-time-lr": Tolerance(rel=0.1, abs=0.05, why=_TRAIN.format("< 0.05 absolute in the elasticity")),
    "snap-entropy-lr": Tolerance(rel=0.1, abs=0.02, why=_TRAIN.format("< 0.02 nats per doubling")),
}  # fmt: skip

# every run must have trained: a run whose SGD blew up (non-finite loss) would stand in with a half-trained state
NO_DIVERGENCE = Precondition(
    "no-run-diverged",
    "no training run (any ratio, the shuffled-label control included) diverged: number of runs with a non-finite loss",
    AtMost(0.5),
)
# the attention must have moved for "it froze" and "how far it moved" to mean anything
MOVED = Precondition(
    "attention-moved",
    "the query's attention left uniform at the reference ratio: mean drop of the type entropy over training, nats",
    AtLeast(0.3),
)
MOVED_ALL = Precondition(
    "attention-moved-every-ratio",
    "the attention left uniform at every learning-rate ratio: the smallest (over ratios) mean entropy drop, nats",
    AtLeast(0.3),
)
FROZE_ALL = Precondition(
    "froze-every-ratio",
    "the entropy has settled by the end at every ratio (the final value is the snapped one): the largest (over "
    "ratios) mean share of the entropy drop that happened in the second half of training",
    AtMost(0.35),
)

CLAIMS = [
    # initial distinct share = 1 - common_mass = 0.2; full: at least 0.3 of the attention moved from common to
    # distinct tokens (the theorem drives the common tokens' share towards 0); partial: a clear move of 0.05
    Claim("scan-distinct", "Starting from uniform attention, the query attends more to the distinct key tokens of its "
          "next token and less to the common tokens shared by all next tokens",
          paper_value="attends more to distinct, less to common tokens", unit="attention share",
          paper_ref=f"{ABSTRACT}; Sec. 5 (fates of contextual tokens)", paper_version=VERSION,
          paper_quote="starting from uniform attention, it gradually attends more to distinct key tokens for a specific "
                      "next token to be predicted, and pays less attention to common key tokens that occur across "
                      "different next tokens",
          measures="attention share of the query on its class's distinct tokens (= 1 - share on common tokens) at the "
                   "end minus at step 0, reference ratio eta_Y/eta_Z; paired per seed, bootstrap over seeds",
          rule=AtLeast(0.3, partial=0.05), fidelity="scaled-down", control=SHUFFLED, preconditions=(NO_DIVERGENCE,),
          tolerance=TOL["scan-distinct"]),
    # the catalog's suggested bar (Spearman >= 0.7: at most one adjacent swap among the four levels on average);
    # partial: a positive association (0.3). The seed's ranking uses all its classes (they share the same P levels):
    # a per-class rank from ~30 probe sequences mixed probe noise into the statistic (issue 14)
    Claim("order-cooccurrence", "Among distinct tokens, attention is ordered by the co-occurrence P(l | n) of key and "
          "next token: the rarely co-occurring ones are dropped first",
          paper_value="ordered low to high co-occurrence", unit="Spearman rho",
          paper_ref=f"{ABSTRACT}; Sec. 5 (frequency bias)", paper_version=VERSION,
          paper_quote="Among distinct tokens, it progressively drops attention weights, following the order of low to "
                      "high co-occurrence between the key and the query token in the training set",
          measures="per seed, Spearman rho between the 4 co-occurrence levels P(l | n) and the final attention per "
                   "occurrence (relative to uniform) of the distinct tokens at that level, averaged over the 4 classes, "
                   "on 512 end-of-training probe sequences; reference ratio; mean over seeds, bootstrap over seeds",
          rule=AtLeast(0.7, partial=0.3), fidelity="scaled-down", control=SHUFFLED, preconditions=(NO_DIVERGENCE,),
          tolerance=TOL["order-cooccurrence"]),
    # a steady decline puts half of the drop in the second half; frozen: at most 0.15 (partial 0.35)
    Claim("snap-freezes", "The scanning decelerates and stops (snaps): the attention's token combination becomes "
          "(almost) fixed", paper_value="decelerates, (almost) fixed token combination", unit="share of the drop",
          paper_ref=f"{ABSTRACT}; Sec. 5 (phase transition)", paper_version=VERSION,
          paper_quote="this procedure does not lead to winner-takes-all, but decelerates due to a phase transition "
                      "that is controllable by the learning rates of the two layers, leaving (almost) fixed token "
                      "combination",
          measures="share of the attention entropy's total drop (step 0 to the end) that happens in the second half of "
                   "training, at constant learning rates, reference ratio; bootstrap over seeds",
          rule=AtMost(0.15, partial=0.35), fidelity="scaled-down", preconditions=(NO_DIVERGENCE, MOVED),
          tolerance=TOL["snap-freezes"]),
    # winner-takes-all is entropy 0; full: at least two types' worth (log 2), partial: half of that
    Claim("no-winner-takes-all", "The snapped attention is a combination of tokens, not winner-takes-all",
          paper_value="does not lead to winner-takes-all", unit="nats", paper_ref=f"{ABSTRACT}; Sec. 5",
          paper_version=VERSION, paper_quote="this procedure does not lead to winner-takes-all",
          measures="final entropy of the query's attention over token types (512 probe sequences), reference ratio; "
                   "bootstrap over seeds",
          rule=AtLeast(0.693, partial=0.35), fidelity="scaled-down", preconditions=(NO_DIVERGENCE, MOVED),
          tolerance=TOL["no-winner-takes-all"]),
    # t_0 ~ 1/eta_Y: at a fixed eta_Z the snap step's elasticity in eta_Y/eta_Z is -1. Our snap step counts from step
    # 0 and so includes the scan itself, driven by the fixed eta_Z, which dilutes the elasticity towards 0: full at
    # half the predicted elasticity (<= -0.5), partial at a fifth (<= -0.2: the snap at least 24% earlier over 4x)
    Claim("snap-time-lr", "The snap comes earlier when the decoder learns faster (the phase transition is "
          "controlled by the two learning rates)", paper_value="t_0 ~ 1/eta_Y (our reading of Sec. 5): elasticity -1",
          unit="d log t_snap / d log(eta_Y/eta_Z)", paper_ref=f"{ABSTRACT}; Sec. 5 (phase transition)", paper_version=VERSION,
          paper_quote="decelerates due to a phase transition that is controllable by the learning rates of the two "
                      "layers",
          measures="per seed, least-squares slope of log snap step on log eta_Y/eta_Z (ratios 4-11.3, eta_Z fixed; "
                   "snap step: where the entropy comes within 10% of its total drop from its final value, interpolated "
                   "between probes); mean over seeds, bootstrap over seeds",
          rule=AtMost(-0.5, partial=-0.2), fidelity="scaled-down", preconditions=(NO_DIVERGENCE, MOVED_ALL),
          tolerance=TOL["snap-time-lr"]),
    # sparsity at the snap grows with eta_Z/eta_Y: the snapped entropy rises with eta_Y/eta_Z. The paper gives no size:
    # full: 0.1 nats per doubling (0.2 nats over our 4x range, 22% more effective token types), partial: half that
    Claim("snap-entropy-lr", "A faster decoder relative to the attention (larger eta_Y/eta_Z) snaps at a less sparse "
          "token combination", paper_value="sparsity at the snap grows with eta_Z/eta_Y (our reading of Sec. 5)",
          unit="nats per doubling", paper_ref=f"{ABSTRACT}; Sec. 5 (phase transition)", paper_version=VERSION,
          paper_quote="decelerates due to a phase transition that is controllable by the learning rates of the two "
                      "layers, leaving (almost) fixed token combination",
          measures="per seed, least-squares slope of the final attention entropy over token types (512 probe "
                   "sequences) on log2 eta_Y/eta_Z (ratios 4-11.3, eta_Z fixed); mean over seeds, bootstrap over seeds",
          rule=AtLeast(0.1, partial=0.05), fidelity="scaled-down", preconditions=(NO_DIVERGENCE, MOVED_ALL, FROZE_ALL),
          tolerance=TOL["snap-entropy-lr"]),
]  # fmt: skip
