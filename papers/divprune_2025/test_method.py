"""Tests of papers.divprune_2025.method: DivPrune's selection on cases with known answers, the fast path against the
plain reference, the diversity statistic, and rules that can answer *not reproduced*."""

import math

import pytest
import torch

from papers.divprune_2025.claims import CLAIMS
from papers.divprune_2025.method import (
    DivPrune,
    cosine_distance_fast,
    cosine_distance_reference,
    divprune_fast,
    divprune_reference,
    min_pairwise_distance,
    t_geomean,
)
from shared.claims import Measurement
from shared.vision.select import KCenter, TokenContext, n_keep_for


def _claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def test_cosine_distance_fast_matches_reference():
    x = torch.randn(9, 5, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(cosine_distance_fast(x.double()), cosine_distance_reference(x), atol=1e-12)


def test_known_answer_first_token_is_most_isolated():
    # three near-duplicates along e1, one along e2, one along e3 halfway to e1: the most isolated is e2 (index 3)
    x = torch.tensor([[1.0, 0, 0], [1.0, 0.01, 0], [1.0, 0, 0.01], [0, 1.0, 0], [1.0, 0, 1.0]])
    assert divprune_reference(x, 1) == [3]
    # next: the token farthest from e2 (its nearest-selected distance): any e1/e3 token has distance 1; index 0 wins
    # the tie over 1 (0.99995) and 2 (1.0) ... then e3-ish (index 4) is farther from {e2, e1} than the duplicates
    order = divprune_reference(x, 3)
    assert order[0] == 3 and 4 in order
    assert set(order) & {0, 1, 2} and len(set(order) & {0, 1, 2}) == 1  # only one of the three duplicates


@pytest.mark.parametrize("seed", range(8))
def test_fast_matches_reference(seed):
    x = torch.randn(64, 12, generator=torch.Generator().manual_seed(seed))
    for k in (1, 3, 6, 16, 32, 64):
        assert divprune_fast(x, k) == divprune_reference(x, k)


def test_no_duplicates_with_identical_tokens():
    x = torch.ones(10, 4)
    x[3] = torch.tensor([1.0, -1, 0, 0])
    out = divprune_fast(x, 5)
    assert len(set(out)) == 5 and out == divprune_reference(x, 5)


def test_greedy_is_not_optimal_so_diversity_is_not_by_construction():
    # brute force on 9 points: greedy max-min is a heuristic (cosine distance is not a metric, so not even the
    # 2-approximation of metric dispersion is guaranteed); some other 4-set is more diverse on some draw
    import itertools

    beaten = 0
    for seed in range(5):
        x = torch.randn(9, 3, generator=torch.Generator().manual_seed(seed))
        d = cosine_distance_reference(x)
        best = max(min(float(d[i, j]) for i, j in itertools.combinations(s, 2))
                   for s in itertools.combinations(range(9), 4))  # fmt: skip
        got = min_pairwise_distance(x[divprune_reference(x, 4)])
        assert got <= best + 1e-12
        beaten += got < best - 1e-9
    assert beaten >= 1


def test_selector_interface_and_difference_from_kcenter():
    x = torch.randn(3, 64, 16, generator=torch.Generator().manual_seed(3))
    ctx = TokenContext(hidden=x)
    sel = DivPrune().select(ctx, 6)
    assert sel.keep.shape == (3, 6) and sel.merge_into is None
    assert torch.equal(sel.keep, sel.keep.sort(dim=-1).values)
    assert torch.equal(sel.keep, DivPrune(impl="reference").select(ctx, 6).keep)
    # the seed token differs from k-center's (farthest from the mean), so the sets differ on some image
    kc = KCenter().select(ctx, 6).keep
    assert not torch.equal(kc, sel.keep)
    assert n_keep_for(6 / 64, 64) == 6 and n_keep_for(3 / 64, 64) == 3


def test_min_pairwise_distance():
    x = torch.tensor([[1.0, 0], [0, 1.0], [1.0, 1.0]])
    assert min_pairwise_distance(x) == pytest.approx(1 - 1 / math.sqrt(2))
    with pytest.raises(ValueError):
        min_pairwise_distance(x[:1])


def test_t_geomean():
    # the shared Student t (`Measurement.t_mean`) on the log ratios, mapped back
    rs = [1.8, 2.4, 2.1, 2.9, 2.2]
    lm, g = Measurement.t_mean([math.log(r) for r in rs], n_unit="scene seeds"), t_geomean(rs)
    assert [g.value, g.low, g.high] == pytest.approx([math.exp(lm.value), math.exp(lm.low), math.exp(lm.high)])
    assert g.n_unit == "scene seeds" and g.interval.startswith("geometric mean; Student t over scene seeds, df=4")
    g = t_geomean([2.0, 2.0, 2.0, 2.0, 2.1])
    assert 2.0 < g.value < 2.1 and g.low > 1.9
    assert math.isnan(t_geomean([1.0, -1.0, 1, 1, 1]).value)


def _checks(ok=True, questions=600):
    return {"enough-questions": Measurement.exact(questions, unit="questions"),
            "vlm-above-blind": Measurement(0.2, 0.15, 0.25, n=5), "random-pruning-loses":
            Measurement(0.1 if ok else 0.0, 0.05 if ok else -0.02, 0.15 if ok else 0.02, n=5)}  # fmt: skip


def test_accuracy_rules_can_fail():
    c = _claim("beats-text-attention")
    good = Measurement(0.05, 0.02, 0.08, n=5)
    bad = Measurement(-0.05, -0.08, -0.02, n=5)
    assert c.evaluate(good, good, _checks())["verdict"] == "reproduced"
    assert c.evaluate(bad, good, _checks())["verdict"] == "not reproduced"
    # a placebo margin of zero (DivPrune no better than attention) is never reproduced
    zero = Measurement(0.0, -0.03, 0.03, n=5)
    assert c.evaluate(zero, good, _checks())["verdict"] != "reproduced"
    # pruning that costs nothing: the setup cannot show the effect
    assert c.evaluate(good, good, _checks(ok=False))["verdict"] == "inconclusive"
    # too few questions to decide (the default's 60): inconclusive whatever it measures
    assert c.evaluate(bad, good, _checks(questions=60))["verdict"] == "inconclusive"
    assert c.evaluate(good, good, _checks(questions=250))["verdict"] == "reproduced"


def test_retention_and_diversity_rules_can_fail():
    r = _claim("retains-accuracy-at-90pct")
    ctrl = Measurement(0.05, 0.02, 0.08, n=5)
    assert r.evaluate(Measurement(0.9, 0.85, 0.95, n=5), ctrl, _checks())["verdict"] == "reproduced"
    assert r.evaluate(Measurement(0.6, 0.55, 0.7, n=5), ctrl, _checks())["verdict"] == "partially reproduced"
    assert r.evaluate(Measurement(0.3, 0.2, 0.4, n=5), ctrl, _checks())["verdict"] == "not reproduced"
    d = _claim("highest-diversity")
    assert d.evaluate(Measurement(1.3, 1.2, 1.4, n=5), ctrl)["verdict"] == "reproduced"
    assert d.evaluate(Measurement(0.9, 0.85, 0.95, n=5), ctrl)["verdict"] == "not reproduced"
