"""Tests of papers.awrs_2025.method: the exact distributions on a case small enough to check by hand."""

from collections import Counter

from papers.awrs_2025.method import global_distribution, lcd_distribution, no_repeat_mod, total_variation
from shared.claims import Measurement
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


def test_tv_ratios_match_total_variation_and_the_claim_can_fail():
    import numpy as np

    from papers.awrs_2025.claims import CLAIMS
    from papers.awrs_2025.method import encode, exact_vector, hierarchical_bootstrap, tv_ratios

    lm = TableLM(4, order=1, scale=1.5, seed=0)
    allowed = no_repeat_mod(2)
    exact = global_distribution(lm, [0], 3, allowed)
    keys = sorted(exact)
    rng = np.random.default_rng(0)
    lcd = [keys[i] for i in rng.integers(0, len(keys), 400)]  # uniform over allowed strings: far from exact
    smc = [keys[i] for i in rng.integers(0, len(keys), 400)]  # the same: no correction
    units = np.array([(encode(a, 4), encode(b, 4)) for a, b in zip(lcd, smc)])
    vec = exact_vector(exact, 4, 3)
    want = total_variation(Counter(smc), exact) / total_variation(Counter(lcd), exact)
    assert abs(tv_ratios(units[None], vec)[0] - want) < 1e-12
    # K sets at once: each set's ratio is the one computed alone
    sets = units[rng.integers(0, 400, size=(3, 400))]
    assert np.allclose(tv_ratios(sets, vec), [tv_ratios(s[None], vec)[0] for s in sets], rtol=0, atol=1e-12)
    # a placebo "SMC" that is LCD again, on 8 models: a ratio near 1, which the rule does not call reproduced
    models = []
    for _ in range(8):
        a, b = rng.integers(0, len(keys), (2, 400))
        models.append(np.array([(encode(keys[x], 4), encode(keys[y], 4)) for x, y in zip(a, b)]))
    m = hierarchical_bootstrap(models, lambda i, u: tv_ratios(u, vec), n_unit="toy models", resamples=500)
    assert m.n == 8 and m.low < 1 < m.high
    claim = next(c for c in CLAIMS if c.id == "smc-corrects-lcd")
    assert claim.evaluate(m, checks={"distortion-above-noise": Measurement.exact(3.0)})["verdict"] != "reproduced"


def test_hierarchical_bootstrap_covers_the_spread_between_clusters():
    import numpy as np

    from papers.awrs_2025.method import hierarchical_bootstrap

    def mean(i, u):
        return u.mean(axis=1)

    rng = np.random.default_rng(1)
    # 10 clusters whose means differ (sd 0.2) with little noise inside (sd 0.05, 400 units each)
    centres = rng.normal(0.5, 0.2, 10)
    clusters = [c + rng.normal(0, 0.05, 400) for c in centres]
    m = hierarchical_bootstrap(clusters, mean, n_unit="models", resamples=4000)
    assert abs(m.value - np.mean([c.mean() for c in clusters])) < 1e-12 and m.n == 10 and m.n_unit == "models"
    # the interval is about +-1.96 sd(centres) / sqrt(10) wide, far wider than the pooled units' +-1.96 * 0.05 / 80
    half = 1.96 * np.std([c.mean() for c in clusters], ddof=1) / np.sqrt(10)
    assert 0.75 * half < (m.high - m.low) / 2 < 1.3 * half
    pooled = Measurement.mean(np.concatenate(clusters), n_unit="units")
    assert (m.high - m.low) > 10 * (pooled.high - pooled.low)
    # and it covers the truth (0.5) where the pooled interval over units with the clusters fixed need not
    assert m.low < 0.5 < m.high
    # identical clusters: only the within-cluster noise is left, counted at both levels (about sqrt(2) x)
    same = [rng.normal(0.5, 0.05, 400) for _ in range(10)]
    w = hierarchical_bootstrap(same, mean, n_unit="models", resamples=4000)
    one = 1.96 * 0.05 / np.sqrt(4000)
    assert one < (w.high - w.low) / 2 < 2.5 * one
    # seeded: the same interval every time
    assert hierarchical_bootstrap(clusters, mean, n_unit="models", resamples=500) == hierarchical_bootstrap(
        clusters, mean, n_unit="models", resamples=500
    )


