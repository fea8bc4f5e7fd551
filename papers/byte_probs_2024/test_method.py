"""Tests of the Markov chain, the token n-gram and the exact next-character conversion."""

import numpy as np
import pytest

from papers.byte_probs_2024.method import (
    MarkovChain,
    NGramLM,
    brute_force_prefix_probs,
    exact_next_char,
    fim_case,
    healed_prefix_probability,
    pruned_prefix_probability,
    total_variation,
)
from shared.tokenization import ByteVocab, naive_next_byte, prefix_probability, train


def test_chain_next_char_and_sampling():
    chain = MarkovChain("ab", np.array([[0.9, 0.1], [0.3, 0.7]]))
    nxt = chain.next_char("bba")
    assert nxt[ord("a")] == 0.9 and nxt[ord("b")] == 0.1 and nxt.sum() == 1
    s = chain.sample(100_000, np.random.default_rng(0))
    pairs = [s[i : i + 2] for i in range(len(s) - 1)]
    aa = sum(p == "aa" for p in pairs) / sum(p[0] == "a" for p in pairs)
    assert aa == pytest.approx(0.9, abs=0.01)


def test_ngram_counts_and_backoff():
    lm = NGramLM(2, 3, beta=1.0).fit([[0, 1, 0, 1, 2]])
    # unigram counts [2, 2, 1] backed off to uniform; after token 0 the counts are [0, 2, 0]
    uni = (np.array([2, 2, 1]) + 1 / 3) / 6
    np.testing.assert_allclose(lm(()), uni)
    np.testing.assert_allclose(lm((0,)), (np.array([0, 2, 0]) + uni) / 3)
    np.testing.assert_allclose(lm((5, 2)), uni)  # unseen context: the unigram law


def test_markov_example_of_the_paper_bias_and_its_removal():
    # the paper's Sec. 3 example: states A, B and a tokenizer that merges "AA"; after the prompt "...BA" the token
    # "A" can never be followed by a token starting with "A", so the naive next-byte P(A) is 0 while the truth is 0.6
    chain = MarkovChain("AB", np.array([[0.6, 0.4], [0.5, 0.5]]))
    rng = np.random.default_rng(0)
    text = chain.sample(300_000, rng)
    tok = train([text[i : i + 64] for i in range(0, len(text), 64)], 3, pretokenizer="none", alphabet=["A", "B"])
    assert sorted(tok.token_bytes) == [b"A", b"AA", b"B"]
    lm = NGramLM(2, 3).fit(tok.encode_batch([text[i : i + 256] for i in range(0, len(text), 256)]))
    vocab = ByteVocab(tok.token_bytes)
    prompt = "ABBABA"
    truth = chain.next_char(prompt)
    naive = naive_next_byte(lm, vocab, tuple(tok.encode(prompt)))
    exact = exact_next_char(lm, vocab, tok, prompt, backoff=3)
    assert naive[ord("A")] < 0.01
    assert total_variation(exact, truth) < 0.02 < 0.5 < total_variation(naive, truth)


def test_brute_force_agrees_with_the_cover_sum_and_sums_to_one():
    tokens = [b"a", b"b", b"ab", b"bba"]
    rng = np.random.default_rng(3)
    table = {}

    def lm(ctx):
        return table.setdefault(ctx[-1:], rng.dirichlet(np.ones(4)))

    brute = brute_force_prefix_probs(lm, tokens, 3)
    assert sum(brute.values()) == pytest.approx(1, abs=1e-14) and len(brute) == 8
    vocab = ByteVocab(tokens)
    for s, p in brute.items():
        assert prefix_probability(lm, vocab, s) == pytest.approx(p, rel=1e-12)


# --- the fill-in-the-middle test with a real code LM (the model itself is exercised by the notebook) -----------------


def _toy_lm(n_tokens, seed=0):
    rng = np.random.default_rng(seed)
    table = {}

    def lm(ctx):
        return table.setdefault(tuple(ctx[-2:]), rng.dirichlet(np.ones(n_tokens)))

    return lm


def test_pruned_cover_sum_is_exact_at_zero_and_bounded_otherwise():
    tokens = [b"a", b"b", b"ab", b"ba", b"aba", b"bab"]
    vocab, lm = ByteVocab(tokens), _toy_lm(len(tokens))
    for s in [b"abab", b"babba", b"a"]:
        exact = prefix_probability(lm, vocab, s, (0,))
        v0, d0 = pruned_prefix_probability(lm, vocab, s, (0,), 0.0)
        assert v0 == pytest.approx(exact, rel=1e-12) and d0 == 0
        v, d = pruned_prefix_probability(lm, vocab, s, (0,), 0.05)
        assert v <= exact + 1e-15 <= v + d + 1e-12


def test_token_healing_restricts_the_first_token():
    tokens = [b"a", b"b", b"ab", b"ba", b"aba", b"bab"]
    vocab, lm = ByteVocab(tokens), _toy_lm(len(tokens), 1)
    ctx = (1,)
    got, d = healed_prefix_probability(lm, vocab, b"a", b"ba", ctx)
    p = lm(ctx)
    # first token extends "a": "a" (then "ba..." by the cover sum), "ab" (then "a..."), "aba" (done)
    num = p[0] * prefix_probability(lm, vocab, b"ba", ctx + (0,)) + p[2] * prefix_probability(
        lm, vocab, b"a", ctx + (2,)
    )
    num += p[4]
    assert d == 0 and got == pytest.approx(num / (p[0] + p[2] + p[4]), rel=1e-12)


def test_fim_cut_is_strictly_inside_a_token():
    text = "def f(x):\n    return x + 1\n" * 3
    tok = train([text] * 20, 300, alphabet=sorted(set(text)))
    rng = np.random.default_rng(0)
    for _ in range(20):
        case = fim_case("t", text, 10, rng, tok, (3, 6), 1000, 1000)
        ids = tok.encode(text)
        ends = set(np.cumsum([len(tok.token_bytes[i]) for i in ids]))
        cut = len(case.prefix)
        assert cut not in ends and cut >= 10 and text.encode().startswith(case.prefix)
        assert case.rest and text.encode()[cut:].startswith(case.rest) and (cut + len(case.rest)) in ends


def test_fim_claim_can_fail_and_needs_its_precondition():
    from papers.byte_probs_2024.claims import CLAIMS
    from shared.claims import Measurement

    claim = next(c for c in CLAIMS if c.id == "fim-exact-beats-standard")
    rng = np.random.default_rng(0)
    std = rng.uniform(0.2, 0.9, 40)
    worse = std - rng.uniform(0.01, 0.1, 40)  # a placebo "conversion" that only loses mass
    good = Measurement.mean(rng.uniform(0.4, 0.9, 40), n_unit="prompts", bounds=(0, 1))
    out = claim.evaluate(Measurement.paired_difference(worse, std, n_unit="prompts"),
                         control=Measurement.paired_difference(worse, std, n_unit="prompts"),
                         checks={"fim-clean-split": good})  # fmt: skip
    assert out["verdict"] == "not reproduced"
    bad = Measurement.mean(rng.uniform(0.0, 0.05, 40), n_unit="prompts", bounds=(0, 1))
    better = std + rng.uniform(0.01, 0.1, 40)
    out = claim.evaluate(Measurement.paired_difference(better, std, n_unit="prompts"),
                         control=Measurement.paired_difference(better, std, n_unit="prompts"),
                         checks={"fim-clean-split": bad})  # fmt: skip
    assert out["verdict"] == "inconclusive"
