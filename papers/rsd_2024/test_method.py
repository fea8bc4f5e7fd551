"""Tests of papers.rsd_2024.method: budgets, and the exact per-node advantage of drawing without replacement."""

import torch

from papers.rsd_2024.method import BUDGETS, SHAPES, model_pair, node_acceptance


def test_budget_shapes_have_the_stated_size():
    for budget, (shape, seqs) in BUDGETS.items():
        size, width = 0, 1
        for b in shape:
            width *= b
            size += width
        assert size == budget
        assert all(k * L == budget for k, L in seqs)
    assert all(len(s) >= 2 for s in SHAPES.values())


def test_without_replacement_known_answer():
    # q uniform over 2 tokens, p one-hot on token 1: two draws without replacement always contain token 1 -> accept 1;
    # two i.i.d. draws miss it with probability 1/4
    p = torch.tensor([0.0, 1.0], dtype=torch.float64)
    q = torch.tensor([0.5, 0.5], dtype=torch.float64)
    got = node_acceptance(p, q, 2)
    assert abs(got["wor"] - 1.0) < 1e-12
    assert abs(got["iid"] - 0.75) < 1e-12


def test_without_replacement_accepts_at_least_as_often_on_model_pairs():
    target, draft = model_pair(5, seed=0, mix=0.5)
    for ctx in ([0, 0], [1, 2], [3, 4]):
        got = node_acceptance(target.probs(ctx), draft.probs(ctx), 3)
        assert got["wor"] >= got["iid"] - 1e-12


def test_lossless_claim_fails_on_a_lossy_sampler():
    # a sampler that returns the draft's distribution (an always-accepting verifier) must be judged not reproduced
    from papers.rsd_2024.claims import CLAIMS
    from shared.claims import Measurement
    from shared.speculative.exactness import lossy_pvalue

    claim = next(c for c in CLAIMS if c.id == "lossless")
    verdict = claim.evaluate(Measurement.exact(lossy_pvalue()), checks={"test-power": Measurement.exact(1.0)})[
        "verdict"
    ]
    assert verdict == "not reproduced"


def test_fixed_budget_point_estimate_is_inconclusive():
    from papers.rsd_2024.claims import CLAIMS
    from shared.claims import Measurement

    claim = next(c for c in CLAIMS if c.id == "fixed-budget")
    assert claim.evaluate(Measurement(1.0, n=3, n_unit="budgets"))["verdict"] == "inconclusive"
