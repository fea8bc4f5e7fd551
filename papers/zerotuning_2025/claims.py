"""The claims of arXiv:2505.11739 (ZeroTuning) under test, with their verdict rules: fixed before any run, judged by
code after."""

from shared.claims import AtLeast, Claim

CLAIMS = [
    Claim("zerotuning-gain", "Tuning only the attention to the initial token, in the head type and with the scale "
          "chosen on a small calibration set, raises task accuracy without training",
          paper_value=11.71, unit="accuracy points, tuned - untuned (held-out)",
          paper_ref="Abstract, Tab. 1-2 (Llama-3.1-8B: +11.71 classification, +2.64 multiple-choice QA, averages)",
          measures="held-out accuracy of ZeroTuning (heads profiled and scale searched on CALIB_PER_LABEL x classes "
                   "calibration examples) minus the untuned model's, on TEST_PER_LABEL x classes test examples; one "
                   "sample per (task, seed), each seed a fresh split and fresh demonstrations",
          rule=AtLeast(2.0, partial=0.0), fidelity="scaled-down"),
    Claim("entropy-direction", "Raising the initial token's attention flattens the attention over the other tokens, "
          "lowering it sharpens it", paper_value="gamma > 1 flattens, gamma < 1 sharpens", unit="Spearman rho",
          paper_ref="Abstract; Sec. 3 (theoretical analysis)",
          measures="per prompt: Spearman correlation between gamma (all heads, all layers, ENTROPY_GAMMAS) and the "
                   "entropy of the renormalised attention over the non-initial keys, averaged over heads, queries and "
                   "layers >= 1 (layer 0 is exactly invariant); mean over ENTROPY_PROMPTS prompts",
          rule=AtLeast(0.8, partial=0.5), fidelity="scaled-down"),
    Claim("early-layers-matter-more", "Scaling the initial token's attention in earlier layers has a larger effect "
          "than in later layers", paper_value="consistent trend: earlier layers have greater impact", unit="KL ratio",
          paper_ref="Abstract; Sec. 4 (layer-wise analysis)",
          measures="mean KL(untuned || scaled) of the candidate-label distribution on the calibration split when all "
                   "heads of the first third of the layers are scaled by PROBE_GAMMA, divided by the same for the "
                   "last third; one sample per (task, seed)",
          rule=AtLeast(1.5, partial=1.0), fidelity="scaled-down"),
    Claim("heads-differ", "Heads differ in how they respond: raising the initial token's attention helps in some "
          "heads and hurts in others", paper_value="up-effective and down-effective heads coexist", unit="fraction",
          paper_ref="Abstract; Sec. 4 (head-wise analysis)",
          measures="fraction of (task, seed) calibrations whose head profiling (PROBE_GAMMA on one head index in every "
                   "layer) finds both an up-effective and a down-effective head index",
          rule=AtLeast(0.5, partial=0.25), fidelity="scaled-down"),
]  # fmt: skip
