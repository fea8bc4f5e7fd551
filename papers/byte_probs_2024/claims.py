"""The claims of arXiv:2410.09303 under test, with their verdict rules: fixed before any run, judged by code after."""

from shared.claims import AtLeast, AtMost, Claim

CLAIMS = [
    Claim("tokenization-bias",
          "Conditioning a tokenized LM on the prompt's tokens and reading the next byte off the next token gives a "
          "next-byte distribution that differs substantially from the source's, even when the LM models the tokens "
          "well (tokenization bias)",
          paper_value="substantial (0 vs alpha in the Markov example)", unit="total variation",
          paper_ref="Sec. 3 (Markov-chain example), Fig. 2",
          measures="mean over prompts of TV(naive next-byte law, true next-character law); mean over seeds",
          rule=AtLeast(0.10, partial=0.05), fidelity="analogue"),
    Claim("exact-removes-bias",
          "The byte-level conversion by the Byte-Token Representation Lemma recovers the source's next-byte "
          "distribution zero-shot",
          paper_value="no bias", unit="total variation",
          paper_ref="Sec. 4 (Prop. 4.2, Alg. 1), Fig. 2",
          measures="mean over prompts of TV(exact next-byte law, true next-character law); mean over seeds",
          rule=AtMost(0.02, partial=0.05), fidelity="analogue"),
    Claim("exact-beats-healing",
          "The exact conversion outperforms token healing, the standard fix for prompts that end inside a token",
          paper_value="consistently better", unit="TV ratio",
          paper_ref="Sec. 5.1, Tab. 1",
          measures="mean TV of token healing over mean TV of the exact conversion; mean over seeds",
          rule=AtLeast(2.0, partial=1.2), fidelity="analogue"),
    Claim("cover-sum-exact",
          "The cover sum gives exact byte-level probabilities of the tokenized LM",
          paper_value=0.0, unit="max absolute error", paper_ref="Sec. 4, Prop. 4.2 (Byte-Token Representation Lemma)",
          measures="max over seeds and over all strings s of EXACT_LEN characters of |cover sum P(s) - brute-force "
                   "P(s)|, and of |sum_s P(s) - 1|; floored at 1e-14 (float64 round-off)",
          rule=AtMost(1e-10, partial=1e-6), fidelity="faithful"),
]  # fmt: skip
