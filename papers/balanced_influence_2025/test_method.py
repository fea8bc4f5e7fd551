"""Tests of papers.balanced_influence_2025.method: the gradient features against autograd, the selectors against their
definitions and known answers (LESS follows the high-influence task, BIDS balances it away), the split, a short run of
one seed on a synthetic pool, and the claims' rules on null inputs (each can answer *not reproduced*; a failed
precondition gives *inconclusive*)."""

import numpy as np
import pytest
import torch

from papers.balanced_influence_2025 import method
from papers.balanced_influence_2025.claims import CLAIMS, MIN_SEEDS_FULL
from shared.claims import Measurement


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


class TinyBody(torch.nn.Module):
    """A stand-in for the frozen LM: embeddings and one linear layer; `model(...).last_hidden_state` and a tied output."""

    def __init__(self, vocab=50, dim=8, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.emb = torch.nn.Embedding(vocab, dim)
        self.lin = torch.nn.Linear(dim, dim)
        self.model = self

    def forward(self, input_ids):
        class Out:
            pass

        o = Out()
        o.last_hidden_state = torch.tanh(self.lin(self.emb(input_ids)))
        return o

    def get_output_embeddings(self):
        return self.emb


def synthetic_examples(n_fam=4, per=30, vocab=50, seed=0):
    """Families whose answers come from disjoint token ranges; family 0's answers are a single repeated token (its
    examples' gradients all point the same way: a high-influence task)."""
    rng = np.random.default_rng(seed)
    ex, labels = [], []
    for f in range(n_fam):
        for _ in range(per):
            prompt = rng.integers(1, 10, size=6).tolist() + [10 + f]
            ans = [20] * 3 if f == 0 else rng.integers(20 + 7 * f, 27 + 7 * f, size=3).tolist()
            ex.append((np.array(prompt + ans, dtype=np.int64), 3))
            labels.append(f)
    return ex, np.array(labels)


@pytest.fixture(scope="module")
def setup():
    body = TinyBody()
    ex, labels = synthetic_examples()
    states = method.answer_states(body, ex)
    vocab = method.answer_vocab(states)
    return body, ex, labels, states, vocab


def test_collate_targets_only_the_answer(setup):
    _, ex, _, _, _ = setup
    b = method.collate(ex[:3])
    for j in range(3):
        ids, n = ex[j]
        got = b["targets"][j][b["targets"][j] != method.IGNORE].tolist()
        assert got == ids[-n:].tolist()
        assert b["input_ids"][j, : len(ids) - 1].tolist() == ids[:-1].tolist()


def test_identity_sketch_is_the_autograd_gradient(setup):
    body, _, _, states, vocab = setup
    head = method.head_init(body, vocab)
    docs = [0, 5, 40, 77]
    exact = np.stack([method.head_grad_reference(head, states, vocab, i).ravel() for i in docs])
    got = method.projected_head_grads(head, states, vocab, docs, torch.eye(len(vocab)), torch.eye(8))
    assert np.allclose(got, exact, atol=1e-6)


def test_sketch_preserves_inner_products_on_average(setup):
    body, _, _, states, vocab = setup
    head = method.head_init(body, vocab)
    docs = list(range(0, 120, 7))
    exact = np.stack([method.head_grad_reference(head, states, vocab, i).ravel() for i in docs])
    sketches = [method.projected_head_grads(head, states, vocab, docs, *method.projections(len(vocab), 8, 16, 8, s))
                for s in range(200)]  # fmt: skip
    mean_gram = np.mean([s @ s.T for s in sketches], axis=0)
    assert np.allclose(mean_gram, exact @ exact.T, rtol=0.15, atol=0.15 * np.abs(exact @ exact.T).max())


def test_bids_matches_the_reference_and_balances():
    rng = np.random.default_rng(1)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(40, 9)) * rng.uniform(0.1, 5, size=9) + rng.normal(size=9)
        vt = np.repeat(np.arange(3), 3)
        for k in (0, 1, 7, 40):
            assert method.bids_select(A, vt, 3, k).tolist() == method.bids_select_reference(A, vt, 3, k)


def test_less_follows_the_high_influence_task_and_bids_does_not():
    # 3 tasks x 20 training rows; each row influences its own task's 2 validation rows; task 0's influence is 5x larger
    rng = np.random.default_rng(0)
    n, own = 60, np.repeat(np.arange(3), 20)
    vt = np.repeat(np.arange(3), 2)
    A = rng.normal(0, 0.01, size=(n, 6))
    scale = np.array([5.0, 1.0, 1.0])
    for i in range(n):
        A[i, vt == own[i]] += scale[own[i]] * rng.uniform(0.5, 1.0)
    less = method.less_select(A, vt, 3, 15)
    bids = method.bids_select(A, vt, 3, 15)
    assert method.imbalance(own[less], 3) == pytest.approx(3.0)  # every pick from task 0
    assert method.imbalance(own[bids], 3) == pytest.approx(1.0)  # 5 picks per task
    assert len(set(less)) == len(set(bids)) == 15


def test_normalise_columns_and_task_means():
    A = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    Z = method.normalise_columns(A)
    assert np.allclose(Z.mean(0), 0) and np.allclose(Z.std(0), 1)
    assert np.allclose(method.task_means(A, np.array([0, 0]), 1).ravel(), [1.5, 4.5, 7.5])


