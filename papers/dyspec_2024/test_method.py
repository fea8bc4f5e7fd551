"""Tests of papers.dyspec_2024.method: budgets, and the dynamic tree's structure."""

import torch

from papers.dyspec_2024.method import FIXED, draft_prob_vs_acceptance, model_pair, proposers, tree_size


def test_fixed_shapes_match_their_budget():
    for budget, shapes in FIXED.items():
        for shape in shapes.values():
            assert tree_size(shape) == budget


def test_dynamic_tree_spends_its_budget_and_prefers_likely_branches():
    target, draft = model_pair(8, seed=0, mix=0.5)
    draft.reset([0, 1])
    tree = proposers(8)["dyspec"].propose(draft, 1, torch.Generator().manual_seed(0))
    assert len(tree) - 1 == 8
    # the root's first child is the root's most-valued slot, so it has at least one child of its own or siblings
    assert len(tree.draws[0]) >= 1
    assert len(set(tree.tokens[c] for c in tree.draws[0])) == len(tree.draws[0])  # without replacement


def test_identical_models_accept_everything():
    target, _ = model_pair(6, seed=1, mix=0.5)
    rows = draft_prob_vs_acceptance(target, target, [[0, 1], [2, 3]], torch.Generator().manual_seed(0))
    assert all(abs(r["accept"] - 1) < 1e-12 for r in rows)


def test_lossless_claim_fails_on_a_lossy_sampler():
    # a sampler that returns the draft's distribution (an always-accepting verifier) must be judged not reproduced
    from papers.dyspec_2024.claims import CLAIMS
    from shared.claims import Measurement
    from shared.speculative.exactness import lossy_pvalue

    claim = next(c for c in CLAIMS if c.id == "lossless")
    verdict = claim.evaluate(Measurement.exact(lossy_pvalue()), checks={"test-power": Measurement.exact(1.0)})[
        "verdict"
    ]
    assert verdict == "not reproduced"


def test_correlation_claim_fails_on_unrelated_tokens():
    # a placebo: acceptances unrelated to the draft probabilities give a correlation near 0, judged not reproduced
    from papers.dyspec_2024.claims import CLAIMS
    from shared.claims import Measurement

    g = torch.Generator().manual_seed(0)
    q, accept = torch.rand(2000, generator=g).tolist(), torch.rand(2000, generator=g).tolist()
    claim = next(c for c in CLAIMS if c.id == "draft-prob-predicts-acceptance")
    assert claim.evaluate(Measurement.correlation(q, accept, n_unit="draft tokens"))["verdict"] == "not reproduced"
