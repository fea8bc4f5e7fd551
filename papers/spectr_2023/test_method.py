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
