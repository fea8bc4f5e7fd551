"""Verdict engine v2: intervals against known answers, the rule logic at each boundary, preconditions, controls, the
unit floor, and what an inconclusive verdict says would decide it."""

import math
import statistics

import numpy as np
import pytest

from shared.claims import (
    INCONCLUSIVE,
    MIN_UNITS,
    NOT_REPRODUCED,
    PARTIAL,
    REPRODUCED,
    AtLeast,
    AtMost,
    Claim,
    Control,
    Measurement,
    Precondition,
    RelativeTo,
    Tolerance,
    Within,
    evaluate_claims,
    preregister,
    verdict_lines,
    verdict_summary,
    verdict_table,
)

# intervals: published values and coverage on data with a known truth


@pytest.mark.parametrize(
    ("k", "n", "method", "low", "high"),
    [
        (8, 10, "wilson", 0.4902, 0.9433),  # Wilson (1927) score interval, the textbook 8/10 example
        (8, 10, "clopper-pearson", 0.4439, 0.9748),
        (0, 5, "wilson", 0.0, 0.4345),
        (5, 5, "clopper-pearson", 0.4782, 1.0),
    ],
)
def test_proportion_intervals_match_published_values(k, n, method, low, high):
    m = Measurement.proportion(k, n, method=method)
    assert m.value == pytest.approx(k / n)
    assert (m.low, m.high) == pytest.approx((low, high), abs=1e-4)
    assert 0 <= m.low <= m.value <= m.high <= 1 and m.high > m.low, "inside [0, 1] and never zero width"


def test_proportion_rejects_bad_counts_and_methods():
    for bad in [(6, 5), (-1, 5), (1, 0), (1.5, 5)]:
        with pytest.raises(ValueError):
            Measurement.proportion(*bad)
    with pytest.raises(ValueError, match="wilson"):
        Measurement.proportion(1, 5, method="wald")


def _coverage(make, truth, reps=300):
    hits = 0
    for r in range(reps):
        m = make(np.random.default_rng(1000 + r))
        hits += m.low <= truth <= m.high
    return hits / reps


def test_mean_bootstrap_covers_the_true_mean():
    cov = _coverage(lambda rng: Measurement.mean(rng.normal(3.0, 2.0, 25), n_unit="documents"), 3.0)
    assert 0.88 <= cov <= 0.99, cov


def test_wilson_covers_the_true_share():
    cov = _coverage(lambda rng: Measurement.proportion(int((rng.random(30) < 0.3).sum()), 30), 0.3, reps=400)
    assert 0.90 <= cov <= 0.99, cov


def test_fisher_z_covers_the_true_correlation():
    cov_matrix = [[1.0, 0.5], [0.5, 1.0]]

    def make(rng):
        x, y = rng.multivariate_normal([0, 0], cov_matrix, 30).T
        return Measurement.correlation(x, y, method="pearson")

    assert 0.90 <= _coverage(make, 0.5) <= 0.99


