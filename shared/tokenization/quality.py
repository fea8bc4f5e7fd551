"""Tokenizer quality metrics shared by the tokenizer-benchmark papers (Qtok, arXiv:2410.12989; the Turkish
tokenization standards, arXiv:2502.07057): what kind of string each vocabulary entry is, how often a corpus uses each
entry, and which share of the distinct entries a corpus uses passes a validity test (a lexicon).

- `classify` / `vocab_categories`: Qtok's token categories (control, pure unicode byte, single character, word-initial
  "spaced", word-internal "inner", incomplete UTF-8 "flanks", and "errors" for unnamed code points) and the Unicode
  script of alphabetic tokens, from the token's bytes (`Tok.token_bytes`, so byte-level, SentencePiece and tiktoken
  vocabularies are read alike).
- `usage_counts` (fast: one batched encode and one `np.bincount`) and `usage_counts_reference` (text by text, a
  `Counter`): how often each id occurs in a corpus.
- `TypeIncidence`: which distinct token ids each text uses, as a sparse text x id matrix, so that the share of valid
  types (the Turkish paper's %TR and %Pure: valid distinct tokens / distinct tokens) over any resample of texts is one
  sparse product; `type_share_reference` computes the same by Python sets.

Tests (`tests/tokenization/test_quality.py`) hold each fast path equal to its reference.
"""

import unicodedata
from collections import Counter
from functools import cache

import numpy as np

from shared.tokenization.vocab import Tok, bytes_to_unicode

CATEGORIES = ("control_tokens", "pure_unicode", "char_alpha", "spaced_alpha", "inner_alpha", "char_other",
              "spaced_other", "inner_other", "unicode_flanks", "char_errors", "spaced_errors", "inner_errors")  # fmt: skip
# Qtok's alphabet list: the first word of a character's Unicode name that counts as a script ("LATIN", "CJK", ...)
SCRIPTS = frozenset(
    "ADLAM CHAKMA OL BAMUM OGHAM BOPOMOFO COPTIC RUNIC HALFWIDTH MODI KAITHI LEPCHA SHAVIAN LIMBU BATAK PHOENICIAN "
    "GLAGOLITIC MANDAIC BALINESE SAMARITAN PHAGS-PA OLD BLACK-LETTER SUNDANESE INSCRIPTIONAL LISU CHAM TAGALOG DESERET "
    "TAGBANWA BUGINESE THAANA MONGOLIAN DINGBAT JAVANESE EGYPTIAN GEORGIAN NKO TIFINAGH GURMUKHI BENGALI SINHALA ORIYA "
    "TAI KANGXI CANADIAN CHEROKEE LAO TELUGU SYRIAC TAMIL BRAILLE ETHIOPIC MYANMAR HEBREW ARABIC TIBETAN HIRAGANA "
    "CYRILLIC GREEK CJK LATIN KATAKANA KHMER THAI ARMENIAN YI HANGUL GOTHIC MALAYALAM DEVANAGARI GUJARATI KANNADA "
    "MEETEI ARABIC-INDIC".split()
)
_HTML = {"br", "h1", "h2", "h3", "h4", "h5", "h6", "b", "img", "li", "tr", "td", "p", "th", "u", "em"}


@cache
def _byte_alphabet() -> frozenset[str]:
    return frozenset(bytes_to_unicode().values())


def _first_words(s: str) -> list[str] | None:
    try:
        return [unicodedata.name(c).split()[0] for c in s]
    except ValueError:  # a code point without a name (controls such as "\n", private use)
        return None


def classify(piece: bytes, special: bool = False) -> tuple[str, str]:
    """Qtok's category of one vocabulary entry and, for alphabetic entries, its script.

    Follows `qtoklib/classification.py` of the Qtok repository on the decoded token string: special (added) tokens
    and `<...>` / `[...]` markup other than HTML tags are control tokens; one byte, or one character of the byte-level
    alphabet, is a "pure unicode" token; bytes that are not valid UTF-8 on their own are "unicode flanks"; otherwise a
    single character, a string starting with a space ("spaced"), or any other string ("inner"), each alphabetic when
    all its (non-leading-space) characters share one script of `SCRIPTS`, "other" when not, "errors" when a character
    has no Unicode name.

    Returns:
        tuple[str, str]: (category from `CATEGORIES`, script or "" for non-alphabetic categories).
    """
    if special:
        return "control_tokens", ""
    if len(piece) == 1:
        return "pure_unicode", ""
    try:
        s = piece.decode("utf-8")
    except UnicodeDecodeError:
        return "unicode_flanks", ""
    if len(s) == 1:
        if s in _byte_alphabet():
            return "pure_unicode", ""
        words = _first_words(s)
        if words is None:
            return "char_errors", ""
        return ("char_alpha", words[0]) if words[0] in SCRIPTS else ("char_other", "")
    if s[0] == " ":
        words = _first_words(s)
        if words is None:
            return "spaced_errors", ""
        hits = set(words[1:])
        return ("spaced_alpha", hits.pop()) if len(hits) == 1 and next(iter(hits)) in SCRIPTS else ("spaced_other", "")
    if (s[0] == "<" and s[-1] == ">") or (s[0] == "[" and s[-1] == "]"):
        if s[1:-1].lower().replace("/", "") not in _HTML:
            return "control_tokens", ""
    words = _first_words(s)
    if words is None:
        return "inner_errors", ""
    hits = set(words)
    return ("inner_alpha", hits.pop()) if len(hits) == 1 and next(iter(hits)) in SCRIPTS else ("inner_other", "")


