"""The claims of "Qtok: A Comprehensive Framework for Evaluating Multilingual Tokenizer Quality in Large Language
Models" (arXiv:2410.12989) under test, with their verdict rules: fixed before any run, judged by code after.

The paper's measured findings we can recompute exactly are its Table 1 (percent of each vocabulary in each token
category) and Table 2 (percent in each script) for the four of its 13 representative tokenizers whose vocabularies we
hold (Mistral-7B's, Llama-3's, Qwen's, Gemma-1/2's: `method.PAPER_ROWS`). These are counts over a fixed vocabulary:
`exact` claims, judged on the largest absolute deviation over every cell; the trivial control asks that each of our
tokenizers sits closer to its own row than to the paper's other rows (per cell, mean over cells with a bootstrap over
the cells). The abstract's finding ("significant variations in token distribution across languages") is tested on
text: the spread across gettext languages of the tokens each tokenizer spends on the same content, against a
character-level tokenizer on the same strings (bootstrap over languages).

Paper values: Tables 1-2 of arXiv 2410.12989v1 as the authors' notebook (github.com/nup-csai/Qtok,
paper/Qtok_v3.ipynb) prints them (table1.tsv, the script table); the arXiv PDF was not readable offline. Bars: 0.5 pp
is the largest deviation a recount of the same vocabulary should show (decoding and classification details such as
which single characters count as byte tokens), 2 pp partial; a Gini of 0.1 across languages (e.g. premiums spread
about ±20% around their mean) is what "significant variation" is taken to mean, 0.05 partial.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Tolerance

V = "2410.12989v1"
EXACT = Tolerance(rel=0.0, abs=0.01, why="a count over a fixed vocabulary: identical on any machine up to rounding")
COUNTS = Tolerance(rel=0.002, why="deterministic token counts and a seeded bootstrap; 2e-3 for last-digit drift")
ROWS = Control(
    "mismatched paper rows",
    "our recount compared with the paper's other 12 tokenizers' rows instead of its own: margin = mean over "
    "cells of (mean |ours - other rows| - |ours - own row|), positive = our vocabularies are recognisably "
    "the paper's, not just any tokenizer's",
)

CLAIMS = [
    Claim("category-table",
          "Token categories of Mistral, Llama-3, Qwen and Gemma vocabularies (control, byte, character, "
          "word-initial, word-internal, other, incomplete UTF-8, errors) as in Table 1",
          paper_value=0.5, unit="pp max |ours - paper|", paper_ref="Tab. 1", paper_version=V,
          paper_quote="llama-3 0.21 0.16 2.8 43.23 30.47 0.16 1.02 18.04 1.06 0.05 0.51 2.27 (table1.tsv row)",
          measures="largest |ours - paper| over the 12 category percentages x 4 tokenizers (48 cells), our counts "
                   "from quality.vocab_categories over each vocabulary's decoded token bytes",
          rule=AtMost(0.5, partial=2.0), fidelity="faithful", kind="exact", tolerance=EXACT, control=ROWS),
    Claim("script-table",
          "Script distribution of the same four vocabularies (share of the vocabulary that is Latin, Cyrillic, "
          "Arabic, Greek, CJK, Hangul, Hebrew, Thai, by kind) as in Table 2",
          paper_value=0.5, unit="pp max |ours - paper|", paper_ref="Tab. 2", paper_version=V,
          paper_quote="llama-3 36.5 23.48 2.05 2.89 1.08 0.37 1.73 0.65 1.8 0.47 1.03 0.0 0.88 0.88 (script row)",
          measures="largest |ours - paper| over the 14 named script columns x 4 tokenizers (56 cells)",
          rule=AtMost(0.5, partial=2.0), fidelity="faithful", kind="exact", tolerance=EXACT, control=ROWS),
    Claim("languages-vary",
          "Tokenizers distribute tokens very unevenly across languages: the same content costs very different "
          "numbers of tokens in different languages",
          paper_value="significant variations", unit="Gini", paper_ref="Abstract; Sec. 4 (language tables)",
          paper_version=V,
          paper_quote="Our analysis revealed significant variations in token distribution across languages and "
                      "categories",
          measures="Gini coefficient across the gettext languages of the token premium (tokens of the language's "
                   "strings / tokens of the same English strings), mean over all real tokenizers we hold; bootstrap "
                   "over languages",
          rule=AtLeast(0.1, partial=0.05), fidelity="analogue", tolerance=COUNTS,
          control=Control("character-level",
                          "the premium of a character tokenizer (characters of the language's strings / of the "
                          "English ones), which varies only with how long each language writes the same content: "
                          "margin = mean Gini over tokenizers - Gini of the character premiums, on the same "
                          "language resamples")),
]  # fmt: skip