def test_toy_model_ids_are_distinct_and_keep_the_one_model_design():
    import pytest

    from papers.awrs_2025.method import toy_model_ids

    assert toy_model_ids([0, 1, 2], 3) == [0, 1, 2, 50, 51, 52, 100, 101, 102]
    ids = toy_model_ids([0, 1, 2, 3, 4, 5, 6, 7], 4) + toy_model_ids([10, 11, 12], 3) + toy_model_ids([30, 31, 32], 3)
    assert len(set(ids)) == len(ids) and max(ids) < 1000
    with pytest.raises(ValueError):
        toy_model_ids([60], 2)
    with pytest.raises(ValueError):
        toy_model_ids([1, 1], 2)


def test_conditional_draw_meets_the_minimum_and_the_precondition_checks_power():
    import numpy as np

    from papers.awrs_2025.claims import CLAIMS
    from papers.awrs_2025.method import distorting_lm, exact_tv, exact_vector, tv_noise_floor

    # seed 6's first model barely distorts (exact TV 0.024): it is redrawn, deterministically
    lm, k, exact, lcd, tv = distorting_lm(6, 4, 2, 4, 0.15)
    assert k >= 1 and tv >= 0.15 and abs(exact_tv(exact, lcd) - tv) < 1e-12
    assert distorting_lm(6, 4, 2, 4, 0.15)[1] == k
    # seed 0's first model already distorts: kept as it was before the conditional draw
    assert distorting_lm(0, 4, 2, 4, 0.15)[1] == 0
    # the noise floor: a perfect sampler's TV, about 0.5 sum sqrt(2 p (1 - p) / (pi n)) for many draws
    vec = exact_vector(exact, 4, 4)
    want = 0.5 * np.sum(np.sqrt(2 * vec * (1 - vec) / (np.pi * 5000)))
    assert abs(tv_noise_floor(vec, 5000, reps=400) - want) < 0.15 * want
    # too few draws to see the distortion above the noise: the claim is inconclusive, not judged
    claim = next(c for c in CLAIMS if c.id == "smc-corrects-lcd")
    lm, _, exact, lcd, tv = distorting_lm(0, 4, 2, 4, 0.15)  # exact TV 0.172
    ratio = tv / tv_noise_floor(exact_vector(exact, 4, 4), 10)
    assert ratio < 2
    m = Measurement.exact(0.3)
    assert claim.evaluate(m, checks={"distortion-above-noise": Measurement.exact(ratio)})["verdict"] == "inconclusive"


def test_biased_weight_is_not_reproduced():
    from papers.awrs_2025.claims import CLAIMS
    from shared.claims import Measurement

    claim = next(c for c in CLAIMS if c.id == "unbiased-weight")
    errors = [0.2 + 0.05 * ((i % 7) - 3) for i in range(200)]  # a weight 20% too high on average
    assert claim.evaluate(Measurement.mean(errors, n_unit="generation steps"))["verdict"] == "not reproduced"


def test_cost_counter_makes_the_engines_decisions():
    import torch

    from papers.awrs_2025.method import awrs_costs
    from shared.speculative.constrained import awrs_step

    p = torch.softmax(2 * torch.randn(60, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), 0)
    mask = torch.tensor([x % 3 != 0 for x in range(60)])
    ev, w = awrs_costs(p, mask, 40, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    ref = [awrs_step(p, [0], lambda _, x: bool(mask[x]), g) for _ in range(40)]
    assert ev == [r.evaluations for r in ref]
    assert max(abs(a - r.weight) for a, r in zip(w, ref)) < 1e-12


def test_scaling_claim_fails_on_a_placebo_and_the_vocabulary_control_can_win():
    # evaluations unrelated to the divergence: not reproduced; and a margin below 0 means the control was not beaten
    import numpy as np

    from papers.awrs_2025.claims import CLAIMS
    from shared.claims import Measurement

    rng = np.random.default_rng(0)
    evals, kl = rng.exponential(2, 500), rng.exponential(1, 500)
    claim = next(c for c in CLAIMS if c.id == "evaluations-scale-with-divergence")
    rho = Measurement.correlation(evals, kl, n_unit="contexts")
    out = claim.evaluate(rho, control=Measurement(-0.2, -0.3, -0.1, n=500, n_unit="contexts", interval="test"),
                         checks={"divergence-varies": Measurement.exact(0.5)})  # fmt: skip
    assert out["verdict"] == "not reproduced"
    assert out["control"]["beaten"] is False
