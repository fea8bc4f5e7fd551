"""The claims of arXiv:2410.13835 (active-dormant heads on the Bigram-Backcopy task) under test, with their verdict
rules: fixed before any run, judged by code after.

The paper reports these toy-model results as figures, without tabulated numbers; the paper values below are its
qualitative statements, and the bars are our reading of "sink", "much smaller" and "much larger". Section
references are coarse: only the abstract, the official code and its README (Fig. 4(b) = 1-layer dynamics) could be
read offline.

Verdict engine v2: every value is a mean over training seeds (the independent unit: initialisation and data) with a
bootstrap interval over seeds (in the default profile 8 for the 1-layer softmax model and its clamped runs, 12 for
the ReLU model, 5 for the 3-layer models; in `full` 12, 12 and 10); the Adam/SGD peak ratio is a geometric mean of
paired per-seed ratios (log scale), the mutual-reinforcement share a ratio of means over seed pairs. Besides the power preconditions
(below), two say when the setup can show an effect: the ReLU claims count only the seeds whose model learned the copy
(else "no sink" would hold for an untrained head), and the 3-layer Adam models must have a residual peak (else there
is nothing for SGD to remove).

`mutual-reinforcement` (redesigned in issue 14; before, a Spearman correlation of two trends over one run's
checkpoints, which any two monotone curves pass) is an intervention: the 1-layer model is trained again from the same
seed and data with its BOS value-state norm held at the mean of the other tokens' after every optimiser step (a
rank-one rescaling of the value projection along BOS's input, applied by the shared trainer's callback), so the value
state cannot drain. If the drain drives the sink, as the paper's mutual reinforcement says, the BOS logit gap grows
less than in the plain run at equal steps. The statistic is, per seed, the mean BOS logit gap over the checkpoints of
the clamped run and of the plain run at the same checkpoints, and the claim's value is the ratio of their means over
seeds (the share of the sink's growth left), with a bootstrap interval that resamples seeds as (clamped, plain) pairs.
History: an arithmetic mean of per-seed shares until the second issue-14 pass (one seed with a share of 1.4-2.3
stretched the interval, and the verdict moved between seed sets), then a geometric mean of the per-seed shares on the
log scale; the third pass's first `full` run (41 seeds) stopped before any verdict at the notebook's assertion that
every per-seed gap is positive: a clamped run whose mean gap is not positive (the clamp removed all of the growth)
has no log share. The ratio of means is defined for it, weights seeds by their plain growth rather than letting a
small denominator dominate, and is the statistic `sink_emergence_2024` uses for its paired ratio (amendment declared
before the re-run; bars unchanged). Bar: at most half of the growth left is "driving" (reproduced), at most 80%
partial: our reading of "each driving the other", which the paper states without a number. It can fail: a clamp that
changes nothing gives 1. Control: the same clamp on a placebo token (a real character at position 1, whose value has no
reason to drain); the BOS clamp must remove more growth than the placebo clamp: margin = placebo-clamped minus
BOS-clamped mean gap per seed (logit units; before the amendment, the difference of log shares).
Precondition: the plain runs grow a sink in the compared window.

A training run whose loss turns NaN (the shared trainer's `TrainingDiverged`) is reported by the notebook and left out
of every claim it enters (for `mutual-reinforcement`, the seed is left out of all three arms); each claim still needs
at least 5 seeds. Declared after one run of the `full` profile diverged on an Intel AVX-512 host (the AMD host of the
earlier record trained the same runs without a NaN).

Power preconditions `enough-seeds-*` (issue 14, item 3: stable verdicts; the redesign `papers/sink_emergence_2024` got
in 28d1ad6). With a fixed number of seeds, verdicts whose estimates sit near a bar moved with the seed set or the CPU:
in the 12-seed default, seeds 12-23 moved `dormant-sink` (partially -> inconclusive) and both ReLU claims
(inconclusive -> reproduced), seeds 24-35 both ReLU claims; in the 10-seed full, the host change alone moved
`value-drain` (partially -> reproduced) and `residual-peak` (inconclusive -> not reproduced). Each claim now needs a
pre-registered minimum number of seeds entering it, derived as `papers/tokenselect_2024` derives `MIN_DOCS`: a claim
with per-seed SD s whose estimate lies d from its nearest bar needs n >= (t_{n-1} x s / d)^2 seeds for a 95% interval
to clear that bar (at least 5, the evidence standard's floor). The inputs are the per-seed values of the committed
`full` record (results/full.json of 8ca44c7: 10 seeds, 2,000 / 1,000 / 1,500 steps), recomputed by re-training its
configurations on the same host (every claim's mean agrees with the record to 4 digits, and the same BOS-clamped run
diverged), not from any default outcome; ratios (geometric means) on the log scale:
- `dormant-sink`: seeds 0.964, 0.917, 0.807, 0.863, 0.387, 0.971, 0.675, 0.942, 0.665, 0.964 (s 0.189); 0.8155 is
  0.0155 from the bar 0.8: n >= 579, out of reach (about 84 min of the plain 2,000-step model alone);
- `active-copy`: s 0.0039; 0.9946 is 0.195 from the bar 0.8: n >= 2 -> 5;
- `value-drain`: seeds 0.074 ... 0.222 (s 0.0438); 0.1383 is 0.0617 from the bar 0.2: n >= 5;
- `mutual-reinforcement`: over the record's 9 seeds the ratio of mean gaps is 0.739 (the recorded geometric mean of
  shares: 0.6437); the per-seed linearised ratio (c_i - R p_i) / mean(p) has SD 0.429, and 0.739 is 0.061 from the
  bar 0.8: n >= 192, out of reach (under the first design's geometric mean, log SD 0.668 and log 0.6437 0.217 from log
  0.8: n >= 39, the number the 41-seed full was sized for);
- `residual-peak`: s 0.526; 1.159 is 0.841 from the partial bar 2: n >= 4 -> 5;
- `relu-no-sink`: 0 in all 9 seeds that learned the copy: n >= 2 -> 5;
- `relu-no-drain`: over the 9 seeds that learned the copy, 1.757, 0.623, 0.747, 0.870, 0.866, 2.241, 0.580, 0.443,
  0.950 (s 0.596); 1.009 is 0.509 from the bar 0.5: n >= 8;
- `sgd-no-peak`: per-seed Adam/SGD ratios (log SD 0.487); log 0.877 is 0.537 from log 1.5: n >= 6.
The ReLU precondition: before, `relu-learns-copy` asked the *mean* copy loss over the ReLU seeds to be at most 0.5,
so one seed that never learned the copy (seed 4 of the default on this host, 1.98 nats; seed 8 of the full, 2.19)
failed it and made both ReLU claims inconclusive, while seed sets without such a seed passed: the verdict followed one
seed. Now the ReLU claims are judged over the seeds whose ReLU model learned the copy (per-seed copy loss at most
RELU_COPY_BAR = 0.5 nats, the same bar; the filter reads the copy loss only, never the claim's statistic), and the
number of such seeds is the claims' power precondition. A ReLU head that never learned the task has nothing to be
dormant about, so "ReLU removes the sink" is a statement about the models that solved it; the notebook reports how many
did. The minimums depend on the profile's seeds and, for the ReLU claims, on how many learned the copy (about 1 seed
in 12 did not, so each profile trains enough ReLU seeds that two or three failures leave the count above its
minimum). The 60 s default (8 seeds of the 1-layer model, 12 ReLU seeds, 5 of the 3-layer models) says *inconclusive*
on `dormant-sink`, `mutual-reinforcement` and `sgd-no-peak` by precondition on any seeds and any CPU. The `full` was
first given 41 seeds of the 1-layer model and its clamped runs, for the 39 that the geometric mean needed; with the
ratio of means (amendment above) `mutual-reinforcement` needs 192 and `dormant-sink` 579, both out of reach of the
20 min budget, so the `full` trains what the reachable minimums need with a margin: 12 seeds of the 1-layer model and
its clamped runs (`active-copy`, `value-drain`: 5), 12 ReLU seeds (`relu-no-drain`: 8 that learned the copy), 10 of
the 3-layer models (`sgd-no-peak`: 6); about 9 min on one thread from the measured per-model times. It says
*inconclusive* by precondition on `dormant-sink` and `mutual-reinforcement`, declared here before the run.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

# The reproduction tolerances (issue 14, this design): the default profile executed twice with the same seeds before
# the pre-registration, on the default and on the AVX2 code path (ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2:
# what a CPU without AVX-512 runs); training is pinned to one thread, so the thread count moves nothing. Each is the
# measured relative move rounded up to one significant digit. That run trained the ReLU model 250 steps on 6 seeds and
# the 3-layer models 100 steps (now 400 / 5 and 40; the 1-layer model now has 12 seeds in the default, then 5);
# `relu-no-sink` keeps the absolute move measured in issue 12 at 400 steps. Training a few hundred steps turns last-digit differences into percent-level moves.
# Another CPU moves them further than the AVX2 code path did: on an Intel Xeon the AMD-made record's sink mean moved 7%
# (session 11), and training is chaotic in the last bit, so on another CPU each seed is in effect another draw of the
# training noise. Every claim also allows one width of its committed interval (`Tolerance.interval`); the verdict must
# not move (the host change alone moved two verdicts of the old full run: the seed-stability item that stays open).
_WHY = "training drift, same seeds: {}; rounded up; plus one interval width for another CPU"
TOL = {
    "dormant-sink": Tolerance(interval=1.0, rel=0.02, why=_WHY.format("the AVX2 code path moved it 1.3%")),
    "active-copy": Tolerance(interval=1.0, rel=3e-3, why=_WHY.format("the AVX2 code path moved it 0.28%")),
    "value-drain": Tolerance(interval=1.0, rel=8e-3, why=_WHY.format("the AVX2 code path moved it 0.72%")),
    "mutual-reinforcement": Tolerance(interval=1.0, rel=0.05, why=_WHY.format("the AVX2 code path moved it 4.1% (5 seeds, "
                                                                 "arithmetic mean)")),
    "residual-peak": Tolerance(interval=1.0, rel=0.06, why=_WHY.format("the AVX2 code path moved it 5.8% (100 steps)")),
    "relu-no-sink": Tolerance(interval=1.0, rel=0.0, abs=6e-3, why=_WHY.format("absolute near 0: at most 0.0057 (issue 12: 2 threads "
                                                                  "and the AVX2 code path, 400 steps)")),
    "relu-no-drain": Tolerance(interval=1.0, rel=0.06, why=_WHY.format("the AVX2 code path moved it 5.6% (250 steps)")),
    "sgd-no-peak": Tolerance(interval=1.0, rel=0.07, why=_WHY.format("the AVX2 code path moved it 7.0% (100 steps)")),
}  # fmt: skip
# a ReLU seed learned the copy when its loss at trigger positions (nats; about log 63 = 4.1 untrained, the bigram
# optimum elsewhere is 1.5) is at most this; the ReLU claims are judged over those seeds (docstring)
RELU_COPY_BAR = 0.5
# the power preconditions (docstring): minimum seeds entering each claim, from the per-seed spread of the committed full
MIN_SEEDS = {"dormant-sink": 579, "active-copy": 5, "value-drain": 5, "mutual-reinforcement": 192, "residual-peak": 5,
             "relu-no-sink": 5, "relu-no-drain": 8, "sgd-no-peak": 6}  # fmt: skip
_ENOUGH = ("enough for an estimate as far from its nearest bar as in the full record (8ca44c7) to clear it at that "
           "record's per-seed spread")  # fmt: skip
ENOUGH_SEEDS = {
    cid: Precondition(
        f"enough-seeds-{cid}",
        (f"at least {n} seeds whose 1-layer ReLU model learned the copy (loss at trigger positions at most "
         f"{RELU_COPY_BAR} nats), {_ENOUGH}" if cid.startswith("relu-") else f"at least {n} seeds enter the claim, "
         f"{_ENOUGH}"),
        AtLeast(n),
    )
    for cid, n in MIN_SEEDS.items()
}  # fmt: skip
SINK_GROWS = Precondition(
    "sink-grows",
    "the plain 1-layer runs grow a BOS logit gap within the compared steps: mean gap over their checkpoints (step 0 "
    "excluded; 0 at initialisation) at least 1 logit unit",
    AtLeast(1.0),
)
PLACEBO_CLAMP = Control(
    "placebo clamp",
    "the same value-norm clamp on a placebo token (the probe's most frequent first character, at position 1) instead "
    "of BOS; margin = the placebo-clamped run's mean logit gap minus the BOS-clamped run's, per seed (logit units; "
    "positive: clamping BOS removed more of the sink's growth)",
)
PAPER_VERSION = "2410.13835v2"
ADAM_HAS_PEAK = Precondition(
    "adam-has-peak",
    "the 3-layer Adam models have a residual peak to remove (max-layer BOS residual ratio; bar: the partial bar of "
    "residual-peak)",
    AtLeast(2.0),
)

CLAIMS = [
    Claim("dormant-sink", "On non-trigger tokens the 1-layer head is dormant: it puts (almost) all its attention on BOS",
          paper_value="attention on BOS near 1", unit="attention weight", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: mean attention weight on BOS from non-trigger query positions; "
                   "mean over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down", tolerance=TOL["dormant-sink"],
          preconditions=(ENOUGH_SEEDS["dormant-sink"],)),
    Claim("active-copy", "After a trigger token the same head is active: it attends to the previous token",
          paper_value="attention on the previous token near 1", unit="attention weight", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: mean attention weight on the previous token from trigger query "
                   "positions; mean over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down", tolerance=TOL["active-copy"],
          preconditions=(ENOUGH_SEEDS["active-copy"],)),
    Claim("value-drain", "The BOS value state has a much smaller norm than the other tokens' value states",
          paper_value="BOS value state near 0", unit="norm ratio", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: ||v_BOS|| / mean ||v_t|| (t > 0) on probe sequences; mean over seeds",
          rule=AtMost(0.2, partial=0.5), fidelity="scaled-down", tolerance=TOL["value-drain"],
          preconditions=(ENOUGH_SEEDS["value-drain"],)),
    Claim("mutual-reinforcement", "The attention sink and the value-state drain reinforce each other during training: "
          "the drained BOS value state drives the growth of the BOS attention logit, so without the drain the sink "
          "grows less", paper_value="mutual reinforcement (no number given)", unit="share of the logit-gap growth left",
          paper_ref="Abstract; Sec. 3 (training dynamics), Fig. 4(b)", paper_version=PAPER_VERSION,
          paper_quote="Our theoretical analysis of the training dynamics reveals that these phenomena are driven by a "
                      "mutual reinforcement mechanism.",
          measures="1-layer softmax model, Adam: mean BOS logit gap (non-trigger queries) over the checkpoints up to "
                   "CLAMP_STEPS of a run whose BOS value norm is held at the others' mean after every step, over the "
                   "same seed's plain run at the same checkpoints; ratio of the means over seeds (bootstrap over seed pairs)",
          rule=AtMost(0.5, partial=0.8), fidelity="scaled-down", tolerance=TOL["mutual-reinforcement"],
          preconditions=(ENOUGH_SEEDS["mutual-reinforcement"], SINK_GROWS), control=PLACEBO_CLAMP),
    Claim("residual-peak", "In the 3-layer model the BOS residual state has a much larger norm than the other tokens'",
          paper_value="BOS residual norm peak", unit="norm ratio", paper_ref="Sec. 2 (BB task, 3 layers)",
          measures="3-layer softmax model, Adam: max over layers of ||h_BOS|| / median ||h_t|| (t > 0) after the "
                   "block; mean over seeds",
          rule=AtLeast(5.0, partial=2.0), fidelity="scaled-down", tolerance=TOL["residual-peak"],
          preconditions=(ENOUGH_SEEDS["residual-peak"],)),
    Claim("relu-no-sink", "Replacing softmax by ReLU attention removes the attention sink",
          paper_value="no sink", unit="share of attention mass", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: BOS share of the attention mass from non-trigger queries; "
                   "mean over the seeds whose ReLU model learned the copy (copy loss at most RELU_COPY_BAR)",
          rule=AtMost(0.1, partial=0.3), fidelity="scaled-down", tolerance=TOL["relu-no-sink"],
          preconditions=(ENOUGH_SEEDS["relu-no-sink"],)),
    Claim("relu-no-drain", "Replacing softmax by ReLU attention removes the value-state drain",
          paper_value="no value drain", unit="norm ratio", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: ||v_BOS|| / mean ||v_t||; mean over the seeds whose ReLU "
                   "model learned the copy (copy loss at most RELU_COPY_BAR)",
          rule=AtLeast(0.5, partial=0.3), fidelity="scaled-down", tolerance=TOL["relu-no-drain"],
          preconditions=(ENOUGH_SEEDS["relu-no-drain"],)),
    Claim("sgd-no-peak", "Training with SGD instead of Adam removes the residual-state peak",
          paper_value="no residual peak with SGD", unit="ratio of peaks", paper_ref="Sec. 3 (interventions)",
          measures="3-layer softmax models: residual-peak ratio with Adam / with SGD (same seed); geometric mean over "
                   "seeds",
          rule=AtLeast(3.0, partial=1.5), fidelity="scaled-down", tolerance=TOL["sgd-no-peak"],
          preconditions=(ENOUGH_SEEDS["sgd-no-peak"], ADAM_HAS_PEAK)),
]  # fmt: skip
