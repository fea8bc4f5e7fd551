"""Tests of papers.skill_it_2023.method: the addition prompts against integer arithmetic, the Skill-It mixture against
the loop-by-loop reference and its known limits, the graph helpers, the curriculum, a short training run of every arm,
and the claims' rules on placebo inputs (each can answer *not reproduced*; a failed precondition gives
*inconclusive*)."""

import numpy as np
import pytest
import torch

from papers.skill_it_2023 import method
from papers.skill_it_2023.claims import CLAIMS
from shared.claims import Measurement


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


@pytest.mark.parametrize("base,digits", [(4, 2), (10, 3), (2, 4)])
def test_answers_are_the_digits_of_the_sum(base, digits):
    task = method.Addition(base, digits)
    gen = torch.Generator().manual_seed(0)
    skills = torch.randint(0, task.skills, (200,), generator=gen)
    b = task.sample(skills, gen)
    ids = b["input_ids"]
    assert ids.shape == (200, task.prompt_len) and int(ids.max()) < task.vocab
    x = sum(int(ids[0, digits - 1 - i]) * base**i for i in range(digits))
    for r in range(200):
        x = sum(int(ids[r, digits - 1 - i]) * base**i for i in range(digits))
        y = sum(int(ids[r, 2 * digits - i]) * base**i for i in range(digits))
        s = int(skills[r])
        assert int(b["targets"][r, -1]) == (x + y) // base**s % base
        assert int(ids[r, -1]) == base + 2 + s
        assert (b["targets"][r, :-1] == method.IGNORE).all()


def test_validation_covers_every_operand_pair_once():
    task = method.Addition(4, 2)
    v = task.validation(0)["input_ids"][:, :5]
    assert len(v) == 256 and len({tuple(r.tolist()) for r in v}) == 256


def test_skillit_weights_match_reference_and_limits():
    rng = np.random.default_rng(1)
    for _ in range(20):
        k = int(rng.integers(2, 6))
        g = method.graph_from_edges(rng.random((k, k)) > 0.6)
        hist = [rng.random(k) * 3 for _ in range(int(rng.integers(1, 7)))]
        eta, w = float(rng.random() * 2), int(rng.integers(1, 5))
        assert np.allclose(method.skillit_weights(g, hist, eta, w), method.skillit_weights_reference(g, hist, eta, w))
    g = np.eye(3)
    assert np.allclose(method.skillit_weights(g, [np.array([1.0, 2.0, 3.0])], 0.0, 3), 1 / 3)  # eta 0: uniform
    p = method.skillit_weights(g, [np.array([0.1, 0.1, 5.0])], 5.0, 3)
    assert p.argmax() == 2 and p[2] > 0.99  # a large eta puts the mass on the worst skill
    # an edge i -> j gives i credit for j's loss
    e = method.graph_from_edges(np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0]]))
    p = method.skillit_weights(e, [np.array([2.0, 0.0, 0.0])], 1.0, 1)
    assert p[0] > p[2] > p[1]


def test_window_sums_only_the_last_evaluations():
    g = np.eye(2)
    hist = [np.array([100.0, 0.0]), np.array([0.0, 1.0])]
    assert method.skillit_weights(g, hist, 1.0, 1)[1] > 0.5
    assert method.skillit_weights(g, hist, 1.0, 2)[0] > 0.99


def test_graph_helpers_and_order():
    edges = np.array([[0, 0, 0], [0, 0, 0], [1, 1, 0]], bool)
    g = method.graph_from_edges(edges)
    assert np.array_equal(g, [[1, 0, 0], [0, 1, 0], [0.5, 0.5, 1]])
    assert method.prerequisite_order(edges) == [2, 0, 1]
    assert method.prerequisite_order(np.zeros((3, 3), bool)) == [0, 1, 2]
    cyc = np.array([[0, 1], [1, 0]], bool)
    assert sorted(method.prerequisite_order(cyc)) == [0, 1]
    for seed in range(10):
        s = method.shuffled_graph(g, seed)
        assert np.allclose(np.diag(s), 1) and np.isclose(s.sum(), g.sum()) and not np.array_equal(s, g)


def test_curriculum_blocks():
    assert [method.curriculum_skill(s, 10, [1, 0]) for s in range(10)] == [1] * 5 + [0] * 5
    assert method.curriculum_skill(99, 100, [2, 0, 1]) == 1


def test_mixture_batch_follows_p():
    task = method.Addition(4, 2)
    b = method.mixture_batch(task, np.array([0.0, 1.0, 0.0]), 50, torch.Generator().manual_seed(0))
    assert (b["input_ids"][:, -1] == task.base + 3).all()


