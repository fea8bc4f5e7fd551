"""The claims of "Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement" under
test, with their verdict rules: fixed before any run, judged by code after.

Per-node acceptances are enumerated exactly on toy pairs, but the node pairs are random draws: the per-node gain is a
geometric mean of paired per-node ratios over distinct node pairs (log-scale bootstrap). Block efficiencies come from
sampled generations on the zoo's real pair (tiny-lm-small drafting for tiny-lm-large, prompts from held-out text;
issue 14): paired per-prompt ratios over evaluation prompts. For the fixed-budget claim the i.i.d. baseline's
configuration is chosen per budget on separate selection prompts and seeds, then compared with RSD-C on the evaluation
prompts (before issue 14 it was chosen on the same runs, one win or loss per budget). The exactness test is a seeded
chi-square test, judged at level 1e-3 with its power as a precondition.

Paper: arXiv:2402.14160v2 (the quoted sentence is the last of the abstract).

Power preconditions `enough-prompts-length` and `enough-prompts-budget` (issue 14, item 3: stable verdicts). A run must
have at least the evaluation prompts a ratio of the paper's size needs to be placed against the claim's lowest bar (its
95% interval clear of it), at the per-prompt spread of the committed `full` record; fixed by the profile's design
before any run, so neither can pass by chance. Derivation, not from the default's outcome:
- Spread: the `full` record (60 prompts, 32 new tokens, 3 shapes, 5 budgets) has log-scale 95% intervals of half-width
  0.0243 (fixed-length, [0.9831, 1.032]) and 0.0323 (fixed-budget, [0.7783, 0.8303]): per-prompt SD of the log ratio
  SD = half-width x sqrt(60) / 1.96 = 0.0959 and 0.1278.
- Design: a prompt's log ratio is a mean over its settings (shapes or budgets) of generations of MAX_NEW tokens, and
  the noise is per generated block, so its variance scales as 1 / (MAX_NEW x settings): SD(design) = SD_full x
  sqrt(32 x settings_full / (MAX_NEW x settings)). Checked on the committed default record (20 tokens, 2 shapes, 3
  budgets; 12 prompts): predicted 0.149 and 0.209, its intervals imply 0.156 and 0.203.
- Distance: the paper gives directions, not sizes. `fixed-length` ("consistently better"): a gain of the reproduced
  bar's size, 1.02, against the lowest bar 1: ln(1.02) = 0.0198. `fixed-budget` ("at least as good in most settings"):
  a ratio of 1 against the partial bar 0.95: ln(1 / 0.95) = 0.0513.
- Prompts needed: the least n with t_{n-1, 0.975} x SD(design) / sqrt(n) <= distance. Full design: 93 (length) and 27
  (budget); the default's (20 tokens, 2 shapes, 3 budgets): 219 and 67. The precondition's measurement is the run's
  evaluation prompts / prompts needed, passed at >= 1. The 60 s default buys 67 fixed-budget prompts (~0.11 s per
  generation on one core since the engine's HFSession fast path), not 219 fixed-length ones: its `fixed-length` is
  inconclusive by design, and the `full` profile (100 prompts) meets both.
"""

import math

from scipy.stats import t as student_t

from shared.claims import AtLeast, Claim, Precondition, Tolerance, Within

# measured by running the default profile at 1 and at 2 threads, same seeds: every value identical (float64 toys)
TOL = Tolerance(rel=2e-3, why="1 vs 2 threads: identical (0); floor 2e-3 for last-digit drift across CPUs")

# the real-pair claims (tiny LMs in fp32): an exploratory default run (prompt seed 0, kept out of the recorded runs) at 1
# and at 2 threads gave identical values; a sampled token flips only when a uniform falls within ~1e-7 of a boundary
TOL_REAL = Tolerance(rel=2e-3, why="1 vs 2 threads (an exploratory default run, prompt seed 0): ratios and "
                     "intervals identical to 4 digits; floor 2e-3 for last-digit drift across CPUs")

PAPER = "2402.14160v2 (abstract)"
QUOTE = ("We empirically evaluate RSD with Llama 2 and OPT models, showing that RSD outperforms the baseline methods, "
         "consistently for fixed draft sequence length and in most cases for fixed computational budgets at LLM.")

ACCEPTED = Precondition("drafts-accepted", "on the real pair, the i.i.d. trees of the fixed-length study give a mean "
                        "block efficiency in [1.2, 3.5] tokens per target call (depth-2 and depth-3 trees give at most "
                        "3 and 4): drafts are accepted, and not so often that no sampling scheme could gain",
                        Within(1.2, 3.5))

# per-prompt SD of the log ratio in the committed full record (docstring), its design, and the distance to be resolved
FULL_SD = {"fixed-length": 0.0959, "fixed-budget": 0.1278}
FULL_DESIGN = {"fixed-length": 32 * 3, "fixed-budget": 32 * 5}  # MAX_NEW x settings (shapes, budgets) of the full
DISTANCE = {"fixed-length": math.log(1.02), "fixed-budget": math.log(1 / 0.95)}


