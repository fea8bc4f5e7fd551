"""Tests of papers.awrs_2025.method: the exact distributions on a case small enough to check by hand."""

from collections import Counter

from papers.awrs_2025.method import global_distribution, lcd_distribution, no_repeat_mod, total_variation
from shared.speculative import TableLM


def test_distributions_are_normalised_and_respect_the_constraint():
    lm = TableLM(4, order=1, scale=1.5, seed=0)
    allowed = no_repeat_mod(2)
    for dist in (global_distribution(lm, [0], 3, allowed), lcd_distribution(lm, [0], 3, allowed)):
        assert abs(sum(dist.values()) - 1) < 1e-12
        for seq in dist:
            ctx = [0, *seq]
            assert all(ctx[i] % 2 != ctx[i + 1] % 2 for i in range(len(seq)))


def test_lcd_differs_from_global_and_tv_known_answer():
    lm = TableLM(4, order=1, scale=1.5, seed=0)
    allowed = no_repeat_mod(2)
    exact, local = global_distribution(lm, [0], 3, allowed), lcd_distribution(lm, [0], 3, allowed)
    assert total_variation({k: v * 10**9 for k, v in local.items()}, exact) > 1e-3
    assert total_variation(Counter({(0,): 1, (1,): 1}), {(0,): 0.5, (1,): 0.5}) == 0
