"""Hashed unigram+bigram features (the paper's instantiation of DSIR's feature space).

Text is lower-cased and split into words and punctuation runs (`\\w+|[^\\w\\s]+`, NLTK's WordPunct pattern, as in the
paper's code); each word and each pair of neighbouring words adds one count to one of `buckets` hash buckets. A word's
hash is the first 8 bytes of its BLAKE2b digest (the same on every machine and Python process); a unigram falls in
`h(w) mod buckets`, a bigram in `(h(w1) * MIX + h(w2)) mod 2**64 mod buckets`.

`hashed_counts_reference` is the plain definition, one document at a time; `HashedNgrams` is the fast path over a whole
pool (unique words hashed once, bucket arithmetic in numpy, a sparse document x bucket matrix); the tests check that
they give the same counts.
"""

import hashlib
import re

import numpy as np

WORD = re.compile(r"\w+|[^\w\s]+")
MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant mixing the first word of a bigram
MASK = (1 << 64) - 1


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation runs."""
    return WORD.findall(text.lower())


def word_hash(word: str) -> int:
    """A 64-bit hash of a word, stable across processes and machines."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def hashed_counts_reference(text: str, buckets: int = 10000, ngrams: int = 2) -> np.ndarray:
    """Counts `[buckets]` of the hashed unigrams (and bigrams when `ngrams == 2`) of one text: the plain definition."""
    if ngrams not in (1, 2):
        raise ValueError("ngrams must be 1 (unigrams) or 2 (unigrams and bigrams)")
    counts = np.zeros(buckets, dtype=np.int64)
    hs = [word_hash(w) for w in words(text)]
    for h in hs:
        counts[h % buckets] += 1
    if ngrams == 2:
        for a, b in zip(hs, hs[1:]):
            counts[((a * MIX + b) & MASK) % buckets] += 1
    return counts


class HashedNgrams:
    """The fast path: featurise many texts at once into a sparse `[n_texts, buckets]` count matrix (CSR, int64).

    The word -> hash table persists across calls, so featurising a target after the raw pool hashes only new words.
    """

    def __init__(self, buckets: int = 10000, ngrams: int = 2):
        if ngrams not in (1, 2):
            raise ValueError("ngrams must be 1 (unigrams) or 2 (unigrams and bigrams)")
        self.buckets, self.ngrams = buckets, ngrams
        self._ids: dict[str, int] = {}
        self._hashes: list[int] = []

    def word_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All words of `texts` as ids into the hash table `[n_words]`, and the document offsets `[n_texts + 1]`."""
        ids, offsets = [], [0]
        table, hashes = self._ids, self._hashes
        for text in texts:
            ws = WORD.findall(text.lower())
            for w in ws:
                if w not in table:
                    table[w] = len(hashes)
                    hashes.append(word_hash(w))
            ids.extend(table[w] for w in ws)
            offsets.append(len(ids))
        return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64)

    def transform(self, texts: list[str]):
        """Sparse counts `[len(texts), buckets]` (scipy CSR)."""
        from scipy import sparse

        ids, offsets = self.word_ids(texts)
        h = np.asarray(self._hashes, dtype=np.uint64)[ids]
        doc = np.repeat(np.arange(len(texts)), np.diff(offsets))
        cols = [(h % np.uint64(self.buckets)).astype(np.int64)]
        rows = [doc]
        if self.ngrams == 2 and len(h) > 1:
            same = doc[1:] == doc[:-1]  # bigrams never cross a document boundary
            with np.errstate(over="ignore"):
                bi = h[:-1][same] * np.uint64(MIX) + h[1:][same]
            cols.append((bi % np.uint64(self.buckets)).astype(np.int64))
            rows.append(doc[:-1][same])
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = sparse.csr_matrix((np.ones(len(r), dtype=np.int64), (r, c)), shape=(len(texts), self.buckets))
        m.sum_duplicates()
        return m
