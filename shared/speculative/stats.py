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


def pooled_cells(expected: dict, n: int, min_expected: float = 5.0) -> list[list]:
    """Outcomes grouped into test cells: each outcome whose expected count `n * p` reaches `min_expected` is a cell of
    its own, the rarer ones are pooled into one cell (Cochran's rule: the chi-square approximation needs expected
    counts of about 5; a single observation of a 1e-6 outcome would otherwise reject an exact sampler). A pooled cell
    that is still too rare joins the smallest regular cell."""
    keys = sorted((k for k, p in expected.items() if p > 0), key=lambda k: -expected[k])
    cells = [[k] for k in keys if n * expected[k] >= min_expected]
    rare = [k for k in keys if n * expected[k] < min_expected]
    if rare:
        if n * sum(expected[k] for k in rare) >= min_expected or not cells:
            cells.append(rare)
        else:
            cells[-1] += rare
    return cells


def chi_square(counts: dict, expected: dict[tuple, float], min_expected: float = 5.0) -> tuple[float, float, int]:
    """Pearson's chi-square of observed `counts` against `expected` probabilities, over `pooled_cells` (outcomes with
    p > 0; an observed outcome of probability 0 is an outright rejection).

    Returns:
        (statistic, p-value, degrees of freedom).
    """
    n = sum(counts.values())
    stray = sum(c for k, c in counts.items() if expected.get(k, 0) == 0)
    cells = pooled_cells(expected, n, min_expected)
    if stray:
        return float("inf"), 0.0, len(cells) - 1
    obs = torch.tensor([sum(counts.get(k, 0) for k in c) for c in cells], dtype=torch.float64)
    exp = torch.tensor([sum(expected[k] for k in c) for c in cells], dtype=torch.float64) * n
    stat = float(((obs - exp) ** 2 / exp).sum())
    return stat, float(stats.chi2.sf(stat, len(cells) - 1)), len(cells) - 1


def chi_square_power(expected: dict, alternative: dict, n: int, alpha: float, min_expected: float = 5.0) -> float:
    """Power of the level-`alpha` chi-square test with `n` samples when the truth is `alternative`: the noncentral
    chi-square tail with noncentrality `n * sum((alt - exp)^2 / exp)` over the same `pooled_cells` as `chi_square`."""
    cells = pooled_cells(expected, n, min_expected)
    if len(cells) < 2:
        return 0.0  # one cell: nothing to test
    exp = [sum(expected[k] for k in c) for c in cells]
    alt = [sum(alternative.get(k, 0) for k in c) for c in cells]
    lam = n * sum((a - e) ** 2 / e for a, e in zip(alt, exp))
    crit = stats.chi2.isf(alpha, len(cells) - 1)
    return float(stats.ncx2.sf(crit, len(cells) - 1, lam))
