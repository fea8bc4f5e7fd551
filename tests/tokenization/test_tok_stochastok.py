"""StochasTok: the split table (known answers, every split in the vocabulary), the expansion's invariants (same bytes,
the exact expected number of splits), and the fast path against the reference on the exact law of small cases."""

from collections import Counter
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from shared.tokenization import SplitTable, expand, expand_reference, train

# ids:        0     1     2     3      4      5       6
VOCAB = [b"a", b"b", b"c", b"ab", b"bc", b"abc", b"<s>"]
SPECIAL = frozenset({6})


@pytest.fixture(scope="module")
def table():
    return SplitTable.from_token_bytes(VOCAB, exclude=SPECIAL)


@pytest.fixture(scope="module")
def bpe():
    text = ["the cat sat on the mat with another cat", "strawberry rasberry blueberry berries"] * 30
    return train(text, 320, name="tiny")


def test_split_table_known_answer(table):
    assert table.splits(5) == [(0, 4), (3, 2)]  # abc = a + bc = ab + c
    assert table.splits(3) == [(0, 1)] and table.splits(4) == [(1, 2)]
    assert table.n_splits.tolist() == [0, 0, 0, 1, 1, 2, 0]  # single bytes and the special token never split


def test_every_split_is_in_the_vocabulary_of_a_trained_bpe(bpe):
    table = SplitTable.from_tok(bpe)
    tb = bpe.token_bytes
    for t in range(len(tb)):
        for a, b in table.splits(t):
            assert tb[a] + tb[b] == tb[t] and a not in bpe.special_ids and b not in bpe.special_ids
    # a BPE token is the merge of two earlier tokens, so every multi-byte one has a split
    multi = [t for t in range(len(tb)) if len(tb[t]) > 1 and t not in bpe.special_ids]
    assert multi and all(table.n_splits[t] >= 1 for t in multi)


@pytest.mark.parametrize("impl", [expand_reference, expand])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 2.0])
def test_expansion_keeps_the_bytes(bpe, impl, p):
    table = SplitTable.from_tok(bpe)
    text = "the strawberry cat sat on another blueberry mat"
    ids = bpe.encode(text)
    out = impl(ids, table, p, np.random.default_rng(1))
    assert bpe.decode_bytes(out) == text.encode()
    assert len(ids) <= len(out) <= len(ids) + int(p * len(ids))
    if p >= 0.5:
        assert len(out) > len(ids)  # with this many attempts some split must land (probability ~1)


def test_empty_and_unsplittable_inputs(table):
    rng = np.random.default_rng(0)
    assert expand([], table, 0.5, rng).tolist() == [] and expand_reference([], table, 0.5, rng) == []
    assert expand([0, 1, 2, 6], table, 5.0, rng).tolist() == [0, 1, 2, 6]


def _expected_successes(n_tokens: int, attempts: int) -> Fraction:
    """Exact E[splits] for `n_tokens` tokens that each split once into two unsplittable bytes: after k splits the
    sequence has `n + k` tokens of which `n - k` can split, so an attempt succeeds with probability (n - k) / (n + k)."""
    dist = {0: Fraction(1)}
    for _ in range(attempts):
        new = Counter()
        for k, pk in dist.items():
            s = Fraction(n_tokens - k, n_tokens + k)
            new[k + 1] += pk * s
            new[k] += pk * (1 - s)
        dist = new
    return sum(k * pk for k, pk in dist.items())


@pytest.mark.parametrize("impl", [expand_reference, expand])
def test_expected_expansion_rate_matches_the_closed_form(table, impl):
    # 20 "ab" tokens, p = 0.5: 10 attempts; the mean over 3,000 runs must sit within 5 standard errors (~0.02) of
    # the exact value 7.08; drawing positions among the input's 20 tokens only (a stale length) would give 8.03
    n, p, reps = 20, 0.5, 3000
    want = float(_expected_successes(n, int(n * p)))
    rng = np.random.default_rng(7)
    got = np.array([len(impl([3] * n, table, p, rng)) - n for _ in range(reps)])
    se = got.std() / np.sqrt(reps)
    assert abs(got.mean() - want) < 5 * se + 1e-9, (got.mean(), want, se)


def _exact_law(ids: tuple[int, ...], attempts: int, table: SplitTable) -> dict[tuple[int, ...], Fraction]:
    """The exact distribution of `expand_reference`'s output, by enumerating positions and splits."""

    @cache
    def law(seq: tuple[int, ...], left: int) -> dict:
        if left == 0:
            return {seq: Fraction(1)}
        out = Counter()
        for i, t in enumerate(seq):
            pairs = table.splits(t)
            nexts = [seq[:i] + pair + seq[i + 1 :] for pair in pairs] or [seq]
            for nxt in nexts:
                for res, q in law(nxt, left - 1).items():
                    out[res] += q * Fraction(1, len(seq) * len(nexts))
        return dict(out)

    return law(ids, attempts)


@pytest.mark.parametrize("impl", [expand_reference, expand])
def test_both_paths_draw_from_the_exact_law(table, impl):
    # [abc, ab, c], p = 1: 3 attempts; compare 6,000 draws with the enumerated law (chi-square, 1e-4 false alarms)
    from scipy.stats import chi2

    ids, reps = (5, 3, 2), 6000
    law = _exact_law(ids, 3, table)
    rng = np.random.default_rng(11)
    counts = Counter(tuple(int(x) for x in impl(list(ids), table, 1.0, rng)) for _ in range(reps))
    assert set(counts) <= set(law)
    stat = sum((counts.get(k, 0) - reps * float(q)) ** 2 / (reps * float(q)) for k, q in law.items())
    assert stat < chi2.ppf(1 - 1e-4, len(law) - 1), (stat, len(law))


def test_fast_path_on_a_long_stream(bpe):
    # the reference's list insertions make it quadratic; the fast path must stay exact on a corpus-sized stream
    table = SplitTable.from_tok(bpe)
    ids = np.array(bpe.encode("the strawberry cat sat on another blueberry mat " * 2000))
    out = expand(ids, table, 0.1, np.random.default_rng(3))
    assert bpe.decode_bytes(out) == bpe.decode_bytes(ids)
    assert 0.05 * len(ids) < len(out) - len(ids) <= int(0.1 * len(ids))
