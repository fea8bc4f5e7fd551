"""BPE merge lists as byte pairs, and replaying a merge list on text while counting pairs.

A BPE tokenizer is its ordered merge list: merge `t` joins the two tokens `(a, b)` that were the most frequent adjacent
pair in the training data after merges `0..t-1` were applied. `merge_list` reads it from any `Tok` (byte-level HF
tokenizers and tiktoken rank files alike, as pairs of `bytes`); `Replay` applies it step by step to a corpus of
pre-tokenized words and reports every pair's count before each step, the quantity data-mixture inference needs.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from shared.tokenization.vocab import Tok, bytelevel_to_bytes


def merges_from_ranks(ranks: dict[bytes, int], limit: int | None = None) -> list[tuple[bytes, bytes]]:
    """The merge list implied by a tiktoken-style rank table (token bytes -> rank, merges in rank order).

    The merge that creates token `x` of rank `r` is found by running BPE on `x`'s bytes with only the ranks below `r`:
    it must stop at exactly two parts, which are the merged pair.

    Args:
        ranks (dict[bytes, int]): every token's rank; single bytes included.
        limit (int, Optional): return only the first `limit` merges.
    """
    out = []
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) < 2:
            continue
        parts = [bytes([b]) for b in tok]
        while len(parts) > 2:
            best, at = None, None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < rank and (best is None or r < best):
                    best, at = r, i
            if at is None:
                break
            parts[at : at + 2] = [parts[at] + parts[at + 1]]
        if len(parts) != 2:
            raise ValueError(f"token {tok!r} (rank {rank}) is not the merge of two lower-ranked tokens")
        out.append((parts[0], parts[1]))
        if limit is not None and len(out) >= limit:
            break
    return out


def merge_list(tok: Tok, limit: int | None = None) -> list[tuple[bytes, bytes]]:
    """The ordered merges of a byte-level BPE tokenizer as `(left, right)` byte pairs.

    tiktoken encodings and byte-level HF tokenizers converted from them (o200k, cl100k, Llama 3) number their tokens by
    rank, so the merges are derived from the ranks (their HF `merges` field also lists redundant merges). Tokenizers
    trained here keep the trainer's own merge list.
    """
    if tok.style != "bytelevel":
        raise ValueError(f"{tok.name}: merge analysis needs a byte-level BPE tokenizer, not {tok.style}")
    if tok._kind == "tiktoken":
        return merges_from_ranks(tok.backend._mergeable_ranks, limit)
    spec = json.loads(tok.backend.to_str())["model"]
    if spec["type"] != "BPE":
        raise ValueError(f"{tok.name} is a {spec['type']} tokenizer, not BPE")
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    vocab = spec["vocab"]
    # a rank-ordered vocabulary: every multi-byte token's id is larger than its parts'; trained vocabularies also are,
    # but their merge list is authoritative, so use ranks only when the merge list is longer than the vocabulary
    if len(merges) > len(vocab) - 256:
        ranks = {bytelevel_to_bytes(p): i for p, i in vocab.items()}
        return merges_from_ranks(ranks, limit)
    out = [(bytelevel_to_bytes(a), bytelevel_to_bytes(b)) for a, b in merges]
    return out[:limit] if limit is not None else out


def word_counts(tok: Tok, texts: Iterable[str]) -> Counter:
    """How often each pre-token (as bytes) occurs in `texts` under `tok`'s normaliser and pre-tokenizer."""
    c = Counter()
    for t in texts:
        c.update(tok.pretokenize(t))
    return c


class Replay:
    """Apply merges one at a time to a weighted set of words, keeping every adjacent pair's count up to date.

    Args:
        words (dict[bytes, int]): pre-token -> count (from `word_counts`); each word starts as its single bytes.

    Attributes:
        counts (np.ndarray): `[P]` float64, the current count of pair `p` (ids in `pair_id`, pairs in `pairs`; grows
            as pairs appear).
        total (int): bytes in the corpus (the normaliser of the counts).
    """

    def __init__(self, words: dict[bytes, int]):
        self.words = [[bytes([b]) for b in w] for w in words]
        self.freq = list(words.values())
        self.total = sum(len(w) * f for w, f in words.items())
        self.pair_id: dict[tuple[bytes, bytes], int] = {}
        self.pairs: list[tuple[bytes, bytes]] = []  # pair id -> pair
        self.counts = np.zeros(1024)
        self.where = defaultdict(set)  # pair id -> indices of the words that contain it
        for wi, (w, f) in enumerate(zip(self.words, self.freq)):
            for a, b in zip(w, w[1:]):
                p = self._id((a, b))  # may grow self.counts: index it only afterwards
                self.counts[p] += f
                self.where[p].add(wi)

    def _id(self, pair) -> int:
        p = self.pair_id.get(pair)
        if p is None:
            p = self.pair_id[pair] = len(self.pair_id)
            self.pairs.append(pair)
            if p >= len(self.counts):
                self.counts = np.concatenate([self.counts, np.zeros(len(self.counts))])
        return p

    @property
    def n_pairs(self) -> int:
        return len(self.pair_id)

    def top(self, k: int) -> list[tuple[bytes, bytes]]:
        """The (up to) `k` most frequent pairs with a positive count, in no particular order."""
        n = self.n_pairs
        k = min(k, n)
        if not k:
            return []
        idx = np.argpartition(-self.counts[:n], k - 1)[:k]
        return [self.pairs[i] for i in idx if self.counts[i] > 0]

    def count(self, pair: tuple[bytes, bytes]) -> float:
        p = self.pair_id.get(pair)
        return 0.0 if p is None else float(self.counts[p])

    def apply(self, pair: tuple[bytes, bytes]) -> None:
        """Merge every occurrence of `pair` (left to right, as BPE does) and update the pair counts."""
        p = self.pair_id.get(pair)
        if p is None:
            return
        a, b = pair
        merged = a + b
        for wi in list(self.where[p]):
            w, f = self.words[wi], self.freq[wi]
            for x, y in zip(w, w[1:]):
                q = self.pair_id[(x, y)]
                self.counts[q] -= f
            new, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    new.append(merged)
                    i += 2
                else:
                    new.append(w[i])
                    i += 1
            old_pairs = set(zip(w, w[1:]))
            self.words[wi] = new
            new_pairs = set(zip(new, new[1:]))
            for x, y in zip(new, new[1:]):
                q = self._id((x, y))  # may grow self.counts: index it only afterwards
                self.counts[q] += f
            for pr in old_pairs - new_pairs:
                self.where[self.pair_id[pr]].discard(wi)
            for pr in new_pairs:
                self.where[self.pair_id[pr]].add(wi)


def pair_counts_reference(words: dict[bytes, int], merges: list[tuple[bytes, bytes]]) -> Counter:
    """Pair counts after applying `merges` to `words`, recomputed from scratch (the tests' ground truth for `Replay`)."""
    c = Counter()
    for w, f in words.items():
        parts = [bytes([b]) for b in w]
        for a, b in merges:
            i, new = 0, []
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    new.append(a + b)
                    i += 2
                else:
                    new.append(parts[i])
                    i += 1
            parts = new
        for x, y in zip(parts, parts[1:]):
            c[(x, y)] += f
    return c
