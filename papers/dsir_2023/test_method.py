"""Tests of papers.dsir_2023.method and claims: a placebo that the correlation rule can judge *not reproduced* (the
within-group r itself is tested in tests/dataselect), and one group run end to end on a toy pool."""

import numpy as np

from papers.dsir_2023 import method
from papers.dsir_2023.claims import CLAIMS
from shared.claims import Measurement
from shared.dataselect.metrics import within_group_r


def test_correlation_rule_can_fail_on_a_placebo():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(8), 6)
    x = rng.normal(size=48)
    y = -x + 0.1 * rng.normal(size=48)  # anti-correlated: a selection closer to the target trains worse
    units = list(range(8))

    def stat(idx):
        rows = np.concatenate([np.flatnonzero(groups == g) for g in idx])
        labels = np.concatenate([np.full(6, j) for j in range(len(idx))])
        return within_group_r(labels, x[rows], y[rows])

    m = Measurement.bootstrap(units, stat, n_unit="groups", bounds=(-1, 1))
    claim = next(c for c in CLAIMS if c.id == "kl-reduction-tracks-loss")
    checks = {
        "dsir-beats-unigram": Measurement(0.1, 0.05, 0.2, n=8),
        "selections-differ": Measurement(0.1, 0.05, 0.2, n=8),
    }
    assert claim.evaluate(m, checks=checks)["verdict"] == "not reproduced"
    failed = {
        "dsir-beats-unigram": Measurement(-0.1, -0.2, -0.05, n=8),
        "selections-differ": Measurement(0.1, 0.05, 0.2, n=8),
    }
    assert claim.evaluate(m, checks=failed)["verdict"] == "inconclusive"


def test_improvement_rule_can_fail_when_dsir_equals_random():
    claim = next(c for c in CLAIMS if c.id == "dsir-beats-random")
    same = Measurement.ratio([4.0, 4.1, 3.9, 4.2, 4.0], [4.0, 4.1, 3.9, 4.2, 4.0], n_unit="groups")
    worse = Measurement.ratio([4.4, 4.5, 4.3, 4.6, 4.4], [4.0, 4.1, 3.9, 4.2, 4.0], n_unit="groups")
    ok = {"dsir-beats-unigram": Measurement(0.1, 0.05, 0.2, n=5)}
    ctrl = Measurement(0.2, 0.1, 0.3, n=5)
    assert claim.evaluate(worse, control=ctrl, checks=ok)["verdict"] == "not reproduced"
    assert claim.evaluate(same, control=ctrl, checks=ok)["verdict"] != "reproduced"


def test_run_group_on_a_toy_pool():
    from shared.dataselect.pool import make_task
    from shared.dataselect.toy import toy_pool, toy_tokens

    pool = toy_pool(60, words=30)
    task = make_task(pool, "code", 5, 10, seed=0)
    vocab, tokens = toy_tokens(pool)
    kw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 8, "layers": 1, "heads": 1}
    rows = method.run_group(task, tokens, 20, 256, len(vocab), kw, seed=0)
    by = {r["arm"]: r for r in rows}
    assert set(by) == set(method.arms(256))
    assert by["DSIR"]["target_share"] == 1.0 and by["domain oracle"]["target_share"] == 1.0
    assert by["DSIR"]["kl_reduction"] > by["random"]["kl_reduction"]
    assert by["all data"]["docs"] == len(task.raw) and by["DSIR"]["docs"] == 20