def test_fisher_z_interval_formula_and_range():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    m = Measurement.correlation(x, y, method="pearson", n_unit="documents")
    r = np.corrcoef(x, y)[0, 1]
    z, se = math.atanh(r), 1 / math.sqrt(40 - 3)
    assert (m.value, m.low, m.high) == pytest.approx((r, math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)))
    perfect = Measurement.correlation(range(10), range(10))
    assert -1 <= perfect.low <= perfect.high <= 1
    with pytest.raises(ValueError, match="constant"):
        Measurement.correlation([1, 1, 1, 1, 1], [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="at least 4"):
        Measurement.correlation([1, 2, 3], [1, 2, 3])


def test_ratio_is_the_geometric_mean_of_paired_ratios():
    m = Measurement.ratio([2.0, 8.0, 4.0, 4.0, 2.0], [1.0, 2.0, 2.0, 1.0, 1.0], n_unit="documents")
    assert m.value == pytest.approx((2 * 4 * 2 * 4 * 2) ** (1 / 5))
    assert m.low < m.value < m.high and m.low > 0 and m.n == 5 and m.n_unit == "documents"
    assert m.interval.startswith("log-scale")
    with pytest.raises(ValueError, match="positive"):
        Measurement.ratio([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="length"):
        Measurement.ratio([1.0], [1.0, 2.0])


def test_paired_difference_removes_the_shared_unit_effect():
    # each document has its own difficulty; the method is better by exactly 0.1 on every one of them
    base = [1.0, 5.0, 2.0, 9.0, 3.0, 7.0]
    m = Measurement.paired_difference([b + 0.1 for b in base], base, n_unit="documents")
    assert m.value == pytest.approx(0.1) and m.low > 0, "paired: the spread of difficulty does not widen it"
    unpaired = Measurement.mean([b + 0.1 for b in base])
    assert unpaired.high - unpaired.low > 10 * (m.high - m.low)


def test_identical_units_never_give_a_zero_width_interval():
    m = Measurement.mean([0.25] * 6, n_unit="seeds")
    assert m.low < 0.25 < m.high and m.high - m.low == pytest.approx(2e-4)
    zero = Measurement.mean([0.0] * 5, bounds=(0.0, 1.0))
    assert zero.low == 0.0 and zero.high > 0.0, "bounds clip, width stays"
    declared = Measurement.mean([2.0] * 5, resolution=0.05)
    assert (declared.low, declared.high) == pytest.approx((1.95, 2.05))


def test_bounds_keep_the_interval_inside_the_valid_range():
    m = Measurement.mean([0.99, 1.0, 1.0, 0.97, 1.0, 0.9], bounds=(0.0, 1.0))
    assert m.high <= 1.0


def test_bootstrap_over_units_with_any_statistic_is_deterministic():
    units = [(1.0, 2.0), (2.0, 2.5), (3.0, 4.5), (4.0, 4.0), (5.0, 6.5), (6.0, 6.0)]

    def slope(us):
        x, y = np.array(us).T
        return float(np.polyfit(x, y, 1)[0]) if len(set(x)) > 1 else float("nan")

    a = Measurement.bootstrap(units, slope, n_unit="prompts")
    b = Measurement.bootstrap(units, slope, n_unit="prompts")
    assert a == b and a.low < a.value < a.high


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_samples_reject_empty_or_nan(bad):
    with pytest.raises(ValueError):
        Measurement.mean(bad)


def test_measurement_rejects_a_value_outside_its_interval():
    with pytest.raises(ValueError):
        Measurement(3.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        Measurement(0.5, 0.0, None)


# rule logic


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [
        (5.1, 6.0, REPRODUCED),
        (5.0, 6.0, REPRODUCED),  # touching the bar clears it
        (4.0, 6.0, PARTIAL),  # wholly past the partial bar, straddling the full bar
        (2.5, 4.5, PARTIAL),
        (0.5, 1.5, NOT_REPRODUCED),
        (1.5, 2.5, INCONCLUSIVE),  # straddles the partial bar: the only inconclusive case
        (1.5, 6.0, INCONCLUSIVE),
    ],
)
def test_at_least_intervals(low, high, want):
    assert AtLeast(5.0, partial=2.0).judge(Measurement((low + high) / 2, low, high, n=8))[0] == want


def test_at_least_without_partial_bar_never_says_partial():
    rule = AtLeast(1.0)
    assert rule.judge(Measurement(0.99))[0] == NOT_REPRODUCED
    assert rule.judge(Measurement(1.0, 0.5, 1.5, n=8))[0] == INCONCLUSIVE


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [(0.01, 0.05, REPRODUCED), (0.03, 0.12, PARTIAL), (0.2, 0.3, NOT_REPRODUCED), (0.1, 0.2, INCONCLUSIVE)],
)
def test_at_most_mirrors_at_least(low, high, want):
    verdict, reason = AtMost(0.05, partial=0.15).judge(Measurement((low + high) / 2, low, high, n=8))
    assert verdict == want
    assert f"{(low + high) / 2:.4g}" in reason, "the reason quotes our number"


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [
        (0.97, 1.03, REPRODUCED),  # whole interval inside the band
        (0.9, 1.08, PARTIAL),  # inside the partial band only
        (1.3, 1.5, NOT_REPRODUCED),  # wholly outside the widest band
        (1.1, 1.3, INCONCLUSIVE),  # crosses the edge of the widest band
        (0.8, 1.25, INCONCLUSIVE),  # wider than the band: a point estimate of 1.0 would have passed under v1
    ],
)
def test_two_sided_rules_need_the_whole_interval_inside_the_band(low, high, want):
    m = Measurement((low + high) / 2, low, high, n=8)
    assert Within(0.95, 1.05, partial=(0.85, 1.15)).judge(m)[0] == want
    assert RelativeTo(1.0, tol=0.05, partial_tol=0.15).judge(m)[0] == want


