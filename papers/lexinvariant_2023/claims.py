"""The claims of "Lexinvariant Language Models" (arXiv:2305.16349v1) under test, with their verdict rules: fixed before
any run, judged by code after.

Units: training seeds. Each seed trains one standard and one lexinvariant (random-code) model on the same windows
for the same steps (equal compute), and trains the deciphering probes. The gap is the paper's perplexity gap
(ppl_lex - ppl_std) / ppl_std, over an early bin (the first 16 predicted characters) and a late bin (the last quarter
of the context).

Bars, from the paper's numbers and the scale-down: the paper's gap shrinks from 9X to under 1X (a factor over 9)
within 512 characters, with 150M-parameter models trained 250K steps. Our context is 2-4x shorter and our models
~10^4x smaller and trained ~10^3x shorter, so the full bar of `gap-shrinks` asks for half the gap to close (late / early
<= 0.5) and the partial bar only that it shrinks (< 1); `gap-late` keeps the paper's "< 1X" as its full bar and
allows 2X for a partial reproduction. "High accuracy" of deciphering has no number in the abstract; the full bar 0.5
is over twice the most frequent character's share (the space, 0.18), the partial bar 0.2 just above it.
Tolerances: the trainer runs (and leaves torch at) one thread in every profile, so the kernel's thread count cannot
move values; the CPU code path can (measured on AVX2 against AVX-512, see `why`). Another CPU moved the trained
values further than that measurement (CI on an Intel Xeon, 2026-12-07, against the AMD EPYC of the recorded run: the
gap ratio by 0.015, `standard-cannot` by 0.011, about a fifth of their intervals): training is chaotic in the last
bit, so each trained claim also allows one width of its committed interval (`Tolerance.interval`); the verdict must
not move.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

VERSION = "2305.16349v1"

STD_LEARNED = Precondition(
    "std-learned",
    "the standard model learned the text beyond character frequencies: its late-bin loss is at least 0.1 nats below "
    "the corpus' unigram entropy (mean over seeds, bootstrap interval)",
    AtLeast(0.1),
)
LEX_LEARNED = Precondition(
    "lex-learned",
    "the lexinvariant model learned to use its context: its late-bin loss is at least 0.05 nats below the uniform "
    "loss ln V, the loss of a model that ignores the context (mean over seeds, bootstrap interval)",
    AtLeast(0.05),
)
PROBE_READS = Precondition(
    "probe-reads-identity",
    "the same text without a cipher: a linear probe on the standard model's hidden states reads the current "
    "character's identity (late-bin accuracy >= 0.9, mean over seeds), so the read-out can decipher when the "
    "information is there",
    AtLeast(0.9),
)
COUNTER = Control(
    "in-context counter",
    "the cheapest lexinvariant predictor: in-context character counts (Krichevsky-Trofimov), the best a lexinvariant "
    "model can do once the order of the characters is shuffled away; margin = counter loss - lexinvariant loss in the "
    "late bin, per seed",
)
FREQ_RANK = Control(
    "frequency-rank decipherer",
    "read the k-th most frequent cipher symbol so far as the corpus' k-th most frequent character; margin = probe "
    "accuracy - frequency-rank accuracy on the same late-bin positions, per seed",
)
NO_CIPHER = Control(
    "the same text without a cipher",
    "the lexinvariant-minus-standard probe accuracy with the cipher minus the same difference on the plain text: the "
    "advantage must come from the cipher, not from the lexinvariant model reading text better in general",
)

_TRAINED = Tolerance(rel=0.01, abs=0.005, interval=1.0,
                     why="training and evaluation run at 1 thread whatever the kernel's count; "
                     "the AVX2 code path moved seed 0's late-bin losses by 1e-3 and its late gap by 4e-3 relative; "
                     "probe accuracies move in steps of 1/2048 (abs 0.005: about ten positions); another CPU (Intel "
                     "Xeon vs AMD EPYC, same seeds) moved the means by up to 0.015, inside one interval width")  # fmt: skip

CLAIMS = [
    Claim("gap-shrinks", "The perplexity gap between the lexinvariant and the standard LM shrinks as the context grows",
          paper_value="9X -> < 1X after 512 tokens", unit="late gap / early gap", paper_ref="Sec. 1 and Sec. 3.2",
          paper_version=VERSION,
          paper_quote="the average perplexity gap shrinks from 9X to less than 1X the average perplexity of a standard "
                      "LM after observing 512 tokens over The Pile",
          measures="mean over seeds of the late-bin gap / mean over seeds of the early-bin gap (gap = exp(loss_lex - "
                   "loss_std) - 1 on held-out windows, fixed codes); bootstrap interval over seeds",
          rule=AtMost(0.5, partial=1.0), fidelity="scaled-down", tolerance=_TRAINED,
          preconditions=(STD_LEARNED, LEX_LEARNED), control=COUNTER),
    Claim("gap-late", "Given enough context the lexinvariant LM's perplexity comes within 1X of the standard LM's",
          paper_value="< 1X after 512 tokens (character vocabulary)", unit="perplexity gap (X)",
          paper_ref="Sec. 1 and Sec. 3.2", paper_version=VERSION,
          paper_quote="the average perplexity gap shrinks from 9X to less than 1X the average perplexity of a standard "
                      "LM after observing 512 tokens over The Pile",
          measures="late-bin gap exp(loss_lex - loss_std) - 1 per seed; mean and bootstrap interval over seeds",
          rule=AtMost(1.0, partial=2.0), fidelity="scaled-down", tolerance=_TRAINED,
          preconditions=(STD_LEARNED, LEX_LEARNED), control=COUNTER),
    Claim("decipher", "Given a substitution cipher of English, the lexinvariant LM infers the mapping to the real "
          "tokens in context", paper_value="high accuracy", unit="accuracy", paper_ref="Abstract; Sec. 5.1",
          paper_version=VERSION,
          paper_quote="given text generated from a substitution cipher of English, it implicitly implements Bayesian "
                      "in-context deciphering and infers the mapping to the underlying real tokens with high accuracy",
          measures="late-bin accuracy of a linear probe on the frozen lexinvariant model's hidden states (all layers) "
                   "predicting each enciphered character's plaintext, held-out windows under unseen random ciphers; "
                   "mean and bootstrap interval over seeds",
          rule=AtLeast(0.5, partial=0.2), fidelity="analogue", tolerance=_TRAINED,
          preconditions=(LEX_LEARNED, PROBE_READS), control=FREQ_RANK),
    Claim("standard-cannot", "A standard LM cannot decipher the cipher in context without the key",
          paper_value="deciphering needs lexinvariance", unit="accuracy difference", paper_ref="Abstract; Sec. 5.1",
          paper_version=VERSION,
          paper_quote="given text generated from a substitution cipher of English, it implicitly implements Bayesian "
                      "in-context deciphering and infers the mapping to the underlying real tokens with high accuracy",
          measures="late-bin probe accuracy on enciphered held-out windows, lexinvariant minus standard model (the "
                   "same probe recipe on each model's hidden states); paired per seed, bootstrap interval",
          rule=AtLeast(0.1, partial=0.0), fidelity="analogue", tolerance=_TRAINED,
          preconditions=(PROBE_READS,), control=NO_CIPHER),
]  # fmt: skip
