"""Tests of papers.preselect_2025.method and claims: the fast paths against plain references (document losses,
predictive strength), cases with known answers (bits per character, strength, labels, mixtures), the selector on a toy
pool with a family whose losses know the target and with a placebo family whose losses do not, and the rules on
placebo inputs (each can answer *not reproduced*; a failed precondition gives *inconclusive*)."""

import math

import numpy as np
import pytest

from papers.preselect_2025 import method
from papers.preselect_2025.claims import CLAIMS
from shared.claims import Measurement
from shared.dataselect import train as T
from shared.dataselect.pool import make_task
from shared.dataselect.toy import toy_pool, toy_tokens


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def test_doc_nats_match_the_reference():
    pool = toy_pool(6)
    vocab, toks = toy_tokens(pool)
    m = T.make_lm(len(vocab), 16, 1, 2, 9, 0).eval()
    docs = [toks[0][:5], toks[1], toks[7][:9], toks[8][:2]]  # shorter than, equal to and longer than one window
    fast, ref = method.doc_nats(m, docs, 8), method.doc_nats_reference(m, docs, 8)
    assert np.allclose(fast, ref, rtol=1e-5)
    assert (fast > 0).all()


def test_bpc_known_answer():
    assert method.bpc(math.log(2) * 10, 5) == pytest.approx(2.0)
    assert np.allclose(method.bpc([math.log(2)] * 2, [1, 4]), [1.0, 0.25])


def test_concordance_matches_the_pair_loop_with_ties():
    rng = np.random.default_rng(0)
    b = rng.integers(0, 3, size=(6, 40)).astype(float)  # ties in losses count as out of order (strict <)
    ab = np.array([0.1, 0.5, 0.5, 0.9, -0.2, 0.3])  # one tie in ability: that pair does not count
    assert np.allclose(method.concordance(b, ab), method.concordance_reference(b, ab))


def test_concordance_known_answers():
    ab = np.array([3.0, 2.0, 1.0])  # member 0 the most able
    b = np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 3.0], [3.0, 1.0, 2.0]])  # in order; reversed; two pairs of three in order
    assert method.concordance(b, ab).tolist() == pytest.approx([1.0, 0.0, 2 / 3])
    assert np.isnan(method.concordance(b, np.ones(3))).all()  # no pair of distinct abilities


def test_labels_perfect_strength_and_floor():
    s = np.array([1.0, 1.0, 1.0, 0.2, 0.0, 0.4, 0.0, 0.8, 0.6, 0.1])
    pos, neg = method.labels(s, 2, seed=0)  # three perfect documents: all positives, the three lowest negatives
    assert pos.tolist() == [0, 1, 2] and sorted(s[neg].tolist()) == [0.0, 0.0, 0.1]
    pos, neg = method.labels(s, 4, seed=0)  # floor: the top 4
    assert len(pos) == len(neg) == 4 and s[pos].min() >= s[neg].max() and not set(pos) & set(neg)
    pos, neg = method.labels(np.full(10, 0.5), 3, seed=1)  # all tied: drawn at random, still disjoint
    assert len(pos) == len(neg) == 3 and not set(pos) & set(neg)


def test_member_stream_follows_its_mixture():
    pool = toy_pool(20)
    _, toks = toy_tokens(pool)
    task = make_task(pool, "code", 3, 3, seed=0)
    s = method.member_stream(task, toks, np.array([1.0, 0.0]), 30, seed=0)  # prose only
    prose_ids = set(np.concatenate([toks[i] for i in range(20)]).tolist())
    assert set(s.tolist()) <= prose_ids
    w = method.mixtures(6, 7, 0.5, seed=3)
    assert w.shape == (6, 7) and np.allclose(w.sum(1), 1.0) and (w >= 0).all()
    assert np.array_equal(w, method.mixtures(6, 7, 0.5, seed=3))


class FakeFamily:
    """A family of `m` members whose bits per character know each document's domain (`informative`: a member's loss
    on a target-domain document falls with its ability, on other documents it is noise), or are noise everywhere."""

    def __init__(self, pool, target_id, m=6, informative=True, seed=0):
        rng = np.random.default_rng(seed)
        self.ability = np.arange(m, dtype=float)
        noise = rng.normal(size=(m, len(pool)))
        own = (pool.domains == target_id)[None, :]
        self._b = np.where(own & informative, 5.0 - self.ability[:, None] + 0.01 * noise, noise)

    def strength(self, docs):
        return method.concordance(self._b[:, np.asarray(docs)], self.ability)


def test_preselect_finds_the_target_with_an_informative_family():
    pool = toy_pool(60)
    task = make_task(pool, "code", 5, 10, seed=0)
    pre = method.PreSelect(FakeFamily(pool, task.target_id), score_frac=0.5, min_pos=5, buckets=256)
    idx = pre.select(task, 20, seed=0)
    assert len(np.unique(idx)) == 20 and task.target_share(idx) == 1.0
    info = pre.fit(task, 0)[2]
    assert info["pos_share"] == 1.0 and info["pos_share"] > info["base_share"] and info["neg_share"] < 0.5
    top = method.StrengthTopK(pre).select(task, 10, seed=0)
    assert task.target_share(top) == 1.0 and set(top) <= set(method.scored_sample(task, 0.5, 0))


