"""Goodness-of-fit tests with a stated power, for checking sampled output distributions against exact ones."""

import itertools

import torch
from scipy import stats


def sequence_distribution(lm, prompt: list[int], length: int) -> dict[tuple[int, ...], float]:
    """Exact probability of every continuation of `length` tokens under a `TableLM` (`V^length` of them)."""
    out = {}
    for seq in itertools.product(range(lm.vocab_size), repeat=length):
        prob, ctx = 1.0, list(prompt)
        for x in seq:
            prob *= float(lm.probs(ctx)[x])
            ctx.append(x)
        out[seq] = prob
    return out


def chi_square(counts: dict, expected: dict[tuple, float]) -> tuple[float, float, int]:
    """Pearson's chi-square of observed `counts` against `expected` probabilities (outcomes with p > 0).

    Returns:
        (statistic, p-value, degrees of freedom).
    """
    n = sum(counts.values())
    keys = [k for k, p in expected.items() if p > 0]
    stray = sum(c for k, c in counts.items() if expected.get(k, 0) == 0)
    if stray:
        return float("inf"), 0.0, len(keys) - 1
    obs = torch.tensor([counts.get(k, 0) for k in keys], dtype=torch.float64)
    exp = torch.tensor([expected[k] for k in keys], dtype=torch.float64) * n
    stat = float(((obs - exp) ** 2 / exp).sum())
    return stat, float(stats.chi2.sf(stat, len(keys) - 1)), len(keys) - 1


def chi_square_power(expected: dict, alternative: dict, n: int, alpha: float) -> float:
    """Power of the level-`alpha` chi-square test with `n` samples when the truth is `alternative`: the noncentral
    chi-square tail with noncentrality `n * sum((alt - exp)^2 / exp)`."""
    keys = [k for k, p in expected.items() if p > 0]
    lam = n * sum((alternative.get(k, 0) - expected[k]) ** 2 / expected[k] for k in keys)
    crit = stats.chi2.isf(alpha, len(keys) - 1)
    return float(stats.ncx2.sf(crit, len(keys) - 1, lam))
