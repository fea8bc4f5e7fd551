"""Byte-level probabilities from a tokenized language model, by summing over the token sequences that cover a string.

The Byte-Token Representation Lemma (Phan et al. 2024, arXiv:2410.09303): the probability that a tokenized LM's output
*starts with* the bytes `s` is the sum, over every token sequence `t_1..t_k` whose first `k-1` tokens spell a proper
prefix of `s` and whose `k` tokens spell a string that starts with `s` (a *cover* of `s`), of `P(t_1..t_k)`. Covers are
disjoint events, so the sum is exact; next-byte probabilities follow as `P(s b) / P(s)`.

`ByteVocab` indexes a vocabulary's token bytes (which tokens start with given bytes, which are prefixes of given
bytes); `next_byte_distribution` runs the cover search once for all 256 next bytes. The LM is any callable
`lm(context: tuple[int, ...]) -> np.ndarray [V]` of next-token probabilities (float64 for exactness).
"""

import bisect
from collections.abc import Callable, Hashable, Sequence

import numpy as np

NO_BYTE = 256  # "the token has no byte at this offset"


class ByteVocab:
    """The byte strings of a vocabulary, indexed for prefix queries.

    Args:
        token_bytes (Sequence[bytes]): `token_bytes[i]` spells token `i`.
        exclude (set[int], Optional): ids never produced as text (special tokens); empty byte strings are excluded too.
    """

    def __init__(self, token_bytes: Sequence[bytes], exclude: set[int] | frozenset = frozenset()):
        self.token_bytes = list(token_bytes)
        self.ids = [i for i, b in enumerate(self.token_bytes) if b and i not in exclude]
        order = sorted(self.ids, key=lambda i: self.token_bytes[i])
        self._sorted_ids = np.array(order, dtype=np.int64)
        self._sorted = [self.token_bytes[i] for i in order]
        self.by_bytes: dict[bytes, list[int]] = {}
        for i in self.ids:
            self.by_bytes.setdefault(self.token_bytes[i], []).append(i)
        self.max_len = max(len(self.token_bytes[i]) for i in self.ids)
        self.lengths = np.array([len(b) for b in self.token_bytes], dtype=np.int64)  # [V]
        # byte_at[i, j]: byte j of token i, NO_BYTE past its end  [V, max_len + 1]
        self.byte_at = np.full((len(self.token_bytes), self.max_len + 1), NO_BYTE, dtype=np.int64)
        for i in self.ids:
            b = self.token_bytes[i]
            self.byte_at[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)

    def starting_with(self, prefix: bytes) -> np.ndarray:
        """Ids `[K]` of the tokens whose bytes start with `prefix` (all tokens for `b""`)."""
        if not prefix:
            return self._sorted_ids
        lo = bisect.bisect_left(self._sorted, prefix)
        hi = bisect.bisect_left(self._sorted, prefix[:-1] + bytes([prefix[-1] + 1])) if prefix[-1] < 255 else \
            bisect.bisect_right(self._sorted, prefix + b"\xff" * self.max_len)  # fmt: skip
        return self._sorted_ids[lo:hi]

    def prefixes_of(self, s: bytes) -> list[tuple[int, int]]:
        """`(id, length)` of every token whose bytes are a non-empty prefix of `s` (the whole of `s` included)."""
        out = []
        for n in range(1, min(len(s), self.max_len) + 1):
            for i in self.by_bytes.get(s[:n], ()):
                out.append((i, n))
        return out


LM = Callable[[tuple[int, ...]], np.ndarray]