def test_arms_train_and_skillit_updates():
    task = method.Addition(4, 2)
    val = [task.validation(i) for i in range(task.skills)]
    kw = {"batch": 16, "lr": 3e-3, "dim": 16, "layers": 1, "heads": 2, "val": val}
    g = method.graph_from_edges(np.array([[0, 0, 0], [0, 0, 0], [1, 1, 0]], bool))
    sk = method.train_arm(task, "skillit", 0, 20, graph=g, rounds=4, **kw)
    assert sk["mixtures"].shape == (4, 3) and np.allclose(sk["mixtures"].sum(1), 1)
    assert len(sk["curve"]) == 4 and sk["curve"][-1][0] == 20
    st = method.train_arm(task, "mixture", 0, 20, p=[1, 1, 1], **kw)
    cu = method.train_arm(task, "curriculum", 0, 20, order=[2, 0, 1], **kw)
    for r in (sk, st, cu):
        assert r["final"].shape == (3,) and np.isfinite(r["final"]).all()
    again = method.train_arm(task, "mixture", 0, 20, p=[1, 1, 1], **kw)
    assert np.allclose(st["final"], again["final"])  # deterministic for a seed
    with pytest.raises(ValueError):
        method.train_arm(task, "nope", 0, 5, **kw)


def test_rules_can_fail_and_preconditions_gate():
    worse = Measurement.ratio([1.1, 1.2, 1.15, 1.12, 1.18], [1.0] * 5, n_unit="seeds")
    better = Measurement.ratio([0.8, 0.82, 0.79, 0.81, 0.83], [1.0] * 5, n_unit="seeds")
    margin = Measurement.paired_difference([1.0] * 5, [0.8, 0.82, 0.79, 0.81, 0.83], n_unit="seeds")
    ok = {"graph-has-edge": Measurement.exact(0.3), "skills-learned": Measurement.mean([0.5, 0.6, 0.55, 0.5, 0.6]),
          "enough-seeds-skillit": Measurement.exact(20, n_unit="seeds")}  # fmt: skip
    for c in CLAIMS:
        checks = {p.id: ok[p.id] for p in c.preconditions}
        assert c.evaluate(worse, control=margin, checks=checks)["verdict"] == "not reproduced"
        assert c.evaluate(better, control=margin, checks=checks)["verdict"] == "reproduced"
        bad = dict(checks, **{"graph-has-edge": Measurement.exact(0.0)})
        assert c.evaluate(better, control=margin, checks=bad)["verdict"] == "inconclusive"
    lost = Measurement.paired_difference([0.8, 0.82, 0.79, 0.81, 0.83], [1.0] * 5, n_unit="seeds")
    c = claim("skillit-beats-random")
    assert c.evaluate(better, control=lost, checks=ok)["verdict"] == "not reproduced"  # the control does as well
    unlearned = dict(ok, **{"skills-learned": Measurement.mean([1.38, 1.39, 1.385, 1.386, 1.387])})
    assert c.evaluate(better, control=margin, checks=unlearned)["verdict"] == "inconclusive"
    few = dict(ok, **{"enough-seeds-skillit": Measurement.exact(5, n_unit="seeds")})  # the default's 5 seeds
    for cid in ("skillit-beats-random", "skillit-beats-stratified", "skillit-beats-curriculum"):
        assert claim(cid).evaluate(worse, control=margin, checks=few)["verdict"] == "inconclusive"
    assert claim("prerequisite-helps").evaluate(better, control=margin, checks=ok)["verdict"] == "reproduced"


def test_curve_area_weights_each_evaluation_by_the_steps_it_covers():
    flat = [(10, np.array([1.0, 1.0])), (20, np.array([1.0, 1.0]))]
    assert method.curve_area(flat) == pytest.approx(1.0)
    # a loss of 2 over the first 10 steps and 0 over the next 30: area 20 over 40 steps
    assert method.curve_area([(10, np.array([2.0, 2.0])), (40, np.array([0.0, 0.0]))]) == pytest.approx(0.5)
    # the same final loss, learned later: a larger area
    early = [(50, np.array([0.2])), (100, np.array([0.1]))]
    late = [(50, np.array([1.0])), (100, np.array([0.1]))]
    assert method.curve_area(late) > method.curve_area(early)
    for bad in ([], [(0, np.array([1.0]))], [(20, np.array([1.0])), (10, np.array([1.0]))]):
        with pytest.raises(ValueError):
            method.curve_area(bad)
