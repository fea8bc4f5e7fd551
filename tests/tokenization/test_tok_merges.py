"""Merge lists and their replay: known merges, incremental pair counts against recounting, BPE's greedy choice."""

import random
from collections import Counter

import pytest

from shared.data import DataMissing
from shared.tokenization import Replay, load, merge_list, merges_from_ranks, pair_counts_reference, train, word_counts


def test_merges_from_ranks_known_answer():
    ranks = {bytes([b]): b for b in range(256)}
    for i, tok in enumerate([b"ab", b"abc", b"bc", b"abab", b"xbc"]):
        ranks[tok] = 256 + i
    # "xbc" can only be x + "bc"; "abab" is "ab" + "ab"; "abc" predates "bc" so it is "ab" + "c"
    assert merges_from_ranks(ranks) == [(b"a", b"b"), (b"ab", b"c"), (b"b", b"c"), (b"ab", b"ab"), (b"x", b"bc")]
    with pytest.raises(ValueError):
        merges_from_ranks({b"a": 0, b"b": 1, b"abc": 2, b"c": 3})


def _corpus(seed=0, n=400):
    rng = random.Random(seed)
    return Counter(bytes(rng.choice(b"aabbbcd ") for _ in range(rng.randint(1, 9))) for _ in range(n))


def test_replay_counts_equal_recounting_after_every_merge():
    words = _corpus()
    merges = [(b"b", b"b"), (b"a", b"b"), (b"bb", b"b"), (b"ab", b"bb"), (b"c", b"d"), (b"b", b"a"), (b"x", b"y")]
    rep = Replay(words)
    for k in range(len(merges) + 1):
        want = pair_counts_reference(words, merges[:k])
        got = {pair: rep.count(pair) for pair in rep.pair_id if rep.count(pair)}
        assert got == dict(want), f"after {k} merges"
        assert rep.total == sum(len(w) * f for w, f in words.items())
        if k < len(merges):
            rep.apply(merges[k])


def test_hf_bpe_trainer_always_merges_a_most_frequent_pair():
    # BPE's definition: each merge is an argmax of the pair counts after the previous merges (ties in any order)
    texts = [" ".join(w.decode() for w in _corpus(seed, 60).elements()) for seed in range(5)]
    tok = train(texts, 256 + 40)
    merges = merge_list(tok)
    assert len(merges) == 40
    rep = Replay(word_counts(tok, texts))
    for a, b in merges:
        assert rep.count((a, b)) == rep.counts[: rep.n_pairs].max() > 0
        rep.apply((a, b))


def test_real_merge_lists_agree_between_libraries():
    try:
        hf, tk = load("gpt2"), load("tiktoken:r50k_base")
    except DataMissing:
        pytest.skip("data/tokenizers not built")
    assert merge_list(hf, 3000) == merge_list(tk, 3000)
    assert merge_list(tk, 2)[:2] == [(b" ", b"t"), (b" ", b"a")]


def test_replay_top_pairs():
    rep = Replay(Counter({b"abab": 3, b"cd": 1}))
    assert set(rep.top(1)) == {(b"a", b"b")} and set(rep.top(10)) == {(b"a", b"b"), (b"b", b"a"), (b"c", b"d")}
    rep.apply((b"a", b"b"))
    assert set(rep.top(10)) == {(b"ab", b"ab"), (b"c", b"d")}
