"""StochasTok (Sims et al., arXiv:2506.01687): split tokens of a canonical tokenization into pairs of vocabulary tokens
that spell the same bytes, so a model sees one text in many tokenizations.

`SplitTable.from_tok(tok)` lists, for every token, the pairs `(left, right)` of vocabulary tokens whose bytes
concatenate to it (a BPE vocabulary has at least its own merge for every multi-byte token). The expansion follows the
paper and its official code: `N = floor(p * len(ids))` attempts; each picks a position uniformly in the *current*
sequence and, if the token there has splits, replaces it by one of them chosen uniformly (so a piece of an earlier
split can be split again). `expand_reference` does exactly that on a Python list (`O(N * len)`); `expand` draws from the
same law in `O(len + N)` with a linked list, and is the one to use on corpora.

    table = SplitTable.from_tok(tok)
    ids2 = expand(ids, table, p=0.1, rng=np.random.default_rng(0))
    assert tok.decode_bytes(ids2) == tok.decode_bytes(ids)
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.tokenization.vocab import Tok


@dataclass(frozen=True)
class SplitTable:
    """Every token's two-token splits, in CSR layout.

    Attributes:
        offsets (np.ndarray): `[V + 1]` int64; the splits of token `t` are rows `offsets[t]:offsets[t + 1]`.
        left, right (np.ndarray): `[S]` int64 token ids; `bytes(left[s]) + bytes(right[s]) == bytes(t)`.
    """

    offsets: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @classmethod
    def from_token_bytes(cls, token_bytes: Sequence[bytes], exclude: frozenset[int] = frozenset()) -> "SplitTable":
        """Build the table from each id's bytes (`Tok.token_bytes`).

        Args:
            token_bytes: `token_bytes[i]` is what token `i` spells; empty entries (holes in the id space) are skipped.
            exclude: ids that are never split nor used as a piece (special tokens, which spell no text).

        When several ids spell the same bytes (rare: an added token that duplicates a merge), the smallest is the piece.
        """
        piece_id: dict[bytes, int] = {}
        for i, b in enumerate(token_bytes):
            if b and i not in exclude and b not in piece_id:
                piece_id[b] = i
        offsets = np.zeros(len(token_bytes) + 1, dtype=np.int64)
        left, right = [], []
        for i, b in enumerate(token_bytes):
            if i not in exclude:
                for j in range(1, len(b)):
                    a, c = piece_id.get(b[:j]), piece_id.get(b[j:])
                    if a is not None and c is not None:
                        left.append(a)
                        right.append(c)
            offsets[i + 1] = len(left)
        return cls(offsets, np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))

    @classmethod
    def from_tok(cls, tok: Tok) -> "SplitTable":
        return cls.from_token_bytes(tok.token_bytes, exclude=tok.special_ids)

    @property
    def n_splits(self) -> np.ndarray:
        """`[V]` int64: how many splits each token has (0: it is never expanded)."""
        return np.diff(self.offsets)

    def splits(self, t: int) -> list[tuple[int, int]]:
        """The `(left, right)` pairs of token `t`."""
        lo, hi = self.offsets[t], self.offsets[t + 1]
        return list(zip(self.left[lo:hi].tolist(), self.right[lo:hi].tolist(), strict=True))


def expand_reference(ids: Sequence[int], table: SplitTable, p: float, rng: np.random.Generator) -> list[int]:
    """StochasTok as the paper states it, on a Python list: the ground truth for `expand`.

    Args:
        ids: the canonical token ids `[L]`.
        p (float): expansion attempts per token of the input, `floor(p * L)` in all.
        rng (np.random.Generator): the randomness.

    Returns:
        list[int]: the expanded ids `[L + number of successful attempts]`, spelling the same bytes.
    """
    out = list(ids)
    for _ in range(int(len(ids) * p)):
        i = int(rng.integers(len(out)))
        lo, hi = table.offsets[out[i]], table.offsets[out[i] + 1]
        if hi > lo:
            s = int(rng.integers(lo, hi))
            out[i : i + 1] = [int(table.left[s]), int(table.right[s])]
    return out


def expand(ids: Sequence[int] | np.ndarray, table: SplitTable, p: float, rng: np.random.Generator) -> np.ndarray:
    """The law of `expand_reference` in `O(L + N)`: same attempts, same choices, no list insertions.

    A uniform position of the current sequence is a uniform slot of an array that holds the same tokens in another
    order; so tokens live in slots (a split keeps the left piece in its slot and appends the right piece), a
    linked list remembers their order, and the text is read back by walking it once.

    Returns:
        np.ndarray: `[L + successes]` int64 ids (not the same draws as `expand_reference` for a seed, the same law).
    """
    ids = np.asarray(ids, dtype=np.int64)
    n_attempts = int(len(ids) * p)
    if n_attempts == 0:
        return ids.copy()
    cap = len(ids) + n_attempts
    tokens = np.empty(cap, dtype=np.int64)
    tokens[: len(ids)] = ids
    nxt = np.empty(cap, dtype=np.int64)  # nxt[slot]: the slot that follows in text order; -1 ends the list
    nxt[: len(ids)] = np.arange(1, len(ids) + 1)
    nxt[len(ids) - 1] = -1
    n_split = table.n_splits
    # draw everything up front: a uniform real per attempt, scaled to the current length (and to the split count)
    u_pos, u_split = rng.random(n_attempts), rng.random(n_attempts)
    n = len(ids)
    offsets, left, right = table.offsets, table.left, table.right
    for k in range(n_attempts):
        i = int(u_pos[k] * n)
        t = tokens[i]
        m = n_split[t]
        if m:
            s = offsets[t] + int(u_split[k] * m)
            tokens[i], tokens[n] = left[s], right[s]
            nxt[n], nxt[i] = nxt[i], n
            n += 1
    order = np.empty(n, dtype=np.int64)
    slot = 0
    for j in range(n):
        order[j] = slot
        slot = nxt[slot]
    return tokens[order]
