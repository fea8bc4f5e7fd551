"""The claims of arXiv:2410.13835 (active-dormant heads on the Bigram-Backcopy task) under test, with their verdict
rules: fixed before any run, judged by code after.

The paper reports these toy-model results as figures, without tabulated numbers; the paper values below are its
qualitative statements, and the bars are our reading of "sink", "much smaller" and "much larger". Section
references are coarse: only the abstract, the official code and its README (Fig. 4(b) = 1-layer dynamics) could be
read offline.

Verdict engine v2: every value is a mean over training seeds (the independent unit: initialisation and data) with a
bootstrap interval over seeds (5 seeds; 10 for the cheap 1-layer ReLU model, whose BOS share is 0 in most seeds and
about 0.1 in a few, which put the 5-seed interval on the 0.1 bar in a rerun on another CPU code path); the Adam/SGD
peak ratio is the geometric mean of the paired per-seed ratios (log scale). Two preconditions say when the setup can
show an effect: the ReLU models must have learned the copy (else "no sink" would hold for an untrained head), and the
3-layer Adam models must have a residual peak (else there is nothing for SGD to remove). `mutual-reinforcement` keeps
its v1 design (the Spearman correlation over one run's checkpoints, then a mean over seeds); since any two monotone
trends give -1, it is listed for issue 14.
"""

from shared.claims import AtLeast, AtMost, Claim, Precondition, Tolerance

# The reproduction tolerances: the default profile re-run with the same seeds with the training at 2 threads (before
# it was pinned to one) and on another CPU code path (ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2: what a CPU
# without AVX-512 runs); each is the larger move, rounded up. Training a few hundred steps turns last-digit differences
# into percent-level moves.
_WHY = "training drift, same seeds: {}; rounded up"
TOL = {
    "dormant-sink": Tolerance(rel=0.04, why=_WHY.format("2 training threads moved it 3.1%, the AVX2 code path 1.5%")),
    "active-copy": Tolerance(rel=3e-3, why=_WHY.format("the AVX2 code path moved it 0.24%, 2 threads 0.07%")),
    "value-drain": Tolerance(rel=0.03, why=_WHY.format("2 training threads moved it 2.5%, the AVX2 code path 0.8%")),
    "mutual-reinforcement": Tolerance(rel=0.04, why=_WHY.format("the AVX2 code path moved it 3.5%, 2 threads 0.1%")),
    "residual-peak": Tolerance(rel=0.02, why=_WHY.format("2 training threads moved it 1.1%, the AVX2 code path 0.8%")),
    "relu-no-sink": Tolerance(rel=0.0, abs=6e-3, why=_WHY.format("absolute near 0: at most 0.0057 (2 threads and the "
                                                                  "AVX2 code path, 5 and 10 seeds)")),
    "relu-no-drain": Tolerance(rel=0.02, why=_WHY.format("2 training threads and the AVX2 code path moved it 1.5%")),
    "sgd-no-peak": Tolerance(rel=9e-3, why=_WHY.format("2 training threads moved it 0.87%, the AVX2 code path 0.7%")),
}  # fmt: skip
RELU_LEARNS_COPY = Precondition(
    "relu-learns-copy",
    "the 1-layer ReLU models learned the copy: mean loss at trigger positions (nats; about log 63 = 4.1 untrained, the "
    "bigram optimum elsewhere is 1.5) at most 0.5",
    AtMost(0.5),
)
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
    Claim("mutual-reinforcement", "During training the BOS attention logit grows while the BOS value norm shrinks, "
          "each driving the other", paper_value="logit up, value norm down", unit="Spearman rho",
          paper_ref="Sec. 3 (training dynamics), Fig. 4(b)",
          measures="1-layer softmax model, Adam: Spearman correlation over training checkpoints between the BOS "
                   "logit gap (non-trigger queries) and the BOS value-norm ratio; mean over seeds",
          rule=AtMost(-0.7, partial=-0.4), fidelity="scaled-down", tolerance=TOL["mutual-reinforcement"]),
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
