"""The claims of arXiv:2307.14430 (Skill-it!, Chen, Roberts, Bhatia, Wang, Zhang, Sala & Ré, NeurIPS 2023) under
test, with their verdict rules: fixed before any run, judged by code after.

The version quoted is v1 (26 Jul 2023); what could be read offline is its abstract (arXiv listing, ar5iv and the
Hugging Face paper page agree on it). The body (figures of the LEGO and addition experiments, Algorithm 1 as printed)
was not readable; the update rule, the addition setup (3 skills = digit positions of a 3-digit sum, the raw pool's skill
proportions 13:14:18, eta = 0.1, 5 rounds, a window of 3 evaluations, off-diagonal graph weight 0.5) were read in the
authors' code (HazyResearch/skill-it: `trainer/mw_trainer.py`, `dataset/addition_dataset.py`,
`scripts/addition/pt/*.sh`; read, not copied). The abstract's numbers (36.5 accuracy points on LEGO, 13.6% on Natural
Instructions) are for settings not run here; they are quoted as the paper's values.

Units: a *seed* initialises every model and draws every batch of every arm; arms are paired within a seed (the same
initial weights). The skills graph is learned once, on separate graph seeds (`GRAPH_SEEDS`), never on the claim seeds.
The quantity of claims 2-4 is the loss averaged over the skills (the continual pre-training objective: learn all
skills), each skill's loss exact over every operand pair.

Redesign for power (session 15, committed before the runs it judges). The first design (b795f35) judged claims 2-4 on
the ratio of the *final* losses. Its verdicts did not hold: under other seeds 2 of 3 of the default's Skill-It verdicts
moved (seeds 40-44), and at the full budget every arm but the curriculum nearly solves every skill, so the ratios were
ratios of near-zero, seed-dominated losses (intervals [0.38, 1.57] and wider). Two changes, both named in the README
before this design was run, neither chosen by looking at a result under it:
- **The statistic** is the area under the validation-loss curve per step (`method.curve_area`: the loss averaged over
  skills at each of Skill-It's five round boundaries, weighted by the steps each covers). It keeps what the paper's
  algorithm is for (the quote: "efficiently learn multiple skills") and does not vanish once the skills are learned:
  an arm that learns the same skills later has a larger area. A deviation: the paper reports accuracy and loss at the
  end of training and loss curves; the area summarises the curve.
- **Power**: the full runs 20 seeds (was 15), and the Skill-It claims need at least 20 seeds entering them
  (`enough-seeds-skillit`). The default's 5 seeds are too few: the engine's own estimate from the committed default
  record was about 53 seeds to clear the bar of `skillit-beats-random`, and its verdicts moved. So the default says
  *inconclusive* on claims 2-4 by design and stays a pipeline check; `prerequisite-helps` (which held under other
  seeds) is judged in both profiles as before.
"""

import math

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

VERSION = "2307.14430v1"
QUOTE_ORDER = ("First, using both synthetic and real data, we demonstrate that these ordered skill sets exist, and "
               "that their existence enables more advanced skills to be learned with less data when we train on their "
               "prerequisite skills.")  # fmt: skip
QUOTE_SKILLIT = ("On the LEGO synthetic in the continual pre-training setting, Skill-It obtains 36.5 points higher "
                 "accuracy than random sampling.")  # fmt: skip
QUOTE_ALGO = ("Second, using our proposed framework, we introduce an online data sampling algorithm, Skill-It, over "
              "mixtures of skills for both continual pre-training and fine-tuning regimes, where the objective is to "
              "efficiently learn multiple skills in the former and an individual skill in the latter.")  # fmt: skip

# a value from models trained in the notebook: chaotic in the last bit across CPUs (papers/README.md, "Reproduction
# tolerance"): one width of the committed interval, plus a 2e-3 relative floor (as in the other data-selection papers)
TOL = Tolerance(rel=0.002, interval=1.0,
                why="trained in the notebook: another CPU's BLAS redraws each seed's training noise; one interval width "
                    "+ 2e-3 relative floor")  # fmt: skip
EDGE_MIN = 0.05  # nats: a learned edge i -> j needs the mixture of i and j to beat j alone by this much on j
LN_BASE = math.log(4)  # the loss of a uniform guess over the 4 digits

HAS_EDGE = Precondition(
    "graph-has-edge",
    "the skills graph learned on the graph seeds has an edge: for some ordered pair (i, j), half of the steps spent "
    f"on skill i lowers the loss on skill j by at least {EDGE_MIN} nats against all steps on j (so there is an order "
    "to exploit and a prerequisite pair to test)",
    AtLeast(EDGE_MIN),
)
LEARNED = Precondition(
    "skills-learned",
    "the model learns the skills at this budget: the stratified arm's loss averaged over skills (mean over seeds, "
    f"interval over seeds) is below 0.9 x ln 4 = {0.9 * LN_BASE:.4f} nats (the uniform guess over digits is ln 4)",
    AtMost(0.9 * LN_BASE),
)
SHUFFLED = Control(
    "shuffled-graph Skill-It",
    "Skill-It's update with the learned graph's off-diagonal entries moved to random places (same number of edges): "
    "an online loss-driven mixture that does not know the order; margin = its area under the loss curve (loss "
    "averaged over skills) minus Skill-It's, paired per seed",
)

