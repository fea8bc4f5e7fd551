"""The claims of "Fast Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling" under
test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("fewer-evaluations", "Adaptive rejection sampling needs orders of magnitude fewer constraint evaluations "
          "than token masking", paper_value="orders of magnitude", unit="x fewer evaluations",
          paper_ref="Abstract; Sec. 5 (runtime)",
          measures="vocabulary size (masking's evaluations per token) / AWRS evaluations per token, both rounds "
                   "counted, on VOCAB_BIG-token models; one value per seed",
          rule=AtLeast(10, partial=3), fidelity="analogue"),
    Claim("unbiased-weight", "AWRS's importance weight is an unbiased estimate of the local constrained mass",
          paper_value=0.0, unit="|mean weight / exact mass - 1|", paper_ref="Sec. 3 (weighted rejection sampling)",
          measures="|mean over generation steps of AWRS weight / exact allowed mass - 1|; one value per seed",
          rule=AtMost(0.03, partial=0.1), fidelity="analogue"),
    Claim("smc-corrects-lcd", "SMC with AWRS weights is closer to the global constrained distribution than locally "
          "constrained decoding", paper_value="closer", unit="TV ratio (SMC / LCD)",
          paper_ref="Abstract; Sec. 4-5",
          measures="TV to the exact global constrained distribution of N_SAMPLES AWRS-SMC samples (N_PARTICLES "
                   "particles) / of N_SAMPLES LCD samples; one value per seed",
          rule=AtMost(0.8, partial=1.0), fidelity="analogue"),
]  # fmt: skip
