"""The rerun contract: identical verdicts and values within each claim's declared tolerance, timings reported only."""

import dataclasses
import json

import pytest

from shared.claims import AtLeast, Claim, Measurement, Tolerance, evaluate_claims
from shared.rerun import RerunContractError, breaches, check, compare, summary_lines

CLAIMS = [
    Claim("gain", "t", 1.0, "Tab. 1", AtLeast(1.0, partial=0.5), "faithful",
          tolerance=Tolerance(0.01, why="spread over thread counts")),
    Claim("speed", "t", 1.3, "Tab. 2", AtLeast(1.3), "faithful", kind="timing",
          tolerance=Tolerance(0.001, why="timings are reported, not held")),
]  # fmt: skip


def _record(gain, speed=(1.5, 1.4, 1.6), params=None):
    claims = evaluate_claims(CLAIMS, {"gain": Measurement(*gain, n=8, n_unit="documents"),
                                      "speed": Measurement(*speed, n=5, n_unit="repeats")})  # fmt: skip
    return {"schema_version": 2, "claims": claims, "params": params or {"SEEDS": [0]}}


def test_within_tolerance_holds():
    rows = compare(_record((2.0, 1.5, 2.5)), _record((2.015, 1.5, 2.5)), CLAIMS)
    assert [r.status for r in rows] == ["ok", "reported"]
    assert rows[0].rel_diff == pytest.approx(0.0075)


def test_a_value_outside_its_tolerance_breaks_the_contract():
    out = breaches("p_2024", "default", _record((2.0, 1.5, 2.5)), _record((2.05, 1.5, 2.6)), CLAIMS)
    assert len(out) == 1
    assert "p_2024 [default] claim gain: committed 2.0 (reproduced), rerun 2.05 (reproduced)" in out[0]


def test_a_moved_verdict_breaks_the_contract_even_within_tolerance():
    out = breaches("p_2024", "default", _record((2.0, 1.0, 3.0)), _record((2.0, 0.99, 3.0)), CLAIMS)
    assert "verdict moved: reproduced -> partially reproduced" in out[0]


def test_timing_claims_are_reported_never_failed():
    out = breaches("p_2024", "default", _record((2.0, 1.5, 2.5)), _record((2.0, 1.5, 2.5), speed=(0.9, 0.8, 1.0)),
                   CLAIMS)  # fmt: skip
    assert out == []


def test_other_parameters_mean_a_stale_record():
    out = breaches("p_2024", "default", _record((2.0, 1.5, 2.5)), _record((2.0, 1.5, 2.5), params={"SEEDS": [1]}))
    assert "other parameters (SEEDS)" in out[0]


def test_a_claim_without_tolerance_cannot_pass():
    bare = [Claim("gain", "t", 1.0, "Tab. 1", AtLeast(1.0), "faithful")]
    rec = {"claims": evaluate_claims(bare, {"gain": Measurement(2.0, 1.5, 2.5, n=8)}), "params": {}}
    assert "no reproduction tolerance" in breaches("p_2024", "default", rec, rec, bare)[0]


def test_missing_and_extra_claims_are_breaches():
    full, part = _record((2.0, 1.5, 2.5)), _record((2.0, 1.5, 2.5))
    part["claims"] = part["claims"][:1]
    assert any("did not produce" in line for line in breaches("p", "default", full, part, CLAIMS))
    assert any("no committed result" in line for line in breaches("p", "default", part, full, CLAIMS))


def test_check_raises_and_writes_its_report(tmp_path):
    class FakePaper:
        slug = "p_2024"

        def results_path(self, profile):
            return tmp_path / f"{profile}.json"

    (tmp_path / "default.json").write_text(json.dumps(_record((2.0, 1.5, 2.5))))
    check(FakePaper(), "default", _record((2.001, 1.5, 2.5)), CLAIMS, report_dir=tmp_path / "out")
    assert "contract holds (2 claims" in summary_lines(tmp_path / "out")[0]
    with pytest.raises(RerunContractError, match="claim gain: committed 2.0"):
        check(FakePaper(), "default", _record((3.0, 2.5, 3.5)), CLAIMS, report_dir=tmp_path / "out")
    assert "BROKEN" in summary_lines(tmp_path / "out")[0]


