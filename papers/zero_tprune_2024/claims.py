"""The claims of "Zero-TPrune: Zero-Shot Token Pruning through Leveraging of the Attention Graph in Pre-Trained
Transformers" under test, with their verdict rules: fixed before any run, judged by code after.

The unit is a split seed (issue 15 redesign, for stable verdicts): each seed draws its own training images, fits its
own frozen linear probe on them and draws its own test images; within a seed every arm (unpruned, Zero-TPrune,
CLS-attention top-k, ToMe-style bipartite merging, random, spatial downsampling) classifies the same test images with
that probe. Each claim's quantity is computed per seed, and the interval is a Student-t interval over seeds (on the
log scale for the loss ratios, whose value is the geometric mean of the per-seed ratios). The earlier design took the
test image as the unit with one probe: the probe, fitted on one draw, is a random effect shared by every test image
that a bootstrap over images never resamples, and 2 of 3 verdicts moved under another draw. Accuracy loss is unpruned minus pruned correctness, averaged
over the keep ratios `KEEP_RATIOS` (30-70%, the paper's range); keep 50% before block 3 of 12 cuts DINOv2-S's MACs at
112 px by 37.1%, the analogue of the paper's 34.7% FLOPs cut of DeiT-S.

Paper: arXiv:2305.17328v3 (the abstract; the version whose abstract carries these numbers, as in the CVPR 2024 paper).
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

PAPER = "2305.17328v3 (abstract)"
QUOTE_LOSS = ("Without any fine-tuning, Zero-TPrune reduces the FLOPs cost of DeiT-S by 34.7% and improves its "
              "throughput by 45.3% with only 0.4% accuracy loss.")  # fmt: skip
QUOTE_FREE = ("Compared with state-of-the-art fine-tuning-free pruning methods, Zero-TPrune reduces accuracy loss by "
              "up to 49% with the same or higher throughput.")  # fmt: skip

# measured: the default profile re-run at 2 threads (papers stability --threads 2, seed 0) recorded identical values
# for every claim, precondition and control; the floor of two steps of the fourth significant digit applies. A
# borderline prediction that flips on another CPU would move a default-run accuracy by 1/250: the rerun would say so.
_WHY = "1 vs 2 threads: identical recorded values (0 spread); floor 2e-3 for last-digit drift across CPUs"
TOL_ACC = Tolerance(rel=0.002, why=_WHY)
TOL_RATIO = Tolerance(rel=0.002, why=_WHY)

PROBE = Precondition("probe-above-chance", "the frozen linear probes classify unpruned test images well above chance "
                     "(10 classes): Wilson interval of the accuracy, pooled over seeds, >= 0.5", AtLeast(0.5))  # fmt: skip
CLS_LOSES = Precondition("cls-attention-loses", "CLS-attention top-k loses accuracy at these keep ratios (mean loss "
                         ">= 2 points, t interval over split seeds): the loss ratio has a denominator",
                         AtLeast(0.02))  # fmt: skip
TOME_LOSES = Precondition("tome-loses", "ToMe-style merging loses accuracy at these keep ratios (mean loss >= 2 "
                          "points, t interval over split seeds): the loss ratio has a denominator",
                          AtLeast(0.02))  # fmt: skip
# power (raised from 5 for the 10-seed `full`, issue 15): the per-seed spread of the log loss ratio, measured over the
# ten split seeds run so far (0-4 and 1000-1004, 400 test images each), is 0.19 (0.186 vs CLS attention, 0.192 vs
# ToMe); the test-image part of it is about 0.10 at 400 images (the old design's image bootstraps), so about 0.21 at
# 200 images per seed. The 95% t half-width on the log scale, t(n-1) * 0.21 / sqrt(n), is 0.26 at 5 seeds (so 5-seed
# verdicts moved with the seed set: ratios 0.92 and 1.19 both sat within reach of the bar 1) and first falls to
# <= 0.16, enough to place a ratio 15% from 1 (ln 1.17 = 0.157), at 10 seeds (9: 0.161). A profile with fewer seeds
# (the default holds 3 within its 60 s) makes the comparison claims inconclusive
MIN_SEEDS = 10
SEEDS_ENOUGH = Precondition("enough-split-seeds", f"at least {MIN_SEEDS} split seeds (each with its own probe and test "
                            "images): fewer cannot decide a comparison", AtLeast(MIN_SEEDS))  # fmt: skip

CLAIMS = [
    Claim("small-loss-at-35pct-flops",
          "Without fine-tuning, Zero-TPrune cuts about a third of the FLOPs at a small accuracy loss",
          paper_value=0.004, unit="accuracy loss (fraction)", paper_ref="Abstract (DeiT-S: -34.7% FLOPs, -0.4% acc.)",
          paper_version=PAPER, paper_quote=QUOTE_LOSS,
          measures="unpruned minus Zero-TPrune correctness of the frozen CLS probe on test images at keep 50% before "
                   "block 3 (-37.1% MACs), mean over test images per split seed, mean over seeds; t interval over seeds",
          notes=("bar: the paper's 0.4 points plus 0.6 for a probe that was never trained on pruned features or on "
                 "this model's own task: at most 1 point; within 3 points partial",),
          rule=AtMost(0.01, partial=0.03), fidelity="analogue", tolerance=TOL_ACC, preconditions=(PROBE,)),
    Claim("less-loss-than-cls-attention",
          "Zero-TPrune loses less accuracy than importance-only fine-tuning-free pruning (CLS-attention top-k), up to "
          "49% less", paper_value=0.51, unit="accuracy-loss ratio, Zero-TPrune / CLS attention",
          paper_ref="Abstract; Sec. 4 (comparisons with fine-tuning-free methods)", paper_version=PAPER,
          paper_quote=QUOTE_FREE,
          measures="mean accuracy loss of Zero-TPrune over KEEP_RATIOS and test images divided by that of "
                   "CLS-attention top-k at the same keep ratios (same images, same probe), per split seed; geometric mean "
                   "over seeds, t interval over seeds on the log ratios",
          notes=("bar: 49% less loss (ratio <= 0.51) is the paper's best case ('up to'), so it is the full bar; any "
                 "reduction (ratio < 1) is partial",
                 "control: random selection of the same number of tokens, margin = Zero-TPrune minus random accuracy "
                 "per seed (mean over test images and keep ratios), t interval over seeds"),
          rule=AtMost(0.51, partial=1.0), fidelity="analogue", tolerance=TOL_RATIO,
          preconditions=(PROBE, CLS_LOSES, SEEDS_ENOUGH),
          control=Control("random", "random selection of the same number of patch tokens")),
    Claim("less-loss-than-tome",
          "Zero-TPrune loses less accuracy than similarity-only fine-tuning-free merging (ToMe), up to 49% less",
          paper_value=0.51, unit="accuracy-loss ratio, Zero-TPrune / ToMe merging",
          paper_ref="Abstract; Sec. 4 (comparisons with ToMe)", paper_version=PAPER, paper_quote=QUOTE_FREE,
          measures="mean accuracy loss of Zero-TPrune over KEEP_RATIOS and test images divided by that of ToMe-style "
                   "bipartite soft matching (merged tokens averaged, proportional attention) at the same keep ratios; "
                   "per split seed; geometric mean over seeds, t interval over seeds on the log ratios",
          notes=("bar: as for CLS attention: <= 0.51 full, < 1 partial",
                 "control: plain spatial downsampling (tokens nearest a regular lattice, the others averaged into the "
                 "nearest kept one), margin = Zero-TPrune minus downsampling accuracy per seed (mean over test images and keep "
                 "ratios), t interval over seeds"),
          rule=AtMost(0.51, partial=1.0), fidelity="analogue", tolerance=TOL_RATIO,
          preconditions=(PROBE, TOME_LOSES, SEEDS_ENOUGH),
          control=Control("downsampling", "plain spatial downsampling (average pooling onto a regular lattice)")),
]  # fmt: skip
