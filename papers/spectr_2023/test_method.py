"""Tests of papers.spectr_2023.method: exact acceptances against known answers and the paper's bounds."""

import torch

from papers.spectr_2023.method import model_pair, pair_acceptances


def test_identical_distributions_accept_always():
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    for row in pair_acceptances(p, p.clone(), [1, 2]):
        assert all(abs(row[key] - 1) < 1e-9 for key in ("single", "kseq", "iid_rrs", "optimal"))


def test_two_point_example():
    # p = (1, 0), q = (1/2, 1/2): one draft hits token 0 half the time; with k draws, 1 - 2^-k is optimal and K-SEQ
    # (rho = 1 is valid: beta = 1/2, (1 - 2^-k) / (1/2) <= k only for rho >= that value) must not exceed it
    p = torch.tensor([1.0, 0.0], dtype=torch.float64)
    q = torch.tensor([0.5, 0.5], dtype=torch.float64)
    rows = pair_acceptances(p, q, [1, 2, 3])
    for row in rows:
        assert abs(row["optimal"] - (1 - 0.5 ** row["k"])) < 1e-7
        assert row["kseq"] <= row["optimal"] + 1e-9
        assert row["kseq"] >= (1 - 1 / torch.e) * row["optimal"]
    assert abs(rows[0]["single"] - 0.5) < 1e-12


def test_more_drafts_never_hurt_kseq_on_model_pairs():
    target, draft = model_pair(vocab=5, seed=0, mix=0.5)
    for ctx in ([0, 1], [2, 3], [4, 4]):
        rows = pair_acceptances(target.probs(ctx), draft.probs(ctx), [1, 2, 3], with_optimum=False)
        kseq = [r["kseq"] for r in rows]
        assert kseq == sorted(kseq)


def test_lossless_claim_fails_on_a_lossy_sampler():
    # a sampler that returns the draft's distribution (an always-accepting verifier) must be judged not reproduced
    from papers.spectr_2023.claims import CLAIMS
    from shared.claims import Measurement
    from shared.speculative.exactness import lossy_pvalue

    claim = next(c for c in CLAIMS if c.id == "lossless")
    verdict = claim.evaluate(Measurement.exact(lossy_pvalue()), checks={"test-power": Measurement.exact(1.0)})[
        "verdict"
    ]
    assert verdict == "not reproduced"


def test_kseq_closed_form_matches_enumeration():
    from papers.spectr_2023.method import kseq_acceptance
    from shared.speculative import output_distribution

    target, draft = model_pair(vocab=5, seed=3, mix=0.5)
    for ctx in ([0, 1], [3, 2]):
        p, q = target.probs(ctx), draft.probs(ctx)
        for k in (1, 2, 3):
            assert abs(kseq_acceptance(p, q, k) - output_distribution(p, q, k, "iid", "kseq")[1]) < 1e-9


def test_first_of_k_verifies_one_chain_and_stays_exact():
    # the control proposes a single chain of L draft tokens whatever k is, and decodes exactly like one draft
    from collections import Counter

    from papers.spectr_2023.method import FirstOfK
    from shared.speculative import IIDSequences, speculative_generate
    from shared.speculative.exactness import exactness_check

    target, draft = model_pair(vocab=5, seed=1, mix=0.5)
    draft.reset([0, 1])
    tree = FirstOfK(4, 3).propose(draft, 1, torch.Generator().manual_seed(0))
    assert len(tree) == 4 and tree.parents == [-1, 0, 1, 2]
    check = exactness_check(2000, alpha=1e-3)
    counts = Counter(tuple(speculative_generate(check.target, check.draft, [0, 1], 3, FirstOfK(3, 2), "kseq",
                                                seed=s).tokens) for s in range(2000))  # fmt: skip
    from shared.speculative.stats import chi_square

    assert chi_square(counts, check.exact)[1] > 1e-3
    one = speculative_generate(target, draft, [0, 1], 20, IIDSequences(1, 3), "kseq", seed=0)
    assert one.block_efficiency >= 1


def test_gain_claims_fail_without_a_gain():
    # placebo: per-unit ratios of about 1 (no gain from extra drafts) must not be judged reproduced, and a control that
    # does as well as the method blocks the block-efficiency claim
    from papers.spectr_2023.claims import CLAIMS
    from shared.claims import Measurement

    ones = [1.0 + 0.01 * ((i % 5) - 2) for i in range(30)]
    claims = {c.id: c for c in CLAIMS}
    acc = claims["kseq-beats-single-draft"].evaluate(
        Measurement.ratio([0.7 * r for r in ones], [0.7] * 30, n_unit="windows"),
        checks={"draft-informative": Measurement.mean([0.7] * 29 + [0.71], n_unit="windows", bounds=(0, 1))},
    )
    assert acc["verdict"] != "reproduced"
    worse = [0.8 * r for r in ones]
    be = claims["block-efficiency-gain"].evaluate(
        Measurement.ratio(worse, [1.0] * 30, n_unit="prompts"),
        control=Measurement.paired_difference([-0.2] * 29 + [-0.21], [0.0] * 30, n_unit="prompts"),
        checks={"room-to-gain": Measurement.mean([2.5] * 29 + [2.6], n_unit="prompts", bounds=(1, 5))},
    )
    assert be["verdict"] == "not reproduced"
