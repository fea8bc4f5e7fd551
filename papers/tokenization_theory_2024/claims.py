"""The claims of arXiv:2404.08335 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim, Tolerance

# reproduction tolerance, measured: the default profile re-run with the same seeds at 1 and 2 threads recorded identical
# values (all three claims, 4 significant digits: spread < 1e-4 relative), so the floor applies
# the equal-character token model of issue 14 re-checked before pre-registration (seeds 0-1 at 1 and 2 threads:
# identical to all printed digits)
_WHY = "1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for last-digit drift across CPUs"
TOL_CHARS = Tolerance(rel=0.002, why=_WHY)
TOL_TOKENS = Tolerance(rel=0.002, why=_WHY)
TOL_UNIGRAM = Tolerance(rel=0.002, why=_WHY)

CLAIMS = [
    Claim("chars-stuck-at-unigram",
          "Without tokenization, a transformer trained on a k-th order (k > 1) Markov source predicts like a unigram "
          "model: its cross-entropy stays near the unigram entropy (learning is incredibly slow or fails)",
          paper_value="~unigram entropy", unit="char-model bits/char over unigram entropy", paper_ref="Sec. 1, Fig. 1",
          measures="test bits per character of the character-level transformer after its budget of STEPS x BATCH x "
                   "CTX training characters (the matched character count of issue 14), divided by the character "
                   "unigram entropy H(pi) = 1 bit; mean over seeds (bootstrap interval over seeds)",
          rule=AtLeast(0.95, partial=0.90), fidelity="scaled-down", kind="noisy", tolerance=TOL_CHARS),
    Claim("tokens-near-optimal",
          "With a BPE tokenizer, the same transformer models the source near-optimally",
          paper_value="near the entropy rate", unit="token-model bits/char over entropy rate",
          paper_ref="Sec. 1, Fig. 1",
          measures="test bits per character of the transformer trained on BPE tokens for as many training "
                   "characters as the character model (round(STEPS / chars per token) steps: equal characters, not "
                   "equal steps, since issue 14), divided by the source's entropy rate; mean over seeds (bootstrap "
                   "interval over seeds)",
          rule=AtMost(1.10, partial=1.25), fidelity="scaled-down", kind="noisy", tolerance=TOL_TOKENS),
    Claim("unigram-over-tokens-near-optimal",
          "Even a unigram model over the tokens of a suitable dictionary reaches near-optimal cross-entropy per "
          "character, while a unigram model over characters cannot",
          paper_value="(1 + eps) x entropy rate", unit="unigram-over-tokens bits/char over entropy rate",
          paper_ref="Sec. 4 (Thm. 4.1 for LZW, Sec. 4.2 for BPE), Fig. 3",
          measures="smallest over the BPE dictionary sizes of the held-out bits per character of the count-fitted "
                   "unigram model over tokens, divided by the entropy rate; mean over seeds (bootstrap over seeds)",
          rule=AtMost(1.10, partial=1.25), fidelity="scaled-down", kind="noisy", tolerance=TOL_UNIGRAM),
]  # fmt: skip
