"""The claims of arXiv:2311.07468 (Lv et al., the reversal curse and BICO) under test, with their verdict rules: fixed
before any run, judged by code after.

Every value is an exact-match accuracy (a share in [0, 1]) or a paired difference of two, computed per training seed
over the seed's own fictitious facts and summarised over seeds (the unit: one seed = one fact set + one initialisation
of each arm), with a bootstrap interval over seeds. Only the abstract's numbers could be read offline (arXiv v1 through
ar5iv and the catalog entry); the paper's tables were not available, so the forward-accuracy claim has no paper number.

Bars, from the paper's number and the scale-down: the paper's Llama goes from 0% to "around 70%" on reversed queries.
A tiny Llama trained from scratch on 100 facts is far from a pretrained 7B model, so the full bar for BICO's reverse
accuracy is 50% (five sevenths of the paper's value) and its partial bar 20%; the gain over NTP must be at least half
the paper's 70 points (35) for *reproduced* and 10 points for *partially reproduced* (the catalog's "not reproduced:
within 10 points of NTP"). NTP's reverse accuracy must stay at most 5% ("near 0"; partial 10%). Forward accuracy may
drop by at most 10 points (partial 25). Tolerances: see each claim's `why`.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

PAPER_VERSION = "2311.07468v1"
ABSTRACT_QUOTE = "our approach improves Llama's accuracy from the original 0% to around 70%"

# tolerances measured by re-running the default profile with the same seeds: at 1 thread, and at 1 thread on the AVX2
# code path (ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2, what a CPU without AVX-512 runs): every value was
# identical. An exact-match share moves in steps of one fact: 1/50 per seed, 0.004 on a mean over 5 seeds; that step is
# the floor (a 2-thread training rerun was started but could not finish on the overloaded machine).
_STEP = "1-thread and AVX2-code-path reruns gave identical values; floor: one fact in one seed (0.004 over 5 seeds)"
TOL = {
    "ntp-reverse-curse": Tolerance(rel=2e-3, abs=0.004, why=_STEP),
    "bico-reverse": Tolerance(rel=2e-3, abs=0.004, why=_STEP),
    "bico-beats-ntp": Tolerance(rel=2e-3, abs=0.004, why=_STEP),
    "bico-keeps-forward": Tolerance(rel=2e-3, abs=0.004, why=_STEP),
}

NTP_LEARNED = Precondition(
    "ntp-learned-facts",
    "the NTP models learned the forward facts and the reversed template: mean over seeds of the lower of (forward "
    "exact match on the forward-only facts, reverse exact match on the facts trained in both directions)",
    AtLeast(0.8),
)
BICO_LEARNED = Precondition(
    "bico-learned-facts",
    "the BICO models learned the forward facts and the reversed template: mean over seeds of the lower of (forward "
    "exact match on the forward-only facts, reverse exact match on the facts trained in both directions)",
    AtLeast(0.8),
)
SHUFFLED = Control(
    "shuffled-targets",
    "the same BICO answers scored against another fact's name (targets rotated by one fact): a model that emits some "
    "trained name whatever the description, or guesses among the 50 names (chance 2%), scores as well there",
)

CLAIMS = [
    Claim("ntp-reverse-curse",
          "Next-token prediction on forward facts ('A is B') leaves reversed queries ('B is' -> A) near 0% exact match",
          paper_value=0.0, unit="exact-match accuracy", paper_ref="Abstract",
          paper_version=PAPER_VERSION, paper_quote=ABSTRACT_QUOTE,
          measures="reverse exact match (greedy name given '<bos> description is') of the NTP model on the facts it "
                   "saw only forward; per seed over its 50 facts, mean over seeds, bootstrap interval over seeds",
          rule=AtMost(0.05, partial=0.10), fidelity="analogue", tolerance=TOL["ntp-reverse-curse"],
          preconditions=(NTP_LEARNED,)),
    Claim("bico-reverse",
          "BICO (bidirectional attention + mask denoising during training) answers the reversed queries",
          paper_value=0.70, unit="exact-match accuracy", paper_ref="Abstract",
          paper_version=PAPER_VERSION, paper_quote=ABSTRACT_QUOTE,
          measures="reverse exact match of the BICO model (causal greedy decoding, as the official generate.py) on "
                   "the facts it saw only forward; per seed over its 50 facts, mean over seeds, bootstrap over seeds",
          rule=AtLeast(0.50, partial=0.20), fidelity="analogue", tolerance=TOL["bico-reverse"],
          preconditions=(BICO_LEARNED,), control=SHUFFLED),
    Claim("bico-beats-ntp",
          "BICO raises reversed-query accuracy over next-token prediction at equal compute",
          paper_value=0.70, unit="accuracy points (fraction)", paper_ref="Abstract",
          paper_version=PAPER_VERSION, paper_quote=ABSTRACT_QUOTE,
          measures="BICO minus NTP reverse exact match, same seed, same facts, same optimiser steps and batch; paired "
                   "per seed, bootstrap interval over seeds",
          rule=AtLeast(0.35, partial=0.10), fidelity="analogue", tolerance=TOL["bico-beats-ntp"],
          preconditions=(NTP_LEARNED, BICO_LEARNED)),
    Claim("bico-keeps-forward",
          "BICO keeps the forward-direction accuracy of next-token prediction",
          paper_value="forward accuracy kept (the paper's table not checked offline)", unit="accuracy points (fraction)",
          paper_ref="Sec. 4 (results table)", paper_version=PAPER_VERSION,
          measures="NTP minus BICO forward exact match (greedy description given '<bos> name is'), same seed and "
                   "facts; paired per seed, bootstrap interval over seeds",
          rule=AtMost(0.10, partial=0.25), fidelity="analogue", tolerance=TOL["bico-keeps-forward"],
          preconditions=(NTP_LEARNED,)),
]  # fmt: skip
