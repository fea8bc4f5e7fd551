"""Tests of papers.zero_tprune_2024: the ratio statistics, and that every claim's rule can fail (the image pipeline and
the probe are tested in tests/vision/test_probe.py)."""

import numpy as np

from papers.zero_tprune_2024.claims import CLAIMS, MIN_SEEDS
from papers.zero_tprune_2024.method import t_geomean, t_mean
from shared.claims import Measurement, rule_can_fail


def test_t_intervals_over_seeds():
    m = t_mean([0.1, 0.12, 0.14, 0.13, 0.11])
    assert m.n == 5 and m.n_unit == "split seeds" and abs(m.value - 0.12) < 1e-12
    assert abs((m.high - m.value) - 2.776 * np.std([0.1, 0.12, 0.14, 0.13, 0.11], ddof=1) / np.sqrt(5)) < 1e-3
    g = t_geomean([0.5, 2.0, 1.0, 1.0, 1.0])
    assert abs(g.value - 1.0) < 1e-12 and abs(g.low * g.high - 1.0) < 1e-9  # symmetric on the log scale
    assert np.isnan(t_geomean([1.0, -0.2, 1.0, 1.0, 1.0]).value)  # a ratio <= 0 has no log: NaN, inconclusive
    assert not t_mean([0.1]).has_interval


def _checks(n_seeds=MIN_SEEDS, probe=(80, 100)):
    return {"probe-above-chance": Measurement.proportion(*probe), "cls-attention-loses": t_mean([0.15, 0.17, 0.16]),
            "enough-split-seeds": Measurement.exact(n_seeds, n=n_seeds)}


def test_rules_can_fail_and_placebo_fails():
    for c in CLAIMS:
        assert rule_can_fail(c.rule), c.id
    claim = next(c for c in CLAIMS if c.id == "less-loss-than-cls-attention")
    # a placebo method that loses twice as much as its baseline on every split seed is judged not reproduced
    m = t_geomean([2.0, 1.9, 2.1, 2.2, 1.8])
    margin = t_mean([0.01, 0.02, 0.015, 0.012, 0.018])
    assert claim.evaluate(m, control=margin, checks=_checks())["verdict"] == "not reproduced"
    # a probe at chance makes the claims inconclusive, never not reproduced
    assert claim.evaluate(m, control=margin, checks=_checks(probe=(10, 100)))["verdict"] == "inconclusive"
    # fewer than MIN_SEEDS split seeds (the default's 3; the old full's 5) makes the comparison inconclusive
    m3 = t_geomean([2.0, 1.9, 2.1])
    assert claim.evaluate(m3, control=t_mean([0.01, 0.02, 0.015]), checks=_checks(3))["verdict"] == "inconclusive"
    assert MIN_SEEDS == 10
    assert claim.evaluate(m, control=margin, checks=_checks(5))["verdict"] == "inconclusive"
    # a method that halves the loss on every seed and beats the control is reproduced
    good = t_geomean([0.45, 0.4, 0.42, 0.44, 0.41])
    assert claim.evaluate(good, control=margin, checks=_checks())["verdict"] == "reproduced"
    # a large loss at the headline keep ratio is not reproduced
    small = CLAIMS[0]
    lost = t_mean([0.2, 0.18, 0.22, 0.19, 0.21])
    assert small.evaluate(lost, checks={"probe-above-chance": Measurement.proportion(80, 100)})["verdict"] == "not reproduced"
