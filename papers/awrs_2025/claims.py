"""The claims of "Fast Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling" under
test, with their verdict rules: fixed before any run, judged by code after.

Issue 14: the cost claims run on a real LM (the zoo's `tiny-lm-large`, 8k BPE vocabulary) at random held-out contexts
under lipogram constraints, one constrained step per context (the unit). The paper's own account of the cost, that it
scales with the divergence between the LM and its constrained version, is tested directly: the Spearman correlation of
AWRS's mean evaluations per context with KL(constrained || LM) = -log Z, against the vocabulary explanation (the banned
share of the vocabulary) as the trivial control. The distortion claim keeps enumerable toys (it needs the exact global
constrained distribution). Its toy models are drawn conditionally on the paper's premise (issue 14, second
redesign): each seed's model is the first random draw whose exact LCD distortion is >= MIN_DISTORTION = 0.15 TV (the
notebook's parameter; an exact enumeration made before any sampling, so it cannot see how SMC does; 0.15 is 2.4x the
largest noise floor TV can have at 600 draws over the 16 allowed strings, 0.063 for a uniform distribution). Before, the
precondition asked every *random* model to distort by >= 0.1 TV, which about 3 draws in 10 fail (13 of the 42 models of
seeds 0-7, 10-12, 20-22 at k = 0-2), so the more models the likelier the claim went inconclusive (full run: 8 models,
seed 6 at 0.024). The precondition now checks power: every model's exact distortion is >= 2x the sampling noise of TV
at N_SAMPLES draws, so that a perfect SMC would score a ratio near 0.5, under the 0.8 bar. The claim can still fail:
SMC samples no closer than LCD's give a ratio near 1 (a test feeds that placebo).

Unit of the distortion claim (issue 14, session 10, third change): the claim is about models in general, so its
interval resamples toy models, not only draws. Before, the ratio's bootstrap resampled draw indices with the (3 or 8)
models held fixed, so the interval did not cover the model-to-model spread (per model the ratio ran 0.18-0.89 at 8
particles, seeds 0-2, 10-12, 30-32). Now each run draws MODELS_PER_SEED toy models per seed (>= 8 models in every
profile: 9 in the default, 32 in full) and the interval is a two-level bootstrap (`method.hierarchical_bootstrap`:
models with replacement, then draws within each drawn model; percentile). The verdicts had all held before this change;
the redesign fits the unit to the claim. Rule, MIN_DISTORTION and the precondition are unchanged.

Bars: "scaling with the divergence" and "driven by" (abstract) are read as a strong monotone association, Spearman >= 0.7
(partial: >= 0.4): under rejection sampling with replacement the expected cost is exactly exp(KL), a monotone function
of KL, and AWRS's cost is at most that. "Orders of magnitude fewer" is >= 10x (partial: >= 3x).
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

V = "2504.05410v2"

# the toy studies gave identical values at 1 and 2 threads (float64); the cost study's float32 tiny-LM forwards gave
# identical draws and values at 1 and 2 threads in dyspec_2024 (the same models and windows); floor 2e-3
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (toys here; tiny-LM forwards in dyspec_2024); floor 2e-3 "
                "for last-digit drift across CPUs")  # fmt: skip

VARIES = Precondition("divergence-varies", "the constraints bind strongly at some contexts: a share >= 0.05 of the "
                      "contexts have KL(constrained || LM) >= 1 nat (allowed mass <= 0.37; Wilson interval)",
                      AtLeast(0.05))  # fmt: skip
DISTORTS = Precondition("distortion-above-noise", "LCD's distortion stands clear of the sampling noise: each toy "
                        "model is drawn with an exact LCD distortion >= MIN_DISTORTION = 0.15 TV (the design), and for "
                        "every model that exact TV is >= 2x the noise floor, the mean TV of N_SAMPLES i.i.d. draws from "
                        "the exact global distribution (what a perfect sampler scores; 200 simulated replicates); "
                        "value: the minimum over models of exact TV / noise floor", AtLeast(2.0))  # fmt: skip

CLAIMS = [
    Claim("evaluations-scale-with-divergence", "AWRS's constraint evaluations grow with the divergence between the LM "
          "and its constrained version", paper_value="scales with the divergence", unit="Spearman rho",
          paper_ref="Abstract (last sentence)", paper_version=V,
          paper_quote="Additional theoretical and empirical analyses show that our method's runtime efficiency is "
          "driven by its dynamic use of computation, scaling with the divergence between the unconstrained and "
          "constrained LM, and as a consequence, runtime improvements are greater for better models.",
          measures="Spearman correlation over held-out contexts (all seeds; tiny-lm-large, lipograms cycled over the "
                   "contexts) between AWRS's mean constraint evaluations (N_REP steps, both rounds) and KL(constrained "
                   "|| LM) = -log Z; Fisher z interval over contexts",
          rule=AtLeast(0.7, partial=0.4), fidelity="scaled-down", tolerance=TOL, preconditions=(VARIES,),
          control=Control("vocabulary", "the vocabulary explanation: the same evaluations against the banned share of "
                          "the vocabulary; margin = rho(KL) - rho(banned share), interval from the far ends of the two "
                          "Fisher z intervals (conservative)")),
    Claim("fewer-evaluations", "Adaptive rejection sampling needs orders of magnitude fewer constraint evaluations "
          "than token masking", paper_value="orders of magnitude", unit="x fewer evaluations",
          paper_ref="Abstract; Sec. 5 (runtime)", paper_version=V,
          paper_quote="we propose an adaptive rejection sampling algorithm that typically requires orders of magnitude "
          "fewer constraint evaluations.",
          measures="vocabulary size V (masking's evaluations per token) / AWRS's mean evaluations per step, both rounds "
                   "counted, tiny-lm-large under lipograms at held-out contexts; bootstrap over contexts",
          rule=AtLeast(10, partial=3), fidelity="scaled-down", tolerance=TOL, preconditions=(VARIES,)),
    Claim("unbiased-weight", "AWRS's importance weight is an unbiased estimate of the local constrained mass",
          paper_value=0.0, unit="mean of weight / exact mass - 1", paper_ref="Sec. 3 (weighted rejection sampling)",
          measures="mean over held-out contexts (all seeds; tiny-lm-large, lipograms) of the signed relative error "
                   "mean AWRS weight (N_REP steps) / exact allowed mass - 1; bootstrap over contexts; two-sided: the "
                   "whole interval inside the band",
          rule=Within(-0.03, 0.03, partial=(-0.1, 0.1)), fidelity="scaled-down", tolerance=TOL),
    Claim("smc-corrects-lcd", "SMC with AWRS weights is closer to the global constrained distribution than locally "
          "constrained decoding", paper_value="closer", unit="TV ratio (SMC / LCD)",
          paper_ref="Abstract; Sec. 4-5", paper_version=V,
          paper_quote="estimates that can be soundly used within previously proposed sequential Monte Carlo algorithms "
          "to correct for the myopic behavior of local constraint enforcement.",
          measures="mean over toy models (MODELS_PER_SEED per seed, each drawn conditionally on an exact LCD "
                   "distortion >= MIN_DISTORTION = 0.15 TV) of TV to the exact global constrained distribution of "
                   "N_SAMPLES AWRS-SMC samples (N_PARTICLES particles) / of N_SAMPLES LCD samples; two-level bootstrap "
                   "(toy models with replacement, then draws within each drawn model; percentile), n = toy models",
          rule=AtMost(0.8, partial=1.0), fidelity="analogue", tolerance=TOL, preconditions=(DISTORTS,)),
]  # fmt: skip
