"""The claims of "Fast Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling" under
test, with their verdict rules: fixed before any run, judged by code after.

Units: generation steps for the evaluation count (a bootstrap of VOCAB_BIG / mean evaluations) and for the weight's
bias (the mean of signed per-step relative errors, judged two-sided); draw indices for the TV ratio (a bootstrap that
resamples every model's LCD and SMC draws together).
"""

from shared.claims import AtLeast, AtMost, Claim, Tolerance, Within

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

CLAIMS = [
    Claim("fewer-evaluations", "Adaptive rejection sampling needs orders of magnitude fewer constraint evaluations "
          "than token masking", paper_value="orders of magnitude", unit="x fewer evaluations",
          paper_ref="Abstract; Sec. 5 (runtime)",
          measures="vocabulary size (masking's evaluations per token) / AWRS's mean evaluations per token, both rounds "
                   "counted, on VOCAB_BIG-token models; bootstrap over generation steps (all seeds)",
          rule=AtLeast(10, partial=3), fidelity="analogue", tolerance=TOL),
    Claim("unbiased-weight", "AWRS's importance weight is an unbiased estimate of the local constrained mass",
          paper_value=0.0, unit="mean of weight / exact mass - 1", paper_ref="Sec. 3 (weighted rejection sampling)",
          measures="mean over generation steps (all seeds) of the signed relative error AWRS weight / exact allowed "
                   "mass - 1; bootstrap over steps; two-sided: the whole interval inside the band",
          rule=Within(-0.03, 0.03, partial=(-0.1, 0.1)), fidelity="analogue", tolerance=TOL),
    Claim("smc-corrects-lcd", "SMC with AWRS weights is closer to the global constrained distribution than locally "
          "constrained decoding", paper_value="closer", unit="TV ratio (SMC / LCD)",
          paper_ref="Abstract; Sec. 4-5",
          measures="mean over models of TV to the exact global constrained distribution of N_SAMPLES AWRS-SMC samples "
                   "(N_PARTICLES particles) / of N_SAMPLES LCD samples; bootstrap over draw indices",
          rule=AtMost(0.8, partial=1.0), fidelity="analogue", tolerance=TOL),
]  # fmt: skip
