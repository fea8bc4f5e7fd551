"""The claims of arXiv:2306.09927 under test, with their verdict rules: fixed before any run, judged by code after.

Verdict engine v2: the unit of every claim is a training seed (initialisation, training batches and test prompts);
values are means over 5 seeds with a bootstrap interval over seeds.

The two distribution-shift claims are judged against the prompt length N (every training length, tested at M = N),
because the paper's robustness statement is about how the error behaves as prompts grow: under task and query shifts
the error of the trained layer still vanishes like 1/N, under covariate shift it does not. The bars follow from the
closed form (`method.shifted_error`), not from a pilot: in distribution, and under any task or query shift, the error
of the global minimum falls by (N_min + d + 1) / (N_max + d + 1) = 0.24 from N = 5 to N = 40 (d = 5); under the
covariate shift c = 4 it grows by 1.7x, and its ratio to the in-distribution error is 8.5 at N = 5 and 61 at N = 40.
"""

from shared.claims import AtLeast, AtMost, Claim, Precondition, Tolerance

# the default profile run twice with the same seeds, at 1 and at 2 threads: every value, interval bound and precondition
# identical at 4 significant digits (float64 throughout)
_SAME = Tolerance(rel=2e-3, why="1 vs 2 threads left value and interval unchanged at 4 significant digits; floor 2e-3 "
                  "for last-digit drift across CPUs")  # fmt: skip
TOL = dict.fromkeys(["global-min", "other-blocks-zero", "error-closed-form", "task-query-robust", "covariate-brittle"],
                    _SAME)  # fmt: skip

CLAIMS = [
    Claim("global-min", "Gradient flow from the paper's initialisation reaches the global minimum u W11 = Gamma^-1",
          paper_value=0.0, unit="relative Frobenius distance", paper_ref="Thm. 4.1",
          measures="worst prompt length's ||u W11 - Gamma^-1|| / ||Gamma^-1|| after training; mean over seeds",
          rule=AtMost(0.05, partial=0.15), fidelity="scaled-down", tolerance=TOL["global-min"]),
    Claim("other-blocks-zero", "All parameters outside u and W11 stay at zero during training",
          paper_value=0.0, unit="norm relative to ||u W11||", paper_ref="Thm. 4.1 (proof, Lemma 5.2)",
          measures="worst prompt length's norm of the other entries of W_PV and W_KQ over ||u W11||; mean over seeds",
          rule=AtMost(0.05, partial=0.15), fidelity="scaled-down", tolerance=TOL["other-blocks-zero"]),
    Claim("error-closed-form", "Test error equals the closed form of the global minimum, for every train and test length",
          paper_value=0.0, unit="relative deviation", paper_ref="Thm. 4.1, Thm. 4.2",
          measures="max over (N, M) of |Monte-Carlo test error / closed form - 1|; mean over seeds",
          rule=AtMost(0.10, partial=0.30), fidelity="scaled-down", tolerance=TOL["error-closed-form"]),
    Claim("task-query-robust", "Task and query shifts are tolerated: under a shifted task or query distribution the "
          "prediction error still vanishes as the prompt grows, as in distribution",
          paper_value="tolerated", unit="error at N_max / error at N_min", paper_ref="Sec. 4.2 (task and query shifts)",
          measures="worst of a mean-shifted non-isotropic task and a mean-shifted non-isotropic query: normalised error "
                   "of the model trained and tested at max(PROMPT_LENGTHS) / at min(PROMPT_LENGTHS); mean over seeds. "
                   "The global minimum gives 0.24 (d = 5, N 5 -> 40), a shift that stops the error vanishing >= 1 (the "
                   "covariate shift c = 4: 1.7)",
          rule=AtMost(0.5, partial=0.8), fidelity="scaled-down", tolerance=TOL["task-query-robust"],
          preconditions=(Precondition("learns-in-distribution", "the trained layer's in-distribution error falls with "
                                      "the prompt length (error at N_max / at N_min, mean over seeds)",
                                      AtMost(0.5)),)),
    Claim("covariate-brittle", "Covariate shift multiplies the normalised prediction error several-fold, at every "
          "prompt length",
          paper_value="brittle", unit="error ratio", paper_ref="Sec. 4.2 (covariate shifts)",
          measures="per training length N in PROMPT_LENGTHS (tested at M = N): normalised error at test covariate "
                   "variance max(COV_SCALES) / in distribution, geometric mean over seeds; the smallest over N "
                   "(bootstrap over seeds)",
          rule=AtLeast(5.0, partial=2.0), fidelity="scaled-down", tolerance=TOL["covariate-brittle"]),
]  # fmt: skip