def vocab_categories(tok: Tok) -> tuple[np.ndarray, np.ndarray]:
    """Category and script of every id of `tok` (`[V]` string arrays); holes in the id space are control tokens."""
    special = tok.special_ids
    cats, scripts = [], []
    for i, b in enumerate(tok.token_bytes):
        c, s = classify(b, special=(i in special) or b == b"")
        cats.append(c)
        scripts.append(s)
    return np.array(cats), np.array(scripts)


def category_shares(categories: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """Percentage of each category in `CATEGORIES` (weighted, e.g. by corpus usage counts; default: per entry)."""
    w = np.ones(len(categories)) if weights is None else np.asarray(weights, dtype=float)
    total = w.sum()
    return {c: float(100 * w[categories == c].sum() / total) if total else float("nan") for c in CATEGORIES}


def script_shares(categories: np.ndarray, scripts: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """Percentage of each "SCRIPT (kind)" of alphabetic entries (`LATIN (spaced)`, `CJK (char)`), over all entries
    (Qtok's Table 2 divides by the whole vocabulary, not by the alphabetic part)."""
    w = np.ones(len(categories)) if weights is None else np.asarray(weights, dtype=float)
    alpha = np.char.endswith(categories.astype(str), "_alpha")
    total = w.sum()
    out: dict[str, float] = {}
    for c, s, x in zip(categories[alpha], scripts[alpha], w[alpha]):
        key = f"{s} ({c.split('_')[0]})"
        out[key] = out.get(key, 0.0) + x
    return {k: float(100 * v / total) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def _ids_fast(tok: Tok, texts: list[str]) -> np.ndarray:
    if tok._kind == "tiktoken":
        batch = tok.backend.encode_ordinary_batch(texts)
    else:
        batch = [e.ids for e in tok.backend.encode_batch_fast(texts, add_special_tokens=False)]
    lens = np.fromiter((len(x) for x in batch), dtype=np.int64, count=len(batch))
    flat = np.fromiter((i for x in batch for i in x), dtype=np.int64, count=int(lens.sum()))
    return flat, lens


def usage_counts(tok: Tok, texts: list[str], size: int | None = None) -> np.ndarray:
    """How often each id occurs when `texts` are encoded (no special tokens): `[size or V]` int64."""
    flat, _ = _ids_fast(tok, list(texts))
    return np.bincount(flat, minlength=size or len(tok.token_bytes))


def usage_counts_reference(tok: Tok, texts: list[str], size: int | None = None) -> np.ndarray:
    """The same as `usage_counts`, one text at a time with a `Counter` (slow; the tests' ground truth)."""
    c = Counter()
    for t in texts:
        c.update(tok.encode(t))
    out = np.zeros(size or len(tok.token_bytes), dtype=np.int64)
    for i, n in c.items():
        out[i] = n
    return out


class TypeIncidence:
    """Which distinct token ids each text uses: a sparse `texts x ids` 0/1 matrix, for type-level shares (%TR, %Pure)
    over a corpus and over bootstrap resamples of its texts.

    Args:
        tok (Tok): the tokenizer.
        texts (list[str]): the corpus, one unit (sentence, document) per text.
    """

    def __init__(self, tok: Tok, texts: list[str]):
        from scipy import sparse

        flat, lens = _ids_fast(tok, list(texts))
        rows = np.repeat(np.arange(len(lens)), lens)
        self.types, cols = np.unique(flat, return_inverse=True)  # the distinct ids the corpus uses, sorted
        m = sparse.csr_matrix((np.ones(len(flat), dtype=np.int32), (rows, cols.ravel())),
                              shape=(len(lens), len(self.types)))  # fmt: skip
        m.data[:] = 1  # duplicates within a text were summed: keep presence only
        self.matrix_t = m.T.tocsr()  # ids x texts: one product per resample
        self.n = len(lens)

    def present(self, rows=None) -> np.ndarray:
        """Boolean over `self.types`: used by the texts `rows` (indices, repeats allowed; default all texts)."""
        if rows is None:
            return np.ones(len(self.types), dtype=bool)
        w = np.bincount(np.asarray(rows, dtype=np.int64), minlength=self.n)
        return (self.matrix_t @ w) > 0

    def share(self, valid: np.ndarray, rows=None) -> float:
        """Percentage of the distinct ids used by `rows` for which `valid[id]` holds (`valid`: `[V]` bool by id)."""
        p = self.present(rows)
        return float(100 * np.asarray(valid)[self.types[p]].mean())


def type_share_reference(tok: Tok, texts: list[str], valid, rows=None) -> float:
    """`TypeIncidence.share` by Python sets, text by text (slow; the tests' ground truth)."""
    rows = range(len(texts)) if rows is None else rows
    seen: set[int] = set()
    for r in rows:
        seen.update(tok.encode(texts[r]))
    return 100 * sum(bool(valid[i]) for i in seen) / len(seen)


def tr_lower(s: str) -> str:
    """Turkish lowercase: dotted and dotless I map to i and ı before the default lowercasing."""
    return s.replace("I", "ı").replace("İ", "i").lower()


def token_words(tok: Tok, lower=tr_lower) -> list[str]:
    """Each id's text as a lexicon would see it: its bytes decoded (undecodable: ""), the word-boundary space and
    surrounding whitespace stripped, lowercased with `lower` (Turkish rules by default)."""
    out = []
    for b in tok.token_bytes:
        try:
            out.append(lower(b.decode("utf-8").strip()))
        except UnicodeDecodeError:
            out.append("")
    return out