def test_split_is_disjoint_and_sized():
    labels = np.repeat(np.arange(4), 30)
    pool, val, test = method.split(labels, 2, 3, 5, 20, seed=7)
    assert len(set(pool) | set(val) | set(test)) == len(pool) + len(val) + len(test)
    assert len(val) == 6 and len(test) == 10 and len(pool) == 80
    assert set(labels[val]) == {0, 1} and (np.bincount(labels[pool]) == 20).all()
    with pytest.raises(ValueError):
        method.split(labels, 2, 10, 10, 20, seed=0)


def test_imbalance_and_shares():
    assert method.imbalance(np.array([0, 0, 1, 5, 6]), 2) == pytest.approx(2 * 2 / 3)
    assert np.allclose(method.shares(np.array([0, 1, 1, 3]), 2), [0.25, 0.5])


def test_one_seed_runs_and_every_arm_trains(setup):
    body, _, labels, states, vocab = setup
    rows, diag = method.run_seed(body, states, vocab, labels, 3, 0, n_val=4, n_test=6, n_pool=20, frac=0.25,
                                 warm_frac=0.1, warm_steps=5, steps=10, batch=8, lr=0.01, proj=(8, 4),
                                 arms=("LESS", "BIDS", "LESS + normalisation", "random", "all data"))  # fmt: skip
    assert len(rows) == 5 * 3 and diag["k"] == 20
    again, _ = method.run_seed(body, states, vocab, labels, 3, 0, n_val=4, n_test=6, n_pool=20, frac=0.25,
                               warm_frac=0.1, warm_steps=5, steps=10, batch=8, lr=0.01, proj=(8, 4),
                               arms=("LESS", "BIDS", "LESS + normalisation", "random", "all data"))  # fmt: skip
    assert [r["gain"] for r in rows] == [r["gain"] for r in again]  # deterministic for a seed
    bids = [r for r in rows if r["arm"] == "BIDS"]
    assert sum(r["share"] for r in bids) <= 1.0 + 1e-9
    assert all(np.isfinite(r["gain"]) for r in rows)
    assert {r["imbalance"] for r in rows if r["arm"] == "all data"} == {1.0}


def test_rules_can_fail_and_preconditions_gate():
    su = "seeds"
    ok = {"tasks-differ-in-influence": Measurement.mean([2.0, 2.1, 1.9, 2.2, 2.0], n_unit=su),
          "full-data-learns": Measurement.mean([1.2, 1.3, 1.25, 1.4, 1.3], n_unit=su),
          "enough-seeds-full": Measurement.exact(MIN_SEEDS_FULL, n_unit=su)}  # fmt: skip
    margin = Measurement.paired_difference([0.5, 0.6, 0.55, 0.5, 0.6], [0.0] * 5, n_unit=su)
    lost = Measurement.paired_difference([0.0] * 5, [0.5, 0.6, 0.55, 0.5, 0.6], n_unit=su)
    # the bias claim: an even selection (imbalance ~1) is not reproduced; a one-task selection is
    c = claim("less-biased")
    even = Measurement.mean([1.0, 1.05, 1.1, 1.0, 1.05], n_unit=su, bounds=(1.0, 5.0))
    skewed = Measurement.mean([3.0, 3.2, 2.9, 3.1, 3.3], n_unit=su, bounds=(1.0, 5.0))
    assert c.evaluate(even, control=margin, checks=ok)["verdict"] == "not reproduced"
    assert c.evaluate(skewed, control=margin, checks=ok)["verdict"] == "reproduced"
    flat = dict(ok, **{"tasks-differ-in-influence": Measurement.mean([1.0, 1.05, 1.02, 1.01, 1.03], n_unit=su)})
    assert c.evaluate(skewed, control=margin, checks=flat)["verdict"] == "inconclusive"
    # the performance claims: BIDS no better than the comparator (a null difference) is not reproduced
    worse = Measurement.paired_difference([0.0] * 5, [0.2, 0.25, 0.22, 0.21, 0.24], n_unit=su)
    better = Measurement.paired_difference([0.5, 0.6, 0.55, 0.5, 0.6], [0.0] * 5, n_unit=su)
    for cid in ("bids-beats-less", "bids-worst-task", "bids-beats-full", "less-hurts-own-task"):
        c = claim(cid)
        assert c.evaluate(worse, control=margin, checks=ok)["verdict"] == "not reproduced"
        assert c.evaluate(better, control=margin, checks=ok)["verdict"] == "reproduced"
        assert c.evaluate(better, control=lost, checks=ok)["verdict"] == "not reproduced"  # random does as well
        unlearned = dict(ok, **{"full-data-learns": Measurement.mean([0.0, 0.01, -0.01, 0.02, 0.0], n_unit=su)})
        assert c.evaluate(better, control=margin, checks=unlearned)["verdict"] == "inconclusive"
    for n in (20, 400):  # the default's and the full profile's seeds: both short of the power precondition
        few = dict(ok, **{"enough-seeds-full": Measurement.exact(n, n_unit=su)})
        assert claim("bids-beats-full").evaluate(better, control=margin, checks=few)["verdict"] == "inconclusive"
