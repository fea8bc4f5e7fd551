"""The claims of arXiv:2306.09927 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("global-min", "Gradient flow from the paper's initialisation reaches the global minimum u W11 = Gamma^-1",
          paper_value=0.0, unit="relative Frobenius distance", paper_ref="Thm. 4.1",
          measures="worst prompt length's ||u W11 - Gamma^-1|| / ||Gamma^-1|| after training; mean over seeds",
          rule=AtMost(0.05, partial=0.15), fidelity="scaled-down"),
    Claim("other-blocks-zero", "All parameters outside u and W11 stay at zero during training",
          paper_value=0.0, unit="norm relative to ||u W11||", paper_ref="Thm. 4.1 (proof, Lemma 5.2)",
          measures="worst prompt length's norm of the other entries of W_PV and W_KQ over ||u W11||; mean over seeds",
          rule=AtMost(0.05, partial=0.15), fidelity="scaled-down"),
    Claim("error-closed-form", "Test error equals the closed form of the global minimum, for every train and test length",
          paper_value=0.0, unit="relative deviation", paper_ref="Thm. 4.1, Thm. 4.2",
          measures="max over (N, M) of |Monte-Carlo test error / closed form - 1|; mean over seeds",
          rule=AtMost(0.10, partial=0.30), fidelity="scaled-down"),
    Claim("task-query-robust", "Task and query shifts leave the normalised prediction error unchanged",
          paper_value="tolerated", unit="max |ratio - 1|", paper_ref="Sec. 4.2 (task and query shifts)",
          measures="max over shifts of |normalised error shifted / in-distribution - 1|; mean over seeds",
          rule=AtMost(0.15, partial=0.30), fidelity="scaled-down"),
    Claim("covariate-brittle", "Covariate shift multiplies the normalised prediction error several-fold",
          paper_value="brittle", unit="error ratio", paper_ref="Sec. 4.2 (covariate shifts)",
          measures="normalised error at the largest test covariate variance (COV_SCALES) / at variance 1; "
                   "mean over seeds",
          rule=AtLeast(5.0, partial=2.0), fidelity="scaled-down"),
]  # fmt: skip