def next_byte_distribution(lm: LM, vocab: ByteVocab, s: bytes, context: tuple[int, ...] = (),
                           state: Callable[[tuple[int, ...]], Hashable] | None = None) -> tuple[np.ndarray, float]:  # fmt: skip
    """Exact next-byte probabilities after the bytes `s`, from a tokenized LM.

    Every cover of `s + b` is counted once: a path of tokens spelling a prefix of `s` (possibly all of it), then one
    token that reaches past the end of `s`, whose byte at that offset is `b`. Paths are expanded in order of the
    position they reach; paths that reach the same position in the same LM `state` are merged (their probabilities
    summed), which is exact whenever the LM's next-token law depends on the context only through `state(context)`.

    Args:
        lm: next-token probabilities `[V]` given a context of token ids.
        vocab (ByteVocab): the LM's token bytes.
        s (bytes): the text so far, after `context`.
        context (tuple[int, ...]): tokens fixed before `s` (a prompt whose tokenization is settled; `()` for none).
        state (Callable, Optional): what of the context the LM looks at (`lambda c: c[-2:]` for a trigram); default
            the whole context, i.e. no merging (exponential in `len(s)` in the worst case).

    Returns:
        tuple[np.ndarray, float]: `P(next byte = b | s)` `[256]` float64 (sums to 1), and `P(output starts with s |
        context)`, the normaliser.
    """
    key = state or (lambda c: c)
    mass = np.zeros(NO_BYTE + 1)
    # frontier[pos]: state -> [a representative context, summed path probability]
    frontier: list[dict] = [dict() for _ in range(len(s) + 1)]
    ctx0 = tuple(context)
    frontier[0][key(ctx0)] = [ctx0, 1.0]
    for pos in range(len(s) + 1):
        rest = s[pos:]
        for ctx, p in frontier[pos].values():
            probs = lm(ctx)
            # tokens reaching past the end of s: they decide the next byte
            ids = vocab.starting_with(rest)
            ids = ids[vocab.lengths[ids] > len(rest)]
            if len(ids):
                mass += np.bincount(vocab.byte_at[ids, len(rest)], weights=p * probs[ids], minlength=NO_BYTE + 1)
            # tokens ending inside s (or exactly at its end): extend the path
            for tid, n in vocab.prefixes_of(rest):
                nxt = ctx + (tid,)
                slot = frontier[pos + n].setdefault(key(nxt), [nxt, 0.0])
                slot[1] += p * probs[tid]
    total = mass[:NO_BYTE].sum()
    return mass[:NO_BYTE] / total, float(total)


def prefix_probability(lm: LM, vocab: ByteVocab, s: bytes, context: tuple[int, ...] = ()) -> float:
    """`P(output starts with s | context)`: the sum over the covers of `s` (exact)."""
    if not s:
        return 1.0
    total = 0.0
    stack = [(0, tuple(context), 1.0)]
    while stack:
        pos, ctx, p = stack.pop()
        probs = lm(ctx)
        rest = s[pos:]
        total += p * probs[vocab.starting_with(rest)].sum()
        for tid, n in vocab.prefixes_of(rest):
            if n < len(rest):
                stack.append((pos + n, ctx + (tid,), p * probs[tid]))
    return total


def naive_next_byte(lm: LM, vocab: ByteVocab, tokens: tuple[int, ...]) -> np.ndarray:
    """The usual shortcut: tokenize the prompt, take the next-token distribution, read off each token's first byte.

    Returns:
        np.ndarray: `[256]` next-byte probabilities (renormalised over tokens that spell text).
    """
    probs = lm(tuple(tokens))
    ids = np.array(vocab.ids)
    mass = np.bincount(vocab.byte_at[ids, 0], weights=probs[ids], minlength=NO_BYTE + 1)[:NO_BYTE]
    return mass / mass.sum()


def token_healing_next_byte(lm: LM, vocab: ByteVocab, tokens: tuple[int, ...]) -> np.ndarray:
    """Token healing: drop the prompt's last token `r`, let the model choose among the tokens that start with `r`'s
    bytes, and read off the byte after `r`: from the chosen token when it is longer than `r`, else (it is `r` again)
    from the first byte of the next token.

    Returns:
        np.ndarray: `[256]` next-byte probabilities.
    """
    *head, last = tokens
    r = vocab.token_bytes[last]
    probs = lm(tuple(head))
    ids = vocab.starting_with(r)
    longer = ids[vocab.lengths[ids] > len(r)]
    mass = np.bincount(vocab.byte_at[longer, len(r)], weights=probs[longer], minlength=NO_BYTE + 1)[:NO_BYTE]
    same = probs[[i for i in vocab.by_bytes[r]]].sum()
    mass = mass + same * naive_next_byte(lm, vocab, (*head, last))
    return mass / mass.sum()
