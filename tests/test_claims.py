"""Verdict rules: each boundary, intervals that decide and intervals that cannot."""

import math

import pytest

from shared.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    PARTIAL,
    REPRODUCED,
    AtLeast,
    AtMost,
    Claim,
    Measurement,
    RelativeTo,
    evaluate_claims,
    preregister,
    verdict_table,
)


@pytest.mark.parametrize(
    ("value", "want"),
    [(5.0, REPRODUCED), (7.0, REPRODUCED), (4.99, PARTIAL), (2.0, PARTIAL), (1.99, NOT_REPRODUCED)],
)
def test_at_least_points(value, want):
    assert AtLeast(5.0, partial=2.0).judge(Measurement(value))[0] == want


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [(5.1, 6.0, REPRODUCED), (4.0, 6.0, INCONCLUSIVE), (2.5, 4.5, PARTIAL), (0.5, 1.5, NOT_REPRODUCED),
     (1.5, 2.5, INCONCLUSIVE)],
)  # fmt: skip
def test_at_least_intervals(low, high, want):
    m = Measurement((low + high) / 2, low, high, n=3)
    assert AtLeast(5.0, partial=2.0).judge(m)[0] == want


def test_at_least_without_partial_bar_never_says_partial():
    rule = AtLeast(1.0)
    assert rule.judge(Measurement(0.99))[0] == NOT_REPRODUCED
    assert rule.judge(Measurement(1.0, 0.5, 1.5, n=2))[0] == INCONCLUSIVE


@pytest.mark.parametrize(
    ("value", "want"), [(0.01, REPRODUCED), (0.05, REPRODUCED), (0.1, PARTIAL), (0.2, NOT_REPRODUCED)]
)
def test_at_most_mirrors_at_least(value, want):
    verdict, reason = AtMost(0.05, partial=0.15).judge(Measurement(value))
    assert verdict == want
    assert f"{value:.4g}" in reason, "the reason quotes our number"


def test_at_most_interval_straddling_is_inconclusive():
    assert AtMost(0.05).judge(Measurement(0.05, 0.01, 0.09, n=4))[0] == INCONCLUSIVE


@pytest.mark.parametrize(("value", "want"), [(10.5, REPRODUCED), (12.5, PARTIAL), (6.0, NOT_REPRODUCED)])
def test_relative_to(value, want):
    assert RelativeTo(10.0, tol=0.1, partial_tol=0.3).judge(Measurement(value))[0] == want


def test_relative_to_with_a_too_wide_interval_is_inconclusive():
    assert RelativeTo(10.0, tol=0.1).judge(Measurement(10.0, 5.0, 15.0, n=3))[0] == INCONCLUSIVE


@pytest.mark.parametrize(
    "make",
    [lambda: AtLeast(1.0, partial=2.0), lambda: AtMost(1.0, partial=0.5), lambda: RelativeTo(0.0, 0.1),
     lambda: RelativeTo(1.0, 0.3, partial_tol=0.1)],
)  # fmt: skip
def test_inconsistent_rules_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_from_samples_gives_the_student_t_interval():
    m = Measurement.from_samples([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.302652...
    half = 4.302652729749464 / math.sqrt(3)
    assert m.value == pytest.approx(2.0) and m.n == 3
    assert (m.low, m.high) == pytest.approx((2 - half, 2 + half))
    assert not Measurement.from_samples([4.0]).has_interval


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_from_samples_rejects_empty_or_nan(bad):
    with pytest.raises(ValueError):
        Measurement.from_samples(bad)


def test_measurement_rejects_a_value_outside_its_interval():
    with pytest.raises(ValueError):
        Measurement(3.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        Measurement(0.5, 0.0, None)


def _claim(cid="c1", **kw):
    base = {"text": "t", "paper_value": 1.0, "paper_ref": "Tab. 1", "rule": AtLeast(1.0), "fidelity": "faithful"}
    return Claim(cid, **{**base, **kw})


def test_claim_rejects_unknown_fidelity_and_non_rules():
    with pytest.raises(ValueError, match="fidelity"):
        _claim(fidelity="approximate")
    with pytest.raises(TypeError):
        _claim(rule=lambda m: True)
    with pytest.raises(ValueError):
        _claim("has space")


def test_evaluate_claims_requires_exactly_the_claimed_ids():
    claims = [_claim("a"), _claim("b")]
    with pytest.raises(KeyError, match="missing"):
        evaluate_claims(claims, {"a": 1.0})
    with pytest.raises(KeyError, match="unknown"):
        evaluate_claims(claims, {"a": 1.0, "b": 1.0, "c": 2.0})
    out = evaluate_claims(claims, {"a": 2.0, "b": Measurement(0.5)})
    assert [r["verdict"] for r in out] == [REPRODUCED, NOT_REPRODUCED]
    assert out[0]["rule"] == "reproduced if ours >= 1"


def test_nan_measurement_is_inconclusive_not_a_pass():
    assert _claim().evaluate(float("nan"))["verdict"] == INCONCLUSIVE


def test_preregister_rejects_duplicate_ids_and_tables_render():
    with pytest.raises(ValueError, match="duplicate"):
        preregister([_claim("a"), _claim("a")])
    table = verdict_table(evaluate_claims([_claim("a")], {"a": Measurement(2.0, 1.5, 2.5, n=3)}))
    assert table.loc["a", "ours"] == "2 [1.5, 2.5]"
