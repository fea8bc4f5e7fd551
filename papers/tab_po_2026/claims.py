"""The claims of "TAB-PO: Preference Optimization with a Token-Level Adaptive Barrier for Token-Critical Structured
Generation" under test, with their verdict rules: fixed before any run, judged by code after.

Setting (scaled down; task.py, method.py): a 2-block Llama (the shared `micro` tiny-LM config, d = 32) trained from
scratch to annotate a 10-token message with planted label cues (stated, denied with "no", or absent; 4 synonyms per
label at Zipf-like frequencies) as a JSON-like record `{ f0 : v0 , f1 : v1 , f2 : v2 } EOS`: 3 label tokens among 14
(the token-importance skew). The SFT base is that supervised training, stopped at a fixed budget where it is middling.
Preference pairs: the correct record (chosen) against a copy with 1-3 wrong label tokens (rejected; a denied cue's
own label, else a random wrong value), from the generator's ground truth. Arms from the SFT base (the reference), one
optimiser, step count and batch stream: DPO (the engine's loss), TAB-PO (token-weighted advantages: the label tokens
weighted over the scaffolding, plus the confidence-gated barrier), and two controls: TAB-PO with its weights placed at
random positions of each pair's response (same values, same sparsity, same barrier), and "more SFT" (the supervised
loss on the chosen responses, same steps and learning rate: the barrier is a supervised term, so more SFT is the
cheapest explanation of a gain over SFT). The full profile adds two ablations, reported and not judged: the weights
without the barrier, the barrier without the weights.

Units. One seed = one SFT base and its preference runs on its own data (300 held-out messages, 1000 training pairs);
every interval is a BCa bootstrap over seeds (each seed's value over its held-out messages or pairs); comparisons are
paired per seed.

Bars, from the paper's statements (arXiv 2603.00025v1; only its abstract, v1 and a later version's, could be read
offline, so every quoted value is the abstract's):
- `dpo-squeezes`: "likelihood squeezing (the margin objective shifts the absolute likelihoods of both completions
  together)": under DPO the held-out chosen record's log-likelihood falls from the SFT reference by at least 0.1 nats
  (a tenth of its probability); partially: the whole interval below 0.
- `barrier-keeps-likelihood`: the barrier "regularizes under-confident tokens balancing SFT-anchored likelihood and
  preference-driven separation": the share of DPO's chosen-likelihood drop that TAB-PO removes,
  1 - mean(TAB-PO drop) / mean(DPO drop), is at least 0.5; partially above 0. Preconditions: DPO squeezes (the
  `dpo-squeezes` rule), and TAB-PO separates the pairs no worse than DPO (held-out preference accuracy at most 0.05
  below DPO's, paired): keeping the likelihood by not learning the preference would not count.
- `beats-sft`: "TAB-PO achieves a ~4% relative improvement in micro-F1 over SFT": the per-seed relative micro-F1 gain
  of TAB-PO over its SFT base (greedy decoding of the held-out messages), mean over seeds, at least 0.035 ("~4%"
  from 3.5%), partially above 0. Trivial control: more SFT on the chosen responses with the same budget.
- `beats-dpo`: TAB-PO "consistently outperforms recent preference-optimization baselines": micro-F1 of TAB-PO minus
  DPO, paired per seed, at least 0.01 (one point), partially above 0. Trivial control: TAB-PO's weights at random
  positions.
Preconditions (positive controls): the SFT base is middling (held-out micro-F1 in [0.3, 0.9], mean over seeds: room
to improve, not nothing learned); DPO learned the preference (held-out preference accuracy >= 0.6; the reference's is
0 by construction).

Sizing (pilot seeds 100-105, kept out of every recorded run): 400 SFT steps at lr 6e-3 give held-out micro-F1 0.37 to
0.83 (500 steps at 3e-3 reached 1.0 on one of four seeds); the preference stage is one pass over the 1000 training
pairs (60 steps of 16) at lr 1e-4 (DPO practice: a learning rate well below the SFT one), beta 0.1, lambda 1, tau 0.9,
label weight 1 and scaffolding weight 0.1 (rescaled to mean 1): chosen before the pilot, not tuned on it. Then one
exploratory run of this notebook on pilot seeds 100-107 (labelled exploratory, not recorded) checked it end to end:
64 s for 8 seeds, over the 60 s budget, so the default keeps 7 seeds (1-7); it showed DPO squeezing (-1.3 nats) and
TAB-PO keeping the chosen likelihood, and TAB-PO, its random-placement control and more SFT all within 0.01 micro-F1
of each other. No rule, bar or other parameter was changed after it.

Power precondition for the micro-F1 claims (session 16, committed before the runs it judges): `beats-dpo` in the
default moved under other seeds (seeds 1-7: inconclusive, because `sft-middling` 0.794 [0.579, 0.932] reaches above
0.9 where three of the seven bases are at the ceiling; seeds 31-37: not reproduced, those bases middling). Seven bases
leave the precondition, and with it the verdict, to the seed set. The engine's estimate (`Rule.decide`: n x
(half-width / distance to the bar)^2 x 1.1) for the precondition from the default's record is 7 x (0.1765 / 0.106)^2 x
1.1 = 22 seeds, beyond the 60 s default, so `beats-sft` and `beats-dpo` now need `enough-seeds-f1` (>= 22 seeds):
the default says inconclusive on them by design and `full` (30 seeds; 0 of 4 verdicts moved under seeds 41-70)
decides. Nothing else changes.

Tolerance: every value comes from training in the notebook (SFT and the preference runs per seed), chaotic in the last
bit across CPUs: one width of the committed interval (interval=1.0), plus 0.01 absolute for last-digit drift.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance, Within

PAPER = "2603.00025v1"

TOL = Tolerance(rel=0.0, abs=0.01, interval=1.0,
                why="values from SFT + preference training in the notebook (chaotic across CPUs): one width of the "
                    "committed interval, plus 0.01 for last-digit drift")  # fmt: skip

SFT_MIDDLING = Precondition("sft-middling", "the SFT base's held-out micro-F1 (greedy) is inside [0.3, 0.9], mean "
                            "over seeds: there is room to improve and something was learned", Within(0.3, 0.9))  # fmt: skip
DPO_MOVES = Precondition("dpo-moves-margin", "DPO learned the preference: its held-out preference accuracy (implicit "
                         "reward of chosen > rejected) is >= 0.6", AtLeast(0.6))  # fmt: skip
DPO_SQUEEZES = Precondition("dpo-squeezes-pre", "DPO's held-out chosen log-likelihood falls by at least 0.1 nats from "
                            "the SFT reference (there is squeezing to remove)", AtMost(-0.1))  # fmt: skip
TABPO_SEPARATES = Precondition("tabpo-separates", "TAB-PO's held-out preference accuracy minus DPO's, paired per seed, "
                               "is >= -0.05: it keeps the likelihood while learning the preference",
                               AtLeast(-0.05))  # fmt: skip

MIN_SEEDS_F1 = 22  # the power precondition of the micro-F1 claims (module docstring)
ENOUGH_SEEDS_F1 = Precondition("enough-seeds-f1", f"at least {MIN_SEEDS_F1} seeds (SFT bases): the engine's estimate "
                               "for deciding `sft-middling` from the default's 7 (0.794 [0.579, 0.932]), whose "
                               "beats-dpo verdict moved under seeds 31-37", AtLeast(MIN_SEEDS_F1))  # fmt: skip

ABSTRACT_SQUEEZE = ("In this regime, standard DPO suffers from margin collapse (insufficient log-probability separation "
                    "between near-identical preferences), likelihood squeezing (the margin objective shifts the "
                    "absolute likelihoods of both completions together), and gradient dilution")  # fmt: skip
ABSTRACT_METHOD = ("We introduce Token-Adaptive Barrier Preference Optimization (TAB-PO), which augments DPO with "
                   "token-weighted, reference-adjusted advantages that prioritize high-value semantic tokens, and a "
                   "conditional token-level barrier that regularizes under-confident tokens balancing SFT-anchored "
                   "likelihood and preference-driven separation in low-separation, importance-skewed regimes.")  # fmt: skip
ABSTRACT_RESULT = ("TAB-PO achieves a ~ 4% relative improvement in micro-F1 over SFT and consistently outperforms "
                   "recent preference-optimization baselines.")  # fmt: skip

CLAIMS = [
    Claim("dpo-squeezes", "On low-separation pairs (1-3 differing label tokens), DPO lowers the likelihood of the "
          "chosen completion along with the rejected one (likelihood squeezing)",
          paper_value="likelihood squeezing", unit="nats per response", paper_ref="Abstract", paper_version=PAPER,
          paper_quote=ABSTRACT_SQUEEZE,
          measures="DPO's change of the held-out chosen record's log-likelihood from the SFT reference (summed over "
                   "its 14 tokens), mean over held-out pairs per seed; BCa bootstrap over seeds",
          rule=AtMost(-0.1, partial=0.0), fidelity="analogue", tolerance=TOL, preconditions=(DPO_MOVES,)),
    Claim("barrier-keeps-likelihood", "TAB-PO's token-level barrier keeps the chosen completion's likelihood: it "
          "removes most of DPO's squeezing while still separating the pairs",
          paper_value="regularizes under-confident tokens balancing SFT-anchored likelihood and preference-driven "
                      "separation", unit="share of DPO's drop removed", paper_ref="Abstract", paper_version=PAPER,
          paper_quote=ABSTRACT_METHOD,
          measures="1 - mean over seeds of TAB-PO's held-out chosen log-likelihood change / the same mean of DPO's "
                   "(each seed's mean over its held-out pairs); BCa bootstrap over seeds (pairs of values resampled "
                   "together)",
          rule=AtLeast(0.5, partial=0.0), fidelity="analogue", tolerance=TOL,
          preconditions=(DPO_SQUEEZES, TABPO_SEPARATES)),
    Claim("beats-sft", "TAB-PO improves micro-F1 over its SFT base by about 4% (relative)",
          paper_value=0.04, unit="relative micro-F1 gain", paper_ref="Abstract", paper_version=PAPER,
          paper_quote=ABSTRACT_RESULT,
          measures="per seed, TAB-PO's held-out micro-F1 (greedy decoding; malformed records predict nothing) over "
                   "the SFT base's, minus 1; mean over seeds, BCa bootstrap; control margin: TAB-PO's micro-F1 minus "
                   "that of more SFT on the chosen responses with the same budget, paired per seed",
          rule=AtLeast(0.035, partial=0.0), fidelity="analogue", tolerance=TOL,
          control=Control("more-sft", "continuing the supervised training on the chosen responses (same steps, "
                          "learning rate and batches) gains as much"),
          preconditions=(ENOUGH_SEEDS_F1, SFT_MIDDLING)),
    Claim("beats-dpo", "TAB-PO outperforms DPO on micro-F1",
          paper_value="consistently outperforms recent preference-optimization baselines", unit="micro-F1",
          paper_ref="Abstract", paper_version=PAPER, paper_quote=ABSTRACT_RESULT,
          measures="held-out micro-F1 of TAB-PO minus DPO's, paired per seed; BCa bootstrap over seeds; control "
                   "margin: TAB-PO minus TAB-PO with its token weights at random positions (same values, same "
                   "barrier), paired per seed",
          rule=AtLeast(0.01, partial=0.0), fidelity="analogue", tolerance=TOL,
          control=Control("random-weights", "the same weight values placed at random response positions (blind to "
                          "the label tokens), with the same barrier, do as well"),
          preconditions=(ENOUGH_SEEDS_F1, SFT_MIDDLING, DPO_MOVES)),
]  # fmt: skip