def test_relative_to_on_point_values():
    rule = RelativeTo(10.0, tol=0.1, partial_tol=0.3)
    assert [rule.judge(Measurement(v))[0] for v in (10.5, 12.5, 6.0)] == [REPRODUCED, PARTIAL, NOT_REPRODUCED]


@pytest.mark.parametrize(
    "make",
    [lambda: AtLeast(1.0, partial=2.0), lambda: AtMost(1.0, partial=0.5), lambda: RelativeTo(0.0, 0.1),
     lambda: RelativeTo(1.0, 0.3, partial_tol=0.1), lambda: Within(2.0, 1.0),
     lambda: Within(0.9, 1.1, partial=(0.95, 1.2)), lambda: Tolerance(0.01), lambda: Tolerance(-1.0, why="x")],
)  # fmt: skip
def test_inconsistent_rules_are_rejected(make):
    with pytest.raises(ValueError):
        make()


# claims: the unit floor, preconditions, controls, decide


def _claim(cid="c1", **kw):
    base = {"text": "t", "paper_value": 1.0, "paper_ref": "Tab. 1", "rule": AtLeast(1.0), "fidelity": "faithful"}
    return Claim(cid, **{**base, **kw})


def test_claim_rejects_unknown_fidelity_kind_and_non_rules():
    with pytest.raises(ValueError, match="fidelity"):
        _claim(fidelity="approximate")
    with pytest.raises(ValueError, match="kind"):
        _claim(kind="fuzzy")
    with pytest.raises(TypeError):
        _claim(rule=lambda m: True)
    with pytest.raises(ValueError):
        _claim("has space")
    with pytest.raises(TypeError):
        _claim(preconditions=[Precondition("p", "t", AtLeast(0.5))])


def test_noisy_claims_need_an_interval_over_enough_units():
    claim = _claim()
    few = claim.evaluate(Measurement.mean([2.0, 2.1, 2.2], n_unit="documents"))
    assert few["verdict"] == INCONCLUSIVE and "at least 5 documents" in few["decide"]
    assert few["ours"]["n"] == 3 and few["ours"]["n_unit"] == "documents"
    point = claim.evaluate(2.0)
    assert point["verdict"] == INCONCLUSIVE and "interval" in point["reason"]
    enough = claim.evaluate(Measurement.mean([2.0, 2.1, 2.2, 1.9, 2.05], n_unit="documents"))
    assert enough["verdict"] == REPRODUCED and MIN_UNITS == 5
    assert _claim(kind="exact").evaluate(2.0)["verdict"] == REPRODUCED, "exact values are judged as points"


def test_a_failed_precondition_makes_the_claim_inconclusive_never_not_reproduced():
    claim = _claim(kind="exact", preconditions=(Precondition("learned", "the model learned the task", AtLeast(0.9)),))
    failed = claim.evaluate(0.2, checks={"learned": 0.5})
    assert failed["verdict"] == INCONCLUSIVE and "cannot show the effect" in failed["reason"]
    assert failed["preconditions"][0]["passed"] is False and "the model learned the task" in failed["decide"]
    passed = claim.evaluate(0.2, checks={"learned": 0.95})
    assert passed["verdict"] == NOT_REPRODUCED and passed["preconditions"][0]["passed"] is True
    with pytest.raises(KeyError, match="precondition"):
        claim.evaluate(0.2)