def test_a_record_from_before_engine_v2_is_reported_not_held(tmp_path):
    class FakePaper:
        slug = "old_2023"

        def results_path(self, profile):
            return tmp_path / f"{profile}.json"

    (tmp_path / "default.json").write_text(json.dumps({**_record((2.0, 1.5, 2.5)), "schema_version": 1}))
    assert check(FakePaper(), "default", _record((9.0, 8.5, 9.5)), CLAIMS, report_dir=tmp_path / "out") == []
    assert "not held" in summary_lines(tmp_path / "out")[0]


CHAOTIC = [Claim("gain", "t", 1.0, "Tab. 1", AtLeast(1.0, partial=0.5), "faithful",
                 tolerance=Tolerance(0.0, 0.01, why="another CPU redraws the training noise", interval=1.0))]  # fmt: skip


def _chaotic(value, low, high):
    return {"schema_version": 2, "params": {},
            "claims": evaluate_claims(CHAOTIC, {"gain": Measurement(value, low, high, n=5, n_unit="seeds")})}  # fmt: skip


def test_an_interval_tolerance_allows_one_width_of_the_committed_interval_and_no_more():
    committed = _chaotic(2.0, 1.8, 2.2)  # width 0.4, plus 0.01 absolute
    assert breaches("p", "default", committed, _chaotic(2.41, 2.0, 2.8), CHAOTIC) == []
    assert breaches("p", "default", committed, _chaotic(1.595, 1.2, 2.0), CHAOTIC) == []
    out = breaches("p", "default", committed, _chaotic(2.42, 2.0, 2.8), CHAOTIC)
    assert len(out) == 1 and "±1 x interval width = 0.4" in out[0]
    # the fresh interval does not widen the allowance: only the committed, pre-registered one counts
    assert breaches("p", "default", committed, _chaotic(2.42, 0.0, 5.0), CHAOTIC) != []


def test_an_interval_tolerance_still_fails_a_moved_verdict():
    out = breaches("p", "default", _chaotic(1.1, 1.0, 1.2), _chaotic(0.95, 0.8, 1.1), CHAOTIC)
    assert "verdict moved: reproduced -> partially reproduced" in out[0]


def _without_interval(record):
    record["claims"][0]["ours"]["low"] = record["claims"][0]["ours"]["high"] = None
    return record


def test_without_a_committed_interval_only_the_absolute_part_of_an_interval_tolerance_counts():
    # a one-unit record (a one-seed default) has no interval: the same value holds, a move beyond `abs` does not
    committed = _without_interval(_chaotic(2.0, 1.6, 2.4))
    assert breaches("p", "default", committed, _without_interval(_chaotic(2.0, 1.6, 2.4)), CHAOTIC) == []
    assert breaches("p", "default", committed, _without_interval(_chaotic(2.009, 1.6, 2.4)), CHAOTIC) == []
    out = breaches("p", "default", committed, _without_interval(_chaotic(2.02, 1.6, 2.4)), CHAOTIC)
    assert len(out) == 1 and "(none committed: 0)" in out[0]


def test_an_interval_only_tolerance_without_a_committed_interval_is_a_breach():
    only = [dataclasses.replace(c, tolerance=Tolerance(0.0, why="w", interval=1.0)) for c in CHAOTIC]
    committed = _without_interval(_chaotic(2.0, 1.6, 2.4))
    out = breaches("p", "default", committed, _without_interval(_chaotic(2.0, 1.6, 2.4)), only)
    assert "has no interval and the claim declares no absolute or relative part" in out[0]


def test_interval_tolerances_round_trip_and_old_ones_keep_their_shape():
    t = Tolerance(0.0, 0.01, why="w", interval=1.0)
    assert Tolerance.from_dict(t.to_dict()) == t
    assert Tolerance(0.01, why="w").to_dict() == {"rel": 0.01, "abs": 0.0, "why": "w"}
    assert "x the committed interval's width" in t.describe()
    with pytest.raises(ValueError):
        Tolerance(0.0, why="w", interval=-1.0)