def prompts_needed(claim: str, max_new: int, n_settings: int) -> int:
    """Evaluation prompts a ratio of the paper's size needs to clear the claim's lowest bar (docstring)."""
    sd = FULL_SD[claim] * math.sqrt(FULL_DESIGN[claim] / (max_new * n_settings))
    n = 5
    while student_t.ppf(0.975, n - 1) * sd / math.sqrt(n) > DISTANCE[claim]:
        n += 1
    return n


ENOUGH_LENGTH = Precondition("enough-prompts-length", "the run's fixed-length evaluation prompts / the prompts a gain "
                             "of 1.02 needs to clear the bar 1 at the full record's per-prompt spread scaled to the "
                             "run's MAX_NEW and shapes (claims.prompts_needed) is >= 1", AtLeast(1.0))  # fmt: skip
ENOUGH_BUDGET = Precondition("enough-prompts-budget", "the run's fixed-budget evaluation prompts / the prompts a ratio "
                             "of 1 needs to clear the partial bar 0.95 at the full record's per-prompt spread scaled "
                             "to the run's MAX_NEW and budgets (claims.prompts_needed) is >= 1", AtLeast(1.0))  # fmt: skip

POWER = Precondition("test-power", "the chi-square test with N_EXACT samples rejects the draft's own distribution with "
                     "probability >= 0.99 at level 1e-3 (noncentral chi-square, exact)", AtLeast(0.99))  # fmt: skip

CLAIMS = [
    Claim("wor-node-acceptance", "Drafting without replacement makes acceptance at a tree node more likely than i.i.d. "
          "drafts under recursive rejection sampling", paper_value="higher", unit="acceptance ratio",
          paper_ref="Sec. 3 (RSD, sampling without replacement)",
          measures="geometric mean over distinct node pairs (p, q) (all seeds) of exact acceptance with K_NODE drafts "
                   "without replacement / with i.i.d. drafts; log-scale bootstrap over node pairs",
          rule=AtLeast(1.02, partial=1.0), fidelity="analogue", tolerance=TOL),
    Claim("fixed-length", "RSD-C beats i.i.d. draft trees consistently for a fixed draft length",
          paper_value="consistently better", unit="block efficiency ratio", paper_ref="Abstract; Sec. 5, fixed draft length",
          paper_version=PAPER, paper_quote=QUOTE,
          measures="real pair (tiny-lm-small -> tiny-lm-large, temperature 1): geometric mean over held-out evaluation "
                   "prompts of RSD-C's block efficiency / the i.i.d. tree's of the same shape (same prompt and sampler "
                   "seed), each prompt's ratio a geometric mean over FIXED_SHAPES; log-scale bootstrap over prompts",
          notes=("bar: the paper gives the direction, not one number for all settings; 1.02 asks for a gain above the "
                 "last-digit noise of a ratio near 1, partial for any gain",
                 "no separate trivial control: the i.i.d. tree of the same shape, same draft and seeds is the cheapest "
                 "alternative (only the sampling of siblings differs)"),
          rule=AtLeast(1.02, partial=1.0), fidelity="scaled-down", tolerance=TOL_REAL,
          preconditions=(ACCEPTED, ENOUGH_LENGTH)),
    Claim("fixed-budget", "RSD-C is at least as good as i.i.d. baselines in most fixed target-budget settings",
          paper_value="most settings", unit="block efficiency ratio", paper_ref="Abstract; Sec. 5, fixed target computation",
          paper_version=PAPER, paper_quote=QUOTE,
          measures="real pair: geometric mean over held-out evaluation prompts of RSD-C's block efficiency / the i.i.d. "
                   "sequence configuration's (k sequences of length L, k L = budget, k = 1 included) chosen per budget "
                   "on separate selection prompts and seeds; each prompt's ratio a geometric mean over BUDGET_LIST; "
                   "log-scale bootstrap over prompts",
          notes=("bar: 'in most cases' at fixed budget: on average over budgets RSD-C must be at least as good as the "
                 "best baseline (whole interval >= 1); within 5% is partial; per-budget ratios are shown, not judged",),
          rule=AtLeast(1.0, partial=0.95), fidelity="scaled-down", tolerance=TOL_REAL,
          preconditions=(ACCEPTED, ENOUGH_BUDGET)),
    Claim("lossless", "RSD's output follows the target distribution exactly", paper_value="exact",
          unit="chi-square p-value", paper_ref="Sec. 3 (recursive rejection sampling is exact)",
          measures="p-value of a chi-square test of N_EXACT sampled RSD-C continuations against the enumerated "
                   "target distribution (seeded: the same on every machine)",
          rule=AtLeast(0.001), fidelity="analogue", kind="exact", tolerance=TOL, preconditions=(POWER,)),
]  # fmt: skip
