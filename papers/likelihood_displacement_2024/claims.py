"""The claims of "Unintentional Unalignment: Likelihood Displacement in Direct Preference Optimization" under test,
with their verdict rules: fixed before any run, judged by code after.

Setting (the paper's Sec. 3, single-token responses, scaled down): SmolLM2-135M-Instruct; one unit = one persona-style
prompt with a preferred and a dispreferred single-token answer (y+, y-); per unit, SFT on (x, y+) then DPO on the one
pair (`method.run_unit`; the top blocks train, see method.py). Units are independent runs from the same pretrained
model: intervals are over units.

CHES (Definition 2) is exactly 0 for single-token responses (both responses share the one hidden state h_x), so the
paper's single-token analysis (Sec. 4.2.1, Theorems 1 and 2) is the one under test: the unembedding geometry.

Bars, from the paper's statements (it gives directions and, in Table 1, sizes for hand-picked pairs):
- `displacement-share`: Sec. 3 reports a drop of pi(y+) "in all runs" for its representative pairs and calls the
  phenomenon pervasive; for uniformly drawn answer pairs we ask for a majority (the whole Wilson interval >= 0.5),
  partially for a fifth. A unit counts as displaced when ln pi(y+) falls by more than 1e-3 nats (a 0.1% relative
  drop of the probability; smaller moves of a probability near 1 are float noise).
- `theorem1-predicts`: Theorem 1 orders pairs by its term; any positive rank correlation with the size of the fall is
  the direction (partial bar 0), a weak-but-real 0.2 is the full bar; the trivial control is the same correlation with
  the preferred token's starting log-probability (the room it has to fall), which the term must beat.
- `mass-direction`: Theorem 2 makes the change of ln pi(z) proportional to <W_z, W+ - W-> (a rank correlation of 1 in
  the analysed model); in a real network we ask for 0.3 (partially 0.1), and that the direction W+ - W- beats W+
  alone (the benign explanation: mass goes to tokens like y+).

Tolerance: every value comes from training in the notebook (SFT and DPO per unit), chaotic in the last bit across
CPUs: one width of the committed interval (interval=1.0), plus 0.01 absolute for last-digit drift of bounded
quantities (shares and correlations in [-1, 1]).
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

PAPER = "2410.08847v4"

TOL = Tolerance(rel=0.0, abs=0.01, interval=1.0,
                why="values from SFT + DPO trained in the notebook (chaotic across CPUs): one width of the committed "
                    "interval, plus 0.01 for last-digit drift of a share or correlation")  # fmt: skip

DPO_TRAINS = Precondition("dpo-trains", "DPO lowered the loss below log 2 (its value at the start, where the policy is "
                          "the reference) in at least 90% of the units: the preference was learned",
                          AtLeast(0.9))  # fmt: skip
SFT_FITS = Precondition("sft-fits", "after SFT the median unit gives the preferred token pi(y+|x) >= 0.5 (the paper's "
                        "post-SFT starting probabilities in Table 1 are 0.65 to 0.99)", AtLeast(0.5))  # fmt: skip

CLAIMS = [
    Claim("displacement-share", "Training DPO on a single prompt with single-token preferred and dispreferred "
          "responses lowers the preferred token's probability (likelihood displacement is pervasive)",
          paper_value="in all runs", unit="share of units",
          paper_ref="Sec. 3 and Tab. 1 (OLMo-1B, Gemma-2B, Llama-3-8B after SFT)", paper_version=PAPER,
          paper_quote="The probability of y+ dropped by at least 0.21 and up to 0.96 absolute value in all runs.",
          measures="share of units (prompt, y+, y-) whose ln pi(y+|x) after DPO is below its value at the DPO start "
                   "by more than 1e-3 nats; Wilson interval over units",
          rule=AtLeast(0.5, partial=0.2), fidelity="scaled-down", tolerance=TOL,
          preconditions=(DPO_TRAINS, SFT_FITS)),
    Claim("theorem1-predicts", "The larger Theorem 1's unembedding term <W+, W-> + sum_z pi(z|x) <W_z, W+ - W->, the "
          "more ln pi(y+|x) decreases",
          paper_value="more negative the larger the term", unit="Spearman rho",
          paper_ref="Sec. 4.2.1, Theorem 1 (informal version of Theorem 4)", paper_version=PAPER,
          paper_quote="At any time t >= 0 of training, d/dt ln pi(y+|x) is more negative the larger the following "
                      "term is: <W_{y+}(t), W_{y-}(t)> + sum_{z in V \\ {y+, y-}} pi(z|x) <W_z(t), W_{y+}(t) - "
                      "W_{y-}(t)>",
          measures="Spearman correlation over units between Theorem 1's term at the DPO start and the fall "
                   "ln pi_start(y+|x) - ln pi_end(y+|x); Fisher z interval; control margin: the same correlation "
                   "minus that of the starting ln pi(y+|x), paired bootstrap over units",
          rule=AtLeast(0.2, partial=0.0), fidelity="scaled-down", tolerance=TOL,
          control=Control("start-logprob", "the preferred token's starting log-probability (more room to fall) "
                          "ranks the units' falls as well"),
          preconditions=(DPO_TRAINS, SFT_FITS)),
    Claim("mass-direction", "The tokens that gain log-probability at the expense of y+ are those whose unembeddings "
          "align with W+ - W- (Theorem 2), not simply those similar to y+",
          paper_value="d/dt ln pi(z|x) proportional to <W_z, W+ - W->", unit="Spearman rho",
          paper_ref="Sec. 4.2.1, Theorem 2 (informal version of Theorem 5)", paper_version=PAPER,
          paper_quote="The alignment of token unembeddings with W_{y+}(t) - W_{y-}(t) also determines which tokens "
                      "increase most in log probability.",
          measures="mean over units of the Spearman correlation, over the vocabulary without y+ and y-, between "
                   "<W_z, W+ - W-> at the DPO start and the change of ln pi(z|x) over DPO; bootstrap over units; "
                   "control margin: minus the same correlation with <W_z, W+>, paired over units",
          rule=AtLeast(0.3, partial=0.1), fidelity="scaled-down", tolerance=TOL,
          control=Control("preferred-direction", "the change follows similarity to y+ (<W_z, W+>) as well: the "
                          "benign reading, mass moving to tokens like the preferred one"),
          preconditions=(DPO_TRAINS,)),
]  # fmt: skip
