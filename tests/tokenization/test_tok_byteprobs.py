"""Byte-level probabilities by covers, against brute-force enumeration of token sequences."""

import itertools

import numpy as np
import pytest

from shared.tokenization import ByteVocab, naive_next_byte, next_byte_distribution, prefix_probability
from shared.tokenization.byteprobs import token_healing_next_byte

TOKENS = [b"a", b"b", b"ab", b"ba", b"aa", b"bab", b""]  # the empty one stands for a special token


def random_lm(seed=0, order=2):
    """A random token LM of finite order over TOKENS, float64; the special token has probability 0."""
    rng = np.random.default_rng(seed)
    table = {}

    def lm(ctx):
        key = ctx[-(order - 1) :] if order > 1 else ()
        if key not in table:
            p = rng.dirichlet(np.ones(len(TOKENS)))
            p[-1] = 0
            table[key] = p / p.sum()
        return table[key]

    return lm


def brute_prefix_probability(lm, s: bytes) -> float:
    # every sequence of len(s) tokens spells at least len(s) bytes, and their probabilities sum to 1
    total = 0.0
    for seq in itertools.product(range(len(TOKENS) - 1), repeat=len(s)):
        p, text = 1.0, b""
        for i, t in enumerate(seq):
            p *= lm(seq[:i])[t]
            text += TOKENS[t]
        if text.startswith(s):
            total += p
    return total


def test_vocab_prefix_queries():
    v = ByteVocab(TOKENS, exclude={6})
    assert sorted(v.starting_with(b"b").tolist()) == [1, 3, 5]
    assert sorted(v.starting_with(b"ba").tolist()) == [3, 5]
    assert sorted(v.starting_with(b"").tolist()) == [0, 1, 2, 3, 4, 5]
    assert v.prefixes_of(b"bab") == [(1, 1), (3, 2), (5, 3)]
    assert v.byte_at[5].tolist()[:4] == [98, 97, 98, 256]


@pytest.mark.parametrize("s", [b"a", b"ab", b"bab", b"abba", b"aabab"])
def test_cover_sum_equals_brute_force(s):
    lm, v = random_lm(), ByteVocab(TOKENS, exclude={6})
    assert prefix_probability(lm, v, s) == pytest.approx(brute_prefix_probability(lm, s), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("s", [b"a", b"ba", b"abab"])
def test_next_byte_distribution_is_normalised_and_matches_ratios(s):
    lm, v = random_lm(1), ByteVocab(TOKENS, exclude={6})
    dist, total = next_byte_distribution(lm, v, s)
    assert dist.sum() == pytest.approx(1, abs=1e-14) and (dist[[ord("a"), ord("b")]].sum() == pytest.approx(1))
    assert total == pytest.approx(prefix_probability(lm, v, s), rel=1e-12)
    for byte in b"ab":
        want = brute_prefix_probability(lm, s + bytes([byte])) / brute_prefix_probability(lm, s)
        assert dist[byte] == pytest.approx(want, rel=1e-10)


def test_naive_and_healing_read_next_token_first_bytes():
    lm, v = random_lm(2, order=1), ByteVocab(TOKENS, exclude={6})
    p = lm(())
    naive = naive_next_byte(lm, v, (0,))
    assert naive[ord("a")] == pytest.approx(p[[0, 2, 4]].sum())
    # drop "b": "ba" and "bab" continue with "a"; "b" again continues with the next token's first byte
    healed = token_healing_next_byte(lm, v, (0, 1))
    want = (p[3] + p[5] + p[1] * naive[ord("a")]) / (p[1] + p[3] + p[5])
    assert healed[ord("a")] == pytest.approx(want) and healed.sum() == pytest.approx(1)
    # with an order-1 (context-free) LM, the exact next byte after a whole token differs from the naive one
    exact, _ = next_byte_distribution(lm, v, b"a")
    assert abs(exact[ord("a")] - naive[ord("a")]) > 1e-3


def test_merging_paths_by_lm_state_is_exact_for_a_finite_order_lm():
    lm, v = random_lm(4, order=2), ByteVocab(TOKENS, exclude={6})
    for s in [b"abab", b"babba", b"aabababba"]:
        full, t_full = next_byte_distribution(lm, v, s, context=(1,))
        merged, t_merged = next_byte_distribution(lm, v, s, context=(1,), state=lambda c: c[-1:])
        np.testing.assert_allclose(merged, full, rtol=1e-12)
        assert t_merged == pytest.approx(t_full, rel=1e-12)
