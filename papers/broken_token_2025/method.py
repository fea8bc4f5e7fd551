"""Zychlinski & Kainan, *Broken-Token: Filtering Obfuscated Prompts by Counting Characters-Per-Token*
(arXiv:2510.26847): a threshold on characters per token (CPT) separates natural text from ciphers and encodings.

What is new here (tokenizers and counting come from `shared.tokenization`):
- `ENCODINGS`: the obfuscations, each a plain function of the text (base64, hex, binary, URL-encoding, ROT13, Caesar,
  Atbash, leetspeak, Morse, reversed text, character spacing);
- `cpt`: characters per token of each input under a tokenizer;
- `fit_threshold` / `evaluate`: the one-number classifier ("encoded" when CPT is below the threshold), fitted on a
  training split, with accuracy and AUROC on a test split;
- `mean_auroc_of_resample`: the AUROC averaged over tokenizers as a statistic of a bootstrap over test strings.

Deviations from the paper, on purpose:
- benign inputs are natural sentences from packaged corpora (fortunes, KJV, WordNet glosses, UI strings), not the
  paper's prompt datasets; the encoded inputs are the same sentences obfuscated, so the two classes share content;
- the threshold is fitted per tokenizer on half of the data (maximum accuracy) rather than set from the paper.
"""

import base64
import codecs
import urllib.parse

import numpy as np

from shared.tokenization import Tok

MORSE = {"a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.", "h": "....", "i": "..",
         "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.", "o": "---", "p": ".--.", "q": "--.-", "r": ".-.",
         "s": "...", "t": "-", "u": "..-", "v": "...-", "w": ".--", "x": "-..-", "y": "-.--", "z": "--..", "0": "-----",
         "1": ".----", "2": "..---", "3": "...--", "4": "....-", "5": ".....", "6": "-....", "7": "--...", "8": "---..",
         "9": "----."}  # fmt: skip
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "A": "4", "E": "3", "I": "1",
                      "O": "0", "S": "5", "T": "7"})  # fmt: skip


def caesar(text: str, k: int) -> str:
    out = []
    for ch in text:
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 + k) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 + k) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)


def atbash(text: str) -> str:
    out = []
    for ch in text:
        if "a" <= ch <= "z":
            out.append(chr(122 - (ord(ch) - 97)))
        elif "A" <= ch <= "Z":
            out.append(chr(90 - (ord(ch) - 65)))
        else:
            out.append(ch)
    return "".join(out)


def morse(text: str) -> str:
    """Letters and digits as Morse, letters separated by spaces, words by ` / ` (other characters dropped)."""
    words = text.lower().split()
    return " / ".join(" ".join(MORSE[c] for c in w if c in MORSE) for w in words)


ENCODINGS = {
    "base64": lambda t: base64.b64encode(t.encode()).decode(),
    "hex": lambda t: t.encode().hex(),
    "binary": lambda t: " ".join(f"{b:08b}" for b in t.encode()),
    "url": lambda t: urllib.parse.quote(t, safe=""),
    "rot13": lambda t: codecs.encode(t, "rot13"),
    "caesar3": lambda t: caesar(t, 3),
    "atbash": atbash,
    "leetspeak": lambda t: t.translate(LEET),
    "morse": morse,
    "reversed": lambda t: t[::-1],
    "spaced": lambda t: " ".join(t),
}


def cpt(tok: Tok, texts: list[str]) -> np.ndarray:
    """Characters per token of each text `[N]` float64."""
    n_tokens = tok.count(texts)
    return np.array([len(t) for t in texts], dtype=float) / np.maximum(n_tokens, 1)


def fit_threshold(scores: np.ndarray, encoded: np.ndarray) -> float:
    """The CPT threshold with the highest training accuracy for "encoded iff CPT < threshold" (midpoints tried)."""
    s = np.sort(np.unique(scores))
    cands = np.r_[s[0] - 1e-9, (s[1:] + s[:-1]) / 2, s[-1] + 1e-9]
    acc = [((scores < c) == encoded).mean() for c in cands]
    return float(cands[int(np.argmax(acc))])


def auroc(scores: np.ndarray, encoded: np.ndarray) -> float:
    """Probability that a random encoded input has lower CPT than a random natural one (ties count half)."""
    from scipy.stats import rankdata

    r = rankdata(-scores)  # low CPT = "more encoded" = high rank
    n_pos, n_neg = encoded.sum(), (~encoded).sum()
    return float((r[encoded].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_auroc_of_resample(scores: np.ndarray, encoded: np.ndarray):
    """A statistic for a bootstrap over inputs: `f(idx)` is the AUROC of every column of `scores` `[N, T]` (one column
    per tokenizer) on the inputs `idx` (with repeats), averaged over the columns; equal to the mean of `auroc` on
    `scores[idx]`, but a resample costs a few counts instead of a sort."""
    n, cols = scores.shape
    enc = np.asarray(encoded, dtype=bool)
    groups = []  # per column: each input's rank among the distinct scores, and the number of distinct scores
    for j in range(cols):
        _, inv = np.unique(scores[:, j], return_inverse=True)
        groups.append((inv, int(inv.max()) + 1))

    def statistic(idx) -> float:
        w = np.bincount(np.asarray(idx), minlength=n).astype(float)
        wp, wn = w * enc, w * ~enc
        total_p, total_n = wp.sum(), wn.sum()
        out = []
        for inv, k in groups:
            neg = np.bincount(inv, weights=wn, minlength=k)  # negative weight at each distinct score
            above = total_n - np.cumsum(neg)  # negatives with a strictly higher score (CPT) than the group
            out.append(float((wp * (above[inv] + 0.5 * neg[inv])).sum() / (total_p * total_n)))
        return float(np.mean(out))

    return statistic