@pytest.mark.parametrize(
    ("margin", "want", "beaten"),
    [((0.3, 0.1, 0.5), REPRODUCED, True), ((-0.2, -0.4, -0.01), NOT_REPRODUCED, False),
     ((0.1, -0.1, 0.3), INCONCLUSIVE, None)],
)  # fmt: skip
def test_a_comparative_claim_must_beat_its_trivial_control(margin, want, beaten):
    claim = _claim(control=Control("random eviction", "random tokens, sinks kept"))
    ours = Measurement(2.0, 1.5, 2.5, n=8, n_unit="documents")
    out = claim.evaluate(ours, control=Measurement(*margin, n=8, n_unit="documents"))
    assert out["verdict"] == want and out["control"]["beaten"] is beaten
    assert out["control"]["ours"]["value"] == margin[0], "the record shows the control's value"
    with pytest.raises(KeyError, match="control"):
        claim.evaluate(ours)


def test_a_control_does_not_rescue_a_failed_claim():
    claim = _claim(control=Control("no-op", "nothing"))
    out = claim.evaluate(Measurement(0.5, 0.4, 0.6, n=8), control=Measurement(1.0, 0.9, 1.1, n=8))
    assert out["verdict"] == NOT_REPRODUCED


def test_inconclusive_says_what_would_decide_it():
    out = _claim().evaluate(Measurement(1.2, 0.8, 1.6, n=8, n_unit="documents"))
    assert out["verdict"] == INCONCLUSIVE
    # half-width 0.4, distance to the bar 0.2: about 8 * (0.4 / 0.2)^2 = 32 documents, plus a margin
    assert "about 36 documents (now 8)" in out["decide"]
    on_bar = _claim().evaluate(Measurement(1.0, 0.5, 1.5, n=8, n_unit="documents"))
    assert "sits on the bar" in on_bar["decide"]
    assert "decide" not in _claim().evaluate(Measurement(2.0, 1.5, 2.5, n=8))


def test_recorded_claims_reevaluate_to_the_same_verdict():
    claim = _claim(control=Control("random", "r"), preconditions=(Precondition("p", "t", AtLeast(0.5)),),
                   tolerance=Tolerance(0.01, why="thread-count spread"))  # fmt: skip
    out = claim.evaluate(Measurement(2.0, 1.5, 2.5, n=8), control=Measurement(0.2, 0.1, 0.3, n=8), checks={"p": 0.9})
    assert claim.reevaluate(out) == out
    assert out["tolerance"] == {"rel": 0.01, "abs": 0.0, "why": "thread-count spread"}


def test_evaluate_claims_requires_exactly_the_claimed_ids():
    claims = [_claim("a", kind="exact"), _claim("b", kind="exact")]
    with pytest.raises(KeyError, match="missing"):
        evaluate_claims(claims, {"a": 1.0})
    with pytest.raises(KeyError, match="unknown"):
        evaluate_claims(claims, {"a": 1.0, "b": 1.0, "c": 2.0})
    with pytest.raises(KeyError, match="unknown claims"):
        evaluate_claims(claims, {"a": 1.0, "b": 1.0}, controls={"z": 1.0})
    with pytest.raises(KeyError, match="no declared precondition"):
        evaluate_claims(claims, {"a": 1.0, "b": 1.0}, checks={"z": 1.0})
    out = evaluate_claims(claims, {"a": 2.0, "b": Measurement(0.5)})
    assert [r["verdict"] for r in out] == [REPRODUCED, NOT_REPRODUCED]
    assert out[0]["rule"] == "reproduced if ours >= 1"


def test_nan_measurement_is_inconclusive_not_a_pass():
    assert _claim().evaluate(float("nan"))["verdict"] == INCONCLUSIVE


def test_preregister_and_tables_render():
    with pytest.raises(ValueError, match="duplicate"):
        preregister([_claim("a"), _claim("a")])
    table = preregister([_claim("a", tolerance=Tolerance(0.001, why="w"), control=Control("random", "r"))])
    assert table.loc["a", "controls"] == "control: random" and "0.001" in table.loc["a", "rerun tolerance"]
    results = evaluate_claims([_claim("a")], {"a": Measurement(2.0, 1.5, 2.5, n=6, n_unit="documents")})
    t = verdict_table(results)
    assert t.loc["a", "ours"] == "2 [1.5, 2.5]" and t.loc["a", "n"] == "6 documents"
    assert verdict_lines(results) == "a  reproduced", "the compared output holds no numbers"


