"""The claims of arXiv:2410.13835 (active-dormant heads on the Bigram-Backcopy task) under test, with their verdict
rules: fixed before any run, judged by code after.

The paper reports these toy-model results as figures, without tabulated numbers; the paper values below are its
qualitative statements, and the bars are our reading of "sink", "much smaller" and "much larger". Section
references are coarse: only the abstract, the official code and its README (Fig. 4(b) = 1-layer dynamics) could be
read offline.

Verdict engine v2: every value is a mean over training seeds (the independent unit: initialisation and data) with a
bootstrap interval over seeds (12 in the default profile for the 1-layer softmax model and its clamped runs, 5 for
the ReLU and 3-layer models; 10 for every configuration in `full`); the Adam/SGD peak ratio and the
mutual-reinforcement share are geometric means of paired per-seed ratios (log scale). Two preconditions say when the setup can
show an effect: the ReLU models must have learned the copy (else "no sink" would hold for an untrained head), and the
3-layer Adam models must have a residual peak (else there is nothing for SGD to remove).

`mutual-reinforcement` (redesigned in issue 14; before, a Spearman correlation of two trends over one run's
checkpoints, which any two monotone curves pass) is an intervention: the 1-layer model is trained again from the same
seed and data with its BOS value-state norm held at the mean of the other tokens' after every optimiser step (a
rank-one rescaling of the value projection along BOS's input, applied by the shared trainer's callback), so the value
state cannot drain. If the drain drives the sink, as the paper's mutual reinforcement says, the BOS logit gap grows
less than in the plain run at equal steps. The statistic is, per seed, the mean BOS logit gap over the checkpoints of
the clamped run divided by the plain run's at the same checkpoints (the share of the sink's growth left), then a
geometric mean over seeds with a bootstrap interval on the log scale (since the stability review of issue 14: it is a
ratio per seed, which the evidence standard puts on the log scale; the arithmetic mean, used before, let one seed with
a share of 1.4-2.3 stretch the interval, and the verdict moved between seed sets). Bar: at most half of the growth left is "driving" (reproduced), at most 80%
partial: our reading of "each driving the other", which the paper states without a number. It can fail: a clamp that
changes nothing gives 1. Control: the same clamp on a placebo token (a real character at position 1, whose value has no
reason to drain); the BOS clamp must remove more growth than the placebo clamp (on the same log scale).
Precondition: the plain runs grow a sink in the compared window.

A training run whose loss turns NaN (the shared trainer's `TrainingDiverged`) is reported by the notebook and left out
of every claim it enters (for `mutual-reinforcement`, the seed is left out of all three arms); each claim still needs
at least 5 seeds. Declared after one run of the `full` profile diverged on an Intel AVX-512 host (the AMD host of the
earlier record trained the same runs without a NaN).
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
RELU_LEARNS_COPY = Precondition(
    "relu-learns-copy",
    "the 1-layer ReLU models learned the copy: mean loss at trigger positions (nats; about log 63 = 4.1 untrained, the "
    "bigram optimum elsewhere is 1.5) at most 0.5",
    AtMost(0.5),
)
SINK_GROWS = Precondition(
    "sink-grows",
    "the plain 1-layer runs grow a BOS logit gap within the compared steps: mean gap over their checkpoints (step 0 "
    "excluded; 0 at initialisation) at least 1 logit unit",
    AtLeast(1.0),
)
PLACEBO_CLAMP = Control(
    "placebo clamp",
    "the same value-norm clamp on a placebo token (the probe's most frequent first character, at position 1) instead "
    "of BOS; margin = log of the placebo run's share of the plain logit-gap growth minus log of the BOS-clamped "
    "run's, per seed (positive: clamping BOS removed more of the sink's growth)",
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
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down", tolerance=TOL["dormant-sink"]),
    Claim("active-copy", "After a trigger token the same head is active: it attends to the previous token",
          paper_value="attention on the previous token near 1", unit="attention weight", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: mean attention weight on the previous token from trigger query "
                   "positions; mean over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down", tolerance=TOL["active-copy"]),
    Claim("value-drain", "The BOS value state has a much smaller norm than the other tokens' value states",
          paper_value="BOS value state near 0", unit="norm ratio", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: ||v_BOS|| / mean ||v_t|| (t > 0) on probe sequences; mean over seeds",
          rule=AtMost(0.2, partial=0.5), fidelity="scaled-down", tolerance=TOL["value-drain"]),
    Claim("mutual-reinforcement", "The attention sink and the value-state drain reinforce each other during training: "
          "the drained BOS value state drives the growth of the BOS attention logit, so without the drain the sink "
          "grows less", paper_value="mutual reinforcement (no number given)", unit="share of the logit-gap growth left",
          paper_ref="Abstract; Sec. 3 (training dynamics), Fig. 4(b)", paper_version=PAPER_VERSION,
          paper_quote="Our theoretical analysis of the training dynamics reveals that these phenomena are driven by a "
                      "mutual reinforcement mechanism.",
          measures="1-layer softmax model, Adam: mean BOS logit gap (non-trigger queries) over the checkpoints up to "
                   "CLAMP_STEPS of a run whose BOS value norm is held at the others' mean after every step, over the "
                   "same seed's plain run at the same checkpoints; geometric mean over seeds (log-scale interval)",
          rule=AtMost(0.5, partial=0.8), fidelity="scaled-down", tolerance=TOL["mutual-reinforcement"],
          preconditions=(SINK_GROWS,), control=PLACEBO_CLAMP),
    Claim("residual-peak", "In the 3-layer model the BOS residual state has a much larger norm than the other tokens'",
          paper_value="BOS residual norm peak", unit="norm ratio", paper_ref="Sec. 2 (BB task, 3 layers)",
          measures="3-layer softmax model, Adam: max over layers of ||h_BOS|| / median ||h_t|| (t > 0) after the "
                   "block; mean over seeds",
          rule=AtLeast(5.0, partial=2.0), fidelity="scaled-down", tolerance=TOL["residual-peak"]),
    Claim("relu-no-sink", "Replacing softmax by ReLU attention removes the attention sink",
          paper_value="no sink", unit="share of attention mass", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: BOS share of the attention mass from non-trigger queries; "
                   "mean over seeds",
          rule=AtMost(0.1, partial=0.3), fidelity="scaled-down", tolerance=TOL["relu-no-sink"], preconditions=(RELU_LEARNS_COPY,)),
    Claim("relu-no-drain", "Replacing softmax by ReLU attention removes the value-state drain",
          paper_value="no value drain", unit="norm ratio", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: ||v_BOS|| / mean ||v_t||; mean over seeds",
          rule=AtLeast(0.5, partial=0.3), fidelity="scaled-down", tolerance=TOL["relu-no-drain"], preconditions=(RELU_LEARNS_COPY,)),
    Claim("sgd-no-peak", "Training with SGD instead of Adam removes the residual-state peak",
          paper_value="no residual peak with SGD", unit="ratio of peaks", paper_ref="Sec. 3 (interventions)",
          measures="3-layer softmax models: residual-peak ratio with Adam / with SGD (same seed); geometric mean over "
                   "seeds",
          rule=AtLeast(3.0, partial=1.5), fidelity="scaled-down", tolerance=TOL["sgd-no-peak"], preconditions=(ADAM_HAS_PEAK,)),
]  # fmt: skip
