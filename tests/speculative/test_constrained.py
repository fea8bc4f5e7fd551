"""Rejection-sampling constrained generation: AWRS samples the exact local constrained distribution, its weight is an
unbiased estimate of the local constrained mass, and masking and AWRS agree."""

import pytest
import torch

from shared.speculative.constrained import awrs_step, masked_step

pytestmark = pytest.mark.slow  # tiny models and Monte Carlo loops: tens of seconds on 2 cores

P = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04], dtype=torch.float64)
CONSTRAINTS = {
    "odd": lambda prefix, x: x % 2 == 1,  # allowed mass 0.39
    "rare": lambda prefix, x: x >= 4,  # allowed mass 0.10: many rejections first
    "all": lambda prefix, x: True,
}


@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_awrs_samples_local_constrained_distribution_and_unbiased_weight(name):
    allowed = CONSTRAINTS[name]
    mask = torch.tensor([allowed([], x) for x in range(len(P))])
    z = float(P[mask].sum())
    want = torch.where(mask, P, 0.0) / z
    g = torch.Generator().manual_seed(0)
    n = 20000
    counts = torch.zeros(len(P), dtype=torch.float64)
    weights = torch.zeros(n, dtype=torch.float64)
    for i in range(n):
        res = awrs_step(P, [], allowed, g)
        counts[res.token] += 1
        weights[i] = res.weight
    freq = counts / n
    # 5 standard errors: a false alarm has probability ~1e-6 per token
    assert ((freq - want).abs() <= 5 * (want * (1 - want) / n).sqrt() + 1e-12).all()
    se = float(weights.std()) / n**0.5
    assert abs(float(weights.mean()) - z) <= 5 * se + 1e-12


def test_all_allowed_costs_two_evaluations_and_exact_weight():
    res = awrs_step(P, [], CONSTRAINTS["all"], torch.Generator().manual_seed(1))
    assert res.evaluations == 2 and res.weight == 1.0


def test_dead_end_is_reported():
    never = lambda prefix, x: False  # noqa: E731
    g = torch.Generator().manual_seed(0)
    for step in (awrs_step, masked_step):
        res = step(P, [], never, g)
        assert res.token is None and res.weight == 0.0


def test_masking_weight_is_exact_and_costs_the_vocabulary():
    res = masked_step(P, [], CONSTRAINTS["odd"], torch.Generator().manual_seed(0))
    assert res.evaluations == len(P)
    assert abs(res.weight - 0.39) < 1e-12
    assert res.token % 2 == 1