def test_compared_output_leaves_timing_verdicts_to_the_record():
    """A timing claim's verdict moves with the machine's load: the compared lines name it without its verdict, and
    the summary counts it apart, so that the same run on a slow and a fast machine prints the same text."""
    claims = [_claim("acc", kind="exact"), _claim("speed", kind="timing", tolerance=Tolerance(10.0, why="wall time"))]

    def timed(x):
        return Measurement(x, 0.9 * x, 1.1 * x, n=6, n_unit="repeats")

    fast = evaluate_claims(claims, {"acc": Measurement(2.0), "speed": timed(3.0)})
    slow = evaluate_claims(claims, {"acc": Measurement(2.0), "speed": timed(0.1)})
    assert fast[1]["verdict"] == REPRODUCED and slow[1]["verdict"] == NOT_REPRODUCED, "the record keeps the verdict"
    for part in (verdict_lines, verdict_summary):
        assert part(fast) == part(slow)
    assert "speed" in verdict_lines(fast) and "reproduced" not in verdict_lines(fast).splitlines()[1]
    assert verdict_summary(fast) == (
        "1/1 claims reproduced, 0 partially, 0 not, 0 inconclusive; 1 timing claim reported in the record"
    )


# null inputs: the engine can say "not reproduced" when there is nothing to find


def test_null_inputs_give_not_reproduced():
    rng = np.random.default_rng(7)
    noise = Measurement.correlation(rng.normal(size=300), rng.normal(size=300), n_unit="documents")
    assert _claim(rule=AtLeast(0.3, partial=0.15)).evaluate(noise)["verdict"] == NOT_REPRODUCED
    arm = rng.normal(5.0, 1.0, 40)
    placebo = Measurement.ratio(np.exp(arm), np.exp(arm + rng.normal(0, 0.01, 40)), n_unit="documents")
    assert _claim(rule=AtLeast(1.2, partial=1.05)).evaluate(placebo)["verdict"] == NOT_REPRODUCED
    same = Measurement.paired_difference(arm, arm, n_unit="documents")
    out = _claim(control=Control("placebo", "p")).evaluate(Measurement(2.0, 1.5, 2.5, n=40), control=same)
    assert out["verdict"] == INCONCLUSIVE and out["control"]["beaten"] is None, "a zero margin never counts as beaten"


def test_rule_can_fail_finds_the_failing_side():
    from shared.claims import rule_can_fail

    assert all(rule_can_fail(r) for r in (AtLeast(1.0), AtMost(0.1, partial=0.2), Within(0.9, 1.1),
                                          RelativeTo(5.0, 0.1)))  # fmt: skip
    assert not rule_can_fail(AtLeast(float("-inf")))


def test_t_mean_is_the_student_t_interval_over_units():
    from scipy import stats

    xs = [0.1, 0.12, 0.14, 0.13, 0.11]
    m = Measurement.t_mean(xs, n_unit="seeds")
    half = stats.t.ppf(0.975, 4) * statistics.stdev(xs) / math.sqrt(5)
    assert m.n == 5 and m.n_unit == "seeds" and m.interval == "Student t over seeds, df=4"
    assert math.isclose(m.value, 0.12) and math.isclose(m.high - m.value, half) and math.isclose(m.value - m.low, half)
    # wider than the bootstrap's percentile interval over the same five units
    b = Measurement.mean(xs)
    assert m.high - m.low > b.high - b.low
    assert not Measurement.t_mean([0.3]).has_interval
    same = Measurement.t_mean([0.25] * 5)  # identical units are not certainty: one step of the 4th digit
    assert math.isclose(same.low, 0.2499) and math.isclose(same.high, 0.2501)
    clipped = Measurement.t_mean([0.99, 1.0, 0.97, 1.0, 0.98], bounds=(0.0, 1.0))
    assert clipped.high == 1.0
    with pytest.raises(ValueError):
        Measurement.t_mean([0.1, float("nan")])


def test_t_mean_covers_the_true_mean_with_five_units():
    cov = _coverage(lambda rng: Measurement.t_mean(rng.normal(3.0, 2.0, 5), n_unit="seeds"), 3.0, reps=400)
    assert 0.91 <= cov <= 0.99, cov
