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


def test_baseline_is_chosen_on_selection_runs_only():
    # the choice uses geometric means over selection prompts and never picks RSD-C itself
    from papers.rsd_2024.method import choose_baselines

    sel = {6: {"rsd-c": [9.0, 9.0], "iid k=1 L=6": [2.0, 2.0], "iid k=2 L=3": [4.0, 1.0]}}
    assert choose_baselines(sel) == {6: "iid k=1 L=6"}  # geometric means 2.0 vs 2.0: the first listed wins ties
    sel[6]["iid k=2 L=3"] = [4.0, 1.1]
    assert choose_baselines(sel) == {6: "iid k=2 L=3"}


def test_block_efficiency_claims_fail_without_a_gain():
    # placebo: RSD-C about 10% worse than its baseline on every prompt must be judged not reproduced
    from papers.rsd_2024.claims import CLAIMS
    from shared.claims import Measurement

    worse = [0.9 + 0.01 * ((i % 5) - 2) for i in range(20)]
    ok = {"drafts-accepted": Measurement.mean([2.0] * 19 + [2.1], n_unit="prompts", bounds=(1, 4)),
          "enough-prompts-length": Measurement.exact(1.0), "enough-prompts-budget": Measurement.exact(1.0)}
    for cid in ("fixed-length", "fixed-budget"):
        claim = next(c for c in CLAIMS if c.id == cid)
        assert claim.evaluate(Measurement.ratio(worse, [1.0] * 20, n_unit="prompts"), checks=ok)["verdict"] == (
            "not reproduced"
        )


def test_power_preconditions_follow_the_design():
    # the prompts needed (claims.py docstring): full design 93 (length) and 27 (budget); the default's 219 and 67
    from papers.rsd_2024.claims import CLAIMS, prompts_needed
    from shared.claims import Measurement

    assert (prompts_needed("fixed-length", 32, 3), prompts_needed("fixed-budget", 32, 5)) == (93, 27)
    assert (prompts_needed("fixed-length", 20, 2), prompts_needed("fixed-budget", 20, 3)) == (219, 67)
    # too few prompts: a clear gain is still inconclusive
    better = [1.3 + 0.01 * ((i % 5) - 2) for i in range(20)]
    checks = {"drafts-accepted": Measurement.mean([2.0] * 20, n_unit="prompts", bounds=(1, 4)),
              "enough-prompts-length": Measurement.exact(0.5), "enough-prompts-budget": Measurement.exact(0.5)}
    for cid in ("fixed-length", "fixed-budget"):
        claim = next(c for c in CLAIMS if c.id == cid)
        verdict = claim.evaluate(Measurement.ratio(better, [1.0] * 20, n_unit="prompts"), checks=checks)["verdict"]
        assert verdict == "inconclusive"
