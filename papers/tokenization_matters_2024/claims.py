"""The claims of arXiv:2405.17067 ("Tokenization Matters!", ADT) under test, with their verdict rules: fixed before any
run, judged by code after.

The paper's per-model accuracies (its result tables) could not be read from the stored copies of the paper (only the
abstract of v2 was available to us), so the claims are the abstract's statements, directional, with bars taken from
conventions stated here, not from a pilot:
- "degrading these LLMs' capabilities": the paired accuracy drop of adversarial (straddling) inputs against their
  matched controls is above 0 with the whole interval, and so is its margin over the same drop on inputs that get the
  same surface change without a straddling token (the trivial control);
- "incorrect tokenization ... leading to unsatisfactory output": the wrong answers on adversarial inputs fall on the
  reading the segmentation suggests more often than chance among the wrong readings, and more often than on the
  mirror-image reading at the same distance (a placebo segmentation).

Units: word pairs. Every model gets its own pairs (adversarial for its own tokenizer), drawn with the same seed; pair
i of every model forms one unit, resampled jointly (the two Qwen2.5-Coder models share a tokenizer, hence their
pairs: a joint resample keeps that dependence). Bootstrap over pairs, 95%.
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

_V = "2405.17067v2"
# answers are argmaxes of fp32 log-likelihoods; a re-run at 2 threads must give the same answers, and one flipped
# near-tie moves a mean over >= 100 pairs by <= 0.01
TOL = Tolerance(rel=0.0, abs=0.01, why="1 vs 2 threads: same answers expected (argmax of fp32 log-likelihoods); one "
                                       "flipped near-tie moves a mean over >= 100 pairs by <= 0.01")

CONTROLS_ABOVE_CHANCE = Precondition(
    "controls-above-chance",
    "every model answers the matched controls (the adversarial pairs with the word boundary shown by a space) above "
    "chance (1 in 5 readings): the worst model's accuracy, Wilson interval wholly above 0.2. A model that cannot pick "
    "the right reading when it is spelled out cannot show that a straddling token hides it",
    AtLeast(0.2),
)
ENOUGH_ERRORS = Precondition(
    "enough-errors",
    "at least 20 wrong answers on the adversarial inputs (over all models): the share of errors that follow the "
    "segmentation needs errors to be measured on",
    AtLeast(20.0),
)

CLAIMS = [
    Claim("adt-degrades",
          "Inputs that challenge an LLM's tokenization (ADT) degrade its answers",
          paper_value="degrades (ADT 'highly effective' on GPT-4o, Llama-3, Deepseek-R1; the table values were not "
                      "readable to us)",
          unit="accuracy drop (matched control - adversarial)",
          paper_ref="Abstract", paper_version=_V,
          paper_quote="Our empirical results reveal that our ADT is highly effective on challenging the tokenization "
                      "of leading LLMs, including GPT-4o, Llama-3, Deepseek-R1 and so on, thus degrading these LLMs' "
                      "capabilities.",
          measures="mean over models and adversarial word pairs of the paired drop: correct with the word boundary "
                   "shown by a space (the matched control) minus correct with the words concatenated, so that the "
                   "model's own tokenizer cuts across the boundary; bootstrap over pairs (pair i of every model "
                   "resampled jointly)",
          rule=AtLeast(0.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(CONTROLS_ABOVE_CHANCE,),
          control=Control("no-straddle",
                          "the same surface change (the space removed) on matched pairs whose concatenation the "
                          "tokenizer cuts exactly at the word boundary (same word lengths, same asked word): margin = "
                          "drop(adversarial) - drop(no-straddle), paired per pair. Concatenating words may hurt by "
                          "itself; the straddling token must hurt more")),
    Claim("errors-follow-tokenization",
          "Wrong answers on challenging inputs follow the incorrect tokenization",
          paper_value="incorrect tokenization is the critical point behind the unsatisfactory output",
          unit="share of errors on token-aligned readings - chance share",
          paper_ref="Abstract", paper_version=_V,
          paper_quote="In fact, incorrect tokenization is the critical point that hinders LLMs in understanding the "
                      "input precisely, thus leading to unsatisfactory output.",
          measures="over the wrong answers on concatenated adversarial inputs (all models): the share that picks a "
                   "token-aligned reading (the boundary moved onto an edge of the straddling token) minus the share "
                   "chance would give among the four wrong readings; bootstrap over pairs",
          rule=AtLeast(0.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ENOUGH_ERRORS,),
          control=Control("mirrored-segmentation",
                          "a placebo segmentation: the readings at the same distances from the true boundary on the "
                          "other side (shift -d for each aligned shift d). margin = share on aligned readings - share "
                          "on mirrored ones, over the same errors: a model that merely prefers readings one letter "
                          "off, or longer / shorter words, does not follow the tokenizer")),
]  # fmt: skip
