"""Tests of papers.zipfit_2024.method and claims (the selector and NCD are tested in tests/dataselect/test_compression.py):
the rules on placebo inputs (each can answer *not reproduced*, and a failed precondition gives
*inconclusive*), and one group run end to end on a toy pool."""

import numpy as np
import pytest

from papers.zipfit_2024 import method
from papers.zipfit_2024.claims import CLAIMS
from shared.claims import Measurement
from shared.dataselect.metrics import within_group_r
from shared.dataselect.pool import make_task
from shared.dataselect.toy import toy_pool, toy_tokens


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def test_run_group_on_a_toy_pool():
    pool = toy_pool(60)
    task = make_task(pool, "code", 5, 10, seed=0)
    vocab, tokens = toy_tokens(pool)
    kw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 8, "layers": 1, "heads": 1}
    rows = method.run_group(task, tokens, 20, 256, len(vocab), kw, seed=0, n_ref=5)
    by = {r["arm"]: r for r in rows}
    assert set(by) == set(method.arms(256))
    assert by["ZIP-FIT"]["target_share"] == 1.0 and by["domain oracle"]["target_share"] == 1.0
    assert by["ZIP-FIT"]["alignment"] > by["random"]["alignment"]
    assert np.isnan(by["all data"]["alignment"]) and by["all data"]["docs"] == len(task.raw)


OK = {"oracle-beats-random": Measurement(0.3, 0.2, 0.4, n=5), "alignments-differ": Measurement(0.02, 0.01, 0.03, n=5)}
CTRL = Measurement(0.2, 0.1, 0.3, n=5)


@pytest.mark.parametrize("cid", ["zipfit-beats-random", "zipfit-beats-dsir"])
def test_loss_rules_can_fail(cid):
    base = [4.0, 4.1, 3.9, 4.2, 4.0]
    worse = Measurement.ratio([v * 1.05 for v in base], base, n_unit="groups")
    same = Measurement.ratio(base, base, n_unit="groups")
    ctrl = CTRL if cid == "zipfit-beats-random" else None
    assert claim(cid).evaluate(worse, control=ctrl, checks=OK)["verdict"] == "not reproduced"
    assert claim(cid).evaluate(same, control=ctrl, checks=OK)["verdict"] != "reproduced"
    better = Measurement.ratio([v * 0.9 for v in base], base, n_unit="groups")
    failed = dict(OK, **{"oracle-beats-random": Measurement(-0.1, -0.2, -0.05, n=5)})
    assert claim(cid).evaluate(better, control=ctrl, checks=OK)["verdict"] == "reproduced"
    assert claim(cid).evaluate(better, control=ctrl, checks=failed)["verdict"] == "inconclusive"


def test_correlation_rule_can_fail_on_a_placebo():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(8), 5)
    x = rng.normal(size=40)
    y = -x + 0.1 * rng.normal(size=40)  # anti-correlated: a more aligned selection trains worse

    def stat(idx):
        rows = np.concatenate([np.flatnonzero(groups == g) for g in idx])
        labels = np.concatenate([np.full(5, j) for j in range(len(idx))])
        return within_group_r(labels, x[rows], y[rows])

    m = Measurement.bootstrap(list(range(8)), stat, n_unit="groups", bounds=(-1, 1))
    assert claim("alignment-tracks-loss").evaluate(m, checks=OK)["verdict"] == "not reproduced"


def test_cost_rule_can_fail():
    slower = Measurement.ratio([2.0, 2.1, 1.9, 2.0, 2.2], [1.0, 1.0, 1.1, 0.9, 1.0], n_unit="repeats")
    assert claim("selection-cost").evaluate(slower)["verdict"] == "not reproduced"
