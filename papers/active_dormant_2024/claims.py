"""The claims of arXiv:2410.13835 (active-dormant heads on the Bigram-Backcopy task) under test, with their verdict
rules: fixed before any run, judged by code after.

The paper reports these toy-model results as figures, without tabulated numbers; the paper values below are its
qualitative statements, and the bars are our reading of "sink", "much smaller" and "much larger". Section
references are coarse: only the abstract, the official code and its README (Fig. 4(b) = 1-layer dynamics) could be
read offline.
"""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("dormant-sink", "On non-trigger tokens the 1-layer head is dormant: it puts (almost) all its attention on BOS",
          paper_value="attention on BOS near 1", unit="attention weight", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: mean attention weight on BOS from non-trigger query positions; "
                   "mean over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down"),
    Claim("active-copy", "After a trigger token the same head is active: it attends to the previous token",
          paper_value="attention on the previous token near 1", unit="attention weight", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: mean attention weight on the previous token from trigger query "
                   "positions; mean over seeds",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down"),
    Claim("value-drain", "The BOS value state has a much smaller norm than the other tokens' value states",
          paper_value="BOS value state near 0", unit="norm ratio", paper_ref="Sec. 2 (BB task, 1 layer)",
          measures="1-layer softmax model, Adam: ||v_BOS|| / mean ||v_t|| (t > 0) on probe sequences; mean over seeds",
          rule=AtMost(0.2, partial=0.5), fidelity="scaled-down"),
    Claim("mutual-reinforcement", "During training the BOS attention logit grows while the BOS value norm shrinks, "
          "each driving the other", paper_value="logit up, value norm down", unit="Spearman rho",
          paper_ref="Sec. 3 (training dynamics), Fig. 4(b)",
          measures="1-layer softmax model, Adam: Spearman correlation over training checkpoints between the BOS "
                   "logit gap (non-trigger queries) and the BOS value-norm ratio; mean over seeds",
          rule=AtMost(-0.7, partial=-0.4), fidelity="scaled-down"),
    Claim("residual-peak", "In the 3-layer model the BOS residual state has a much larger norm than the other tokens'",
          paper_value="BOS residual norm peak", unit="norm ratio", paper_ref="Sec. 2 (BB task, 3 layers)",
          measures="3-layer softmax model, Adam: max over layers of ||h_BOS|| / median ||h_t|| (t > 0) after the "
                   "block; mean over seeds",
          rule=AtLeast(5.0, partial=2.0), fidelity="scaled-down"),
    Claim("relu-no-sink", "Replacing softmax by ReLU attention removes the attention sink",
          paper_value="no sink", unit="share of attention mass", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: BOS share of the attention mass from non-trigger queries; "
                   "mean over seeds",
          rule=AtMost(0.1, partial=0.3), fidelity="scaled-down"),
    Claim("relu-no-drain", "Replacing softmax by ReLU attention removes the value-state drain",
          paper_value="no value drain", unit="norm ratio", paper_ref="Sec. 3 (interventions)",
          measures="1-layer ReLU-attention model, Adam: ||v_BOS|| / mean ||v_t||; mean over seeds",
          rule=AtLeast(0.5, partial=0.3), fidelity="scaled-down"),
    Claim("sgd-no-peak", "Training with SGD instead of Adam removes the residual-state peak",
          paper_value="no residual peak with SGD", unit="ratio of peaks", paper_ref="Sec. 3 (interventions)",
          measures="3-layer softmax models: residual-peak ratio with Adam / with SGD (same seed); mean over seeds",
          rule=AtLeast(3.0, partial=1.5), fidelity="scaled-down"),
]  # fmt: skip
