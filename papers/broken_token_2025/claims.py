"""The claims of arXiv:2510.26847 under test, with their verdict rules: fixed before any run, judged by code after.

The paper's text reachable offline is its abstract (v1, as announced on arXiv and copied in the project catalog); its
sections and tables could not be read here, so every paper value below is a phrase of the abstract, quoted with its
sentence, and no number is attributed to the paper. (Earlier versions of this file cited "Sec. 5": not checkable.)

Bars, from the paper's words and the scale-down: "near-perfect accuracy" is read as at least 95% on balanced
natural/encoded inputs (85% for *partially*), the catalog's rule for this paper; "high accuracy, even for very short
inputs" as at least 90% under 50 characters (80%); AUROC, which the abstract does not name, is the threshold-free
reading of "near-perfect": at least 0.98 (0.95). Hard negatives (`natural-specificity`): on balanced inputs accuracy
is the mean of the detection rate and the share of natural inputs left unflagged, so near-perfect accuracy (>= 0.95)
is impossible unless at least 2 * 0.95 - 1 = 0.90 of natural text is left unflagged, even with every encoded input
caught (partial: 2 * 0.85 - 1 = 0.70). The abstract does not restrict the benign inputs to English; whether the
paper's benign prompts included other languages could not be checked offline, so this claim is our reading of a
deployable "practical defense layer", labelled analogue.

The unit of every interval is the string (a data draw); the tokenizers are a declared aggregate (the equal-weight
mean over the profile's tokenizers), and the notebook shows each tokenizer (and, for the hard negatives, each
language) apart with Wilson intervals. Each detection claim runs beside a trivial control, a length-only detector
(one threshold on the number of characters, fitted on the same training half): CPT must beat it on the same strings.
"""

from shared.claims import AtLeast, Claim, Control, Precondition, Tolerance

V = "2510.26847v1"
Q_ACCURACY = ("We introduce CPT-Filtering, a novel, model-agnostic with negligible-costs and near-perfect accuracy "
              "guardrail technique that aims to mitigate these attacks by leveraging the intrinsic behavior of "
              "Byte-Pair Encoding (BPE) tokenizers.")  # fmt: skip
Q_SHORT = ("Our experiments demonstrate that a simple CPT threshold robustly identifies encoded text with high "
           "accuracy, even for very short inputs.")  # fmt: skip
Q_DEPLOY = ("CPT-Filtering provides a practical defense layer that can be immediately deployed for real-time text "
            "filtering and offline data curation.")  # fmt: skip

# reproduction tolerance, measured: the default profile re-run at 1 and 2 threads recorded identical values, claims,
# control margins and the precondition alike (session 9, before this commit; the tokenizers, the seeded sampling and
# the seeded bootstrap are deterministic), so the floor applies
_WHY = "1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for last-digit drift across CPUs"
TOL = Tolerance(rel=0.002, why=_WHY)

LENGTH_ONLY = Control(
    "length-only detector",
    "one threshold on the number of characters (longer = encoded), fitted on the same training "
    "half: encodings that lengthen the text (base64, hex, binary, Morse, spacing) would give it "
    "most of the accuracy without any tokenizer; margin = CPT minus length-only, paired over strings",
)
ENGLISH_SPECIFICITY = Precondition(
    "english-specificity",
    "the English-fitted thresholds leave English natural test strings (at least 50 characters) unflagged, so that "
    "false alarms on other languages are a language effect, not a bad threshold",
    AtLeast(0.90))  # fmt: skip

CLAIMS = [
    Claim("cpt-accuracy",
          "A single characters-per-token threshold separates encoded or enciphered text from natural text with "
          "near-perfect accuracy, across tokenizers and encodings",
          paper_value="near-perfect", unit="accuracy", paper_ref="Abstract (third sentence)",
          paper_version=V, paper_quote=Q_ACCURACY,
          measures="test accuracy of the per-tokenizer threshold (fitted on the training half) on inputs of at least "
                   "50 characters, balanced natural/encoded, all encodings pooled; mean over tokenizers, "
                   "bootstrap over test strings (one string carries its classification under every tokenizer)",
          rule=AtLeast(0.95, partial=0.85), fidelity="analogue", kind="noisy", tolerance=TOL, control=LENGTH_ONLY),
    Claim("cpt-auroc",
          "CPT ranks encoded text below natural text almost perfectly",
          paper_value="near-perfect (accuracy; AUROC is our threshold-free reading)", unit="AUROC",
          paper_ref="Abstract (third sentence)", paper_version=V, paper_quote=Q_ACCURACY,
          measures="test AUROC of CPT (lower = encoded) on inputs of at least 50 characters; mean over tokenizers, "
                   "bootstrap over test strings; control margin: the same minus the AUROC of the character count",
          rule=AtLeast(0.98, partial=0.95), fidelity="analogue", kind="noisy", tolerance=TOL, control=LENGTH_ONLY),
    Claim("natural-specificity",
          "The filter flags obfuscated text, not unfamiliar text: the same thresholds leave natural text unflagged, "
          "here natural text in other languages (hard negatives)",
          paper_value="near-perfect accuracy, deployable as a practical defense layer",
          unit="share of natural strings not flagged", paper_ref="Abstract (third and last sentences)",
          paper_version=V, paper_quote=Q_DEPLOY,
          measures="share of natural non-English UI strings (OTHER_LANGS de/ru/ja/hi, N_OTHER distinct random strings "
                   "each, at least 50 characters) that the per-tokenizer English-fitted thresholds leave unflagged; "
                   "mean over tokenizers and languages (equal weights), bootstrap over strings (one string carries "
                   "its classification under every tokenizer). Bar: near-perfect accuracy (>= 0.95) on balanced "
                   "inputs needs >= 2 * 0.95 - 1 = 0.90 of natural text unflagged (partial 2 * 0.85 - 1 = 0.70)",
          rule=AtLeast(0.90, partial=0.70), fidelity="analogue", kind="noisy", tolerance=TOL,
          preconditions=(ENGLISH_SPECIFICITY,)),
    Claim("short-inputs",
          "The filter stays accurate even for very short inputs",
          paper_value="high accuracy, even for very short inputs", unit="accuracy",
          paper_ref="Abstract (eighth sentence)", paper_version=V, paper_quote=Q_SHORT,
          measures="test accuracy of the same thresholds on inputs shorter than 50 characters; mean over tokenizers, "
                   "bootstrap over test strings",
          rule=AtLeast(0.90, partial=0.80), fidelity="analogue", kind="noisy", tolerance=TOL, control=LENGTH_ONLY),
]  # fmt: skip