def test_preselect_placebo_family_finds_nothing():
    pool = toy_pool(60)
    task = make_task(pool, "code", 5, 10, seed=0)
    shares = []
    for seed in range(6):
        pre = method.PreSelect(FakeFamily(pool, task.target_id, informative=False, seed=seed), 0.5, 5, 256)
        shares.append(pre.fit(task, seed)[2]["pos_share"] - pre.fit(task, seed)[2]["base_share"])
    m = Measurement.paired_difference(np.array(shares) + 0.5, np.full(6, 0.5), n_unit="groups")
    # the placebo's positives are no more target than the scored sample: the precondition cannot pass
    assert claim("preselect-beats-random").preconditions[0].check(m)["passed"] is not True


def test_perplexity_filter_keeps_the_lowest_loss_under_the_best_member():
    pool = toy_pool(20)
    vocab, toks = toy_tokens(pool)
    task = make_task(pool, "code", 3, 3, seed=0)
    models = [T.make_lm(len(vocab), 16, 1, 2, 9, s).eval() for s in range(3)]
    fam = method.Family(task, toks, models, 8)
    best = models[int(np.argmax(fam.ability))]
    nats = method.doc_nats(best, [toks[i] for i in task.raw], 8)
    b = method.bpc(nats, [len(pool.texts[i]) for i in task.raw])
    idx = method.PerplexityFilter(fam).select(task, 5, seed=0)
    assert sorted(b[idx]) == sorted(np.sort(b)[:5])
    assert fam.bpc(task.raw[:4]).shape == (3, 4)


def test_rules_can_say_not_reproduced_on_a_placebo():
    rng = np.random.default_rng(0)
    base = 4.0 + rng.normal(0, 0.05, size=10)
    same = Measurement.ratio(base * (1 + np.tile([0.01, -0.01], 5)), base, n_unit="groups")  # a placebo arm
    worse = Measurement.ratio(base * 1.05, base, n_unit="groups")
    ok = {"strength-finds-target": Measurement.paired_difference(np.full(10, 0.9) + rng.normal(0, 0.01, 10),
                                                                 np.full(10, 0.1), n_unit="groups"),
          "enough-groups-dsir": Measurement.exact(200, unit="groups")}  # fmt: skip
    margin = Measurement.paired_difference(base + 0.5, base, n_unit="groups")
    for c in CLAIMS:
        ctrl = margin if c.control is not None else None
        assert c.evaluate(worse, checks=ok, control=ctrl)["verdict"] == "not reproduced", c.id
        assert c.evaluate(same, checks=ok, control=ctrl)["verdict"] in ("not reproduced", "inconclusive"), c.id


def test_failed_precondition_and_control():
    rng = np.random.default_rng(1)
    base = 4.0 + rng.normal(0, 0.05, size=10)
    good = Measurement.ratio(base * 0.9, base, n_unit="groups")
    no_premise = {"strength-finds-target": Measurement.paired_difference(np.full(10, 0.1) + rng.normal(0, 0.01, 10),
                                                                         np.full(10, 0.1), n_unit="groups")}  # fmt: skip
    c = claim("preselect-beats-random")
    ctrl = Measurement.paired_difference(base + 0.5, base * 0.9, n_unit="groups")
    assert c.evaluate(good, checks=no_premise, control=ctrl)["verdict"] == "inconclusive"
    ok = {"strength-finds-target": Measurement.paired_difference(np.full(10, 0.9) + rng.normal(0, 0.01, 10),
                                                                 np.full(10, 0.1), n_unit="groups")}  # fmt: skip
    assert c.evaluate(good, checks=ok, control=ctrl)["verdict"] == "reproduced"
    # all data (same tokens) as good as PreSelect: the control explains the effect away
    bad_ctrl = Measurement.paired_difference(base * 0.8, base * 0.9, n_unit="groups")
    assert c.evaluate(good, checks=ok, control=bad_ctrl)["verdict"] == "not reproduced"


def test_power_precondition_makes_dsir_inconclusive_below_its_groups():
    rng = np.random.default_rng(2)
    base = 4.0 + rng.normal(0, 0.05, size=10)
    worse = Measurement.ratio(base * 1.05, base, n_unit="groups")
    premise = Measurement.paired_difference(np.full(10, 0.9) + rng.normal(0, 0.01, 10), np.full(10, 0.1),
                                            n_unit="groups")  # fmt: skip
    c = claim("preselect-beats-dsir")
    few = {"strength-finds-target": premise, "enough-groups-dsir": Measurement.exact(48, unit="groups")}
    assert c.evaluate(worse, checks=few)["verdict"] == "inconclusive"
    many = {"strength-finds-target": premise, "enough-groups-dsir": Measurement.exact(152, unit="groups")}
    assert c.evaluate(worse, checks=many)["verdict"] == "not reproduced"
