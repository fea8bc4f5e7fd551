"""The claims of arXiv:2410.09303 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

# reproduction tolerances, measured: the default profile re-run at 1 and 2 threads recorded identical values (count
# n-grams and a seeded bootstrap: nothing depends on the thread count), so the floor applies
_WHY = "1 vs 2 threads: identical recorded values (spread < 1e-4 relative); floor 2e-3 for last-digit drift across CPUs"
TOL = Tolerance(rel=0.002, why=_WHY)
TOL_EXACT = Tolerance(
    rel=0.002,
    why="the recorded value is the 1e-12 floor at 1 and 2 threads (raw round-off <= 8.4e-15, "
    "100x below it); floor 2e-3 relative",
)
_WHY_FIM = (
    "not yet re-run at 2 threads: float32 logits move in the 6th-7th digit between BLAS orders and the "
    "pruned cover sums' error bound is recorded per prompt (< 1e-4); floor 2e-3 relative + 1e-4 absolute"
)
TOL_FIM = Tolerance(rel=0.002, abs=1e-4, why=_WHY_FIM)

CLAIMS = [
    Claim("tokenization-bias",
          "Conditioning a tokenized LM on the prompt's tokens and reading the next byte off the next token gives a "
          "next-byte distribution that differs substantially from the source's, even when the LM models the tokens "
          "well (tokenization bias)",
          paper_value="substantial (0 vs alpha in the Markov example)", unit="total variation",
          paper_ref="Sec. 3 (Markov-chain example), Fig. 2",
          measures="mean over prompts of TV(naive next-byte law, true next-character law); bootstrap over prompts "
                   "(pooled over the seeds' chains)",
          rule=AtLeast(0.10, partial=0.05), fidelity="analogue", kind="noisy", tolerance=TOL),
    Claim("exact-removes-bias",
          "The byte-level conversion by the Byte-Token Representation Lemma recovers the source's next-byte "
          "distribution zero-shot",
          paper_value="no bias", unit="total variation",
          paper_ref="Sec. 4 (Prop. 4.2, Alg. 1), Fig. 2",
          measures="mean over prompts of TV(exact next-byte law, true next-character law); bootstrap over prompts "
                   "(pooled over the seeds' chains)",
          rule=AtMost(0.02, partial=0.05), fidelity="analogue", kind="noisy", tolerance=TOL),
    Claim("exact-beats-healing",
          "The exact conversion outperforms token healing, the standard fix for prompts that end inside a token",
          paper_value="consistently better", unit="TV difference (healing - exact)",
          paper_ref="Sec. 5.1, Tab. 1",
          measures="per prompt, TV(token healing, truth) - TV(exact conversion, truth) (positive: exact is better), "
                   "mean over prompts; paired bootstrap over prompts (pooled over the seeds' chains)",
          rule=AtLeast(0.0), fidelity="analogue", kind="noisy", tolerance=TOL,
          control=Control("naive", "no fix at all: the next byte read off the next token after the prompt's own "
                                   "tokens; margin = per-prompt TV(naive) - TV(exact), positive: exact is better")),
    Claim("cover-sum-exact",
          "The cover sum gives exact byte-level probabilities of the tokenized LM",
          paper_value=0.0, unit="max absolute error", paper_ref="Sec. 4, Prop. 4.2 (Byte-Token Representation Lemma)",
          measures="max over seeds and over all strings s of EXACT_LEN characters of |cover sum P(s) - brute-force "
                   "P(s)|, and of |sum_s P(s) - 1|; floored at 1e-12 (round-off, ~1e-14 here, varies by CPU)",
          rule=AtMost(1e-10, partial=1e-6), fidelity="faithful", kind="exact", tolerance=TOL_EXACT),
    Claim("fim-exact-beats-standard",
          "In fill-in-the-middle prompts whose prefix ends inside a token, the exact byte-level conversion of a code LM "
          "does better than standard prompting with the cut prefix, and better than token healing",
          paper_value="18% improvement in FIM coding benchmarks; consistently above token healing",
          unit="probability difference (exact - standard)",
          paper_ref="Abstract", paper_version="2410.09303v2",
          paper_quote="our method mitigates performance degradation and achieves 18% improvement in FIM coding "
                      "benchmarks, while consistently outperforming the standard token healing fix",
          measures="Qwen2.5-Coder-0.5B-Instruct in its PSM fill-in-the-middle format on HumanEval (prompt + canonical "
                   "solution), one random cut strictly inside a token of the solution per problem, the hidden middle "
                   "8-40 bytes: per prompt, P(middle starts with the rest of the cut token) by the byte-level "
                   "conversion (the prefix's last token re-read through the cover sum) minus the same probability "
                   "under standard prompting (whole cut prefix in the prompt, the middle's bytes by the cover sum over "
                   "its tokens); mean over prompts, paired bootstrap over prompts (HumanEval problems)",
          rule=AtLeast(0.0), fidelity="scaled-down", kind="noisy", tolerance=TOL_FIM,
          preconditions=(Precondition(
              "fim-clean-split",
              "the model does the task when nothing is cut: from the prompt cut at the clean token boundary before "
              "the cut token, its mean probability of the true next token's bytes is at least 0.2 (chance is about "
              "1e-5 over 151k tokens)",
              AtLeast(0.2)),),
          control=Control("token healing", "the standard fix: drop the prefix's last token and restrict the "
                                           "middle's first token to those that extend its bytes; margin = per-prompt "
                                           "P(exact) - P(healing), positive: exact is better")),
]  # fmt: skip