MIN_SEEDS_SKILLIT = 20  # the power precondition of claims 2-4 (docstring)
ENOUGH_SEEDS = Precondition(
    "enough-seeds-skillit",
    f"at least {MIN_SEEDS_SKILLIT} claim seeds enter the claim (5 seeds gave Skill-It verdicts that moved under other "
    "seeds; the engine estimated about 53 for the committed default's spread)",
    AtLeast(MIN_SEEDS_SKILLIT),
)

MEASURES = ("per seed: the area under the validation-loss curve per step (the loss averaged over the 3 skills, each "
            "skill's answer-token cross-entropy over all 256 operand pairs, at each of the 5 round boundaries, "
            "weighted by the steps each covers) of a model trained the same steps of the same batch size (so the same "
            "tokens) in every arm, all arms from the same initialisation; geometric mean over seeds of the per-seed "
            "ratio, bootstrap over seeds on the log scale; ")  # fmt: skip

CLAIMS = [
    Claim("prerequisite-helps",
          "Ordered skill sets exist: training on a prerequisite skill together with a dependent skill reaches a lower "
          "loss on the dependent skill than training on the dependent skill alone, with the same steps (so half the "
          "dependent skill's data)",
          paper_value="ordered skill sets exist; advanced skills learned with less data after their prerequisites",
          unit="loss on the dependent skill j*, mixture {i*, j*} / j* alone (geometric mean over seeds)",
          paper_ref="Abstract; Sec. 2 (LEGO and addition skills graphs)", paper_version=VERSION,
          paper_quote=QUOTE_ORDER,
          measures="per seed: the loss on skill j* of a model trained PAIR_STEPS steps on the half-and-half mixture of "
                   "skills i* and j*, over the same model trained the same steps on j* alone; (i*, j*) is the "
                   "graph seeds' strongest edge (chosen before the claim seeds train); geometric mean over seeds, "
                   "bootstrap on the log scale; control: the mixture of j* with the third skill instead of i*; bar: "
                   "2% lower loss, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="scaled-down", kind="noisy", tolerance=TOL,
          control=Control("other-skill mixture",
                          "the same half-and-half mixture of j* with the skill that is not its prerequisite (any extra "
                          "data, rather than the prerequisite's, explains the gain); margin = loss on j* after the "
                          "other mixture minus after the prerequisite mixture, paired per seed"),
          preconditions=(HAS_EDGE,)),
    Claim("skillit-beats-random",
          "Skill-It's online mixture learns all skills faster than random sampling from the raw pool: a lower loss "
          "over all skills along training (area under the loss curve) at the same token budget (continual "
          "pre-training)",
          paper_value="36.5 accuracy points above random sampling (LEGO, continual pre-training)",
          unit="area under the loss curve, Skill-It / random (geometric mean over seeds)",
          paper_ref="Abstract; Sec. 4.1 (continual pre-training, LEGO and addition)", paper_version=VERSION,
          paper_quote=QUOTE_SKILLIT,
          measures=MEASURES + "numerator: Skill-It (eta 0.1, 5 rounds, window 3, the learned graph); denominator: the "
                   "raw pool's mixture (skills in the authors' addition proportions 13:14:18); bar: 2% lower, "
                   "partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="scaled-down", kind="noisy", tolerance=TOL, control=SHUFFLED,
          preconditions=(HAS_EDGE, LEARNED, ENOUGH_SEEDS)),
    Claim("skillit-beats-stratified",
          "Skill-It's online mixture learns all skills faster than skill-stratified sampling (uniform over skills): "
          "a lower loss over all skills along training (area under the loss curve) at the same token budget",
          paper_value="Skill-It outperforms skill-stratified sampling (the figure's numbers not read offline)",
          unit="area under the loss curve, Skill-It / stratified (geometric mean over seeds)",
          paper_ref="Abstract; Sec. 4.1 (continual pre-training baselines)", paper_version=VERSION,
          paper_quote=QUOTE_ALGO,
          measures=MEASURES + "numerator: Skill-It; denominator: uniform over skills; bar: 2% lower, partially if "
                   "lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="scaled-down", kind="noisy", tolerance=TOL, control=SHUFFLED,
          preconditions=(HAS_EDGE, LEARNED, ENOUGH_SEEDS)),
    Claim("skillit-beats-curriculum",
          "Skill-It's online mixture learns all skills faster than a skill curriculum (the skills one after "
          "another, prerequisites first): a lower loss over all skills along training (area under the loss curve) "
          "at the same token budget",
          paper_value="Skill-It outperforms the curriculum baselines (the figure's numbers not read offline)",
          unit="area under the loss curve, Skill-It / curriculum (geometric mean over seeds)",
          paper_ref="Abstract; Sec. 4.1 (continual pre-training baselines)", paper_version=VERSION,
          paper_quote=QUOTE_ALGO,
          measures=MEASURES + "numerator: Skill-It; denominator: the skills in equal consecutive blocks in the learned "
                   "graph's order (prerequisites first); bar: 2% lower, partially if lower at all",
          rule=AtMost(0.98, partial=1.0), fidelity="scaled-down", kind="noisy", tolerance=TOL, control=SHUFFLED,
          preconditions=(HAS_EDGE, LEARNED, ENOUGH_SEEDS)),
]  # fmt: skip
