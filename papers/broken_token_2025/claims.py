"""The claims of arXiv:2510.26847 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, Claim, Tolerance

# reproduction tolerance, measured: the default profile re-run at 1 and 2 threads recorded identical values (the
# tokenizers and the seeded bootstrap are deterministic), so the floor applies
_WHY = "1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for last-digit drift across CPUs"
TOL = Tolerance(rel=0.002, why=_WHY)

CLAIMS = [
    Claim("cpt-accuracy",
          "A single characters-per-token threshold separates encoded or enciphered text from natural text with "
          "near-perfect accuracy, across tokenizers and encodings",
          paper_value="near-perfect", unit="accuracy", paper_ref="Abstract, Sec. 5",
          measures="test accuracy of the per-tokenizer threshold (fitted on the training half) on inputs of at least "
                   "50 characters, balanced natural/encoded, all encodings pooled; mean over tokenizers, "
                   "bootstrap over test strings (one string carries its classification under every tokenizer)",
          rule=AtLeast(0.95, partial=0.85), fidelity="analogue", kind="noisy", tolerance=TOL),
    Claim("cpt-auroc",
          "CPT ranks encoded text below natural text almost perfectly",
          paper_value="near-perfect", unit="AUROC", paper_ref="Sec. 5",
          measures="test AUROC of CPT (lower = encoded) on inputs of at least 50 characters; mean over tokenizers, "
                   "bootstrap over test strings",
          rule=AtLeast(0.98, partial=0.95), fidelity="analogue", kind="noisy", tolerance=TOL),
    Claim("short-inputs",
          "The filter stays accurate even for very short inputs",
          paper_value="accurate for very short inputs", unit="accuracy", paper_ref="Abstract, Sec. 5 (length analysis)",
          measures="test accuracy of the same thresholds on inputs shorter than 50 characters; mean over tokenizers, "
                   "bootstrap over test strings",
          rule=AtLeast(0.90, partial=0.80), fidelity="analogue", kind="noisy", tolerance=TOL),
]  # fmt: skip
