"""Exactness of every verification rule, computed exactly: the emitted token's distribution equals the target's."""

import pytest
import torch

from shared.speculative.rules import (
    acceptance_chain,
    inverse_cdf,
    kseq_rho,
    optimal_acceptance,
    output_distribution,
    verify_chain_fast,
    verify_node,
)

CASES = [("iid", "rrs"), ("wor", "rrs"), ("iid", "kseq")]


def random_pair(V: int, seed: int, sharp: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(V, generator=g, dtype=torch.float64) ** sharp
    q = torch.rand(V, generator=g, dtype=torch.float64) ** sharp
    return p / p.sum(), q / q.sum()


@pytest.mark.parametrize("mode,rule", CASES, ids=[f"{m}-{r}" for m, r in CASES])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_output_distribution_is_the_target(mode, rule, k, seed):
    p, q = random_pair(5, seed)
    out, acc = output_distribution(p, q, k, mode, rule)
    # kseq's rho comes from a bisection, which leaves a residual error of ~1e-12
    torch.testing.assert_close(out, p, atol=1e-9, rtol=0)
    assert 0 <= acc <= 1


@pytest.mark.parametrize("mode,rule", CASES, ids=[f"{m}-{r}" for m, r in CASES])
def test_exact_with_disjoint_and_degenerate_supports(mode, rule):
    # a draft that puts mass where the target has none, and a one-hot target (greedy decoding)
    p = torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=torch.float64)
    q = torch.tensor([0.6, 0.2, 0.2, 0.0], dtype=torch.float64)
    for target in (p, torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)):
        out, _ = output_distribution(target, q, 2, mode, rule)
        torch.testing.assert_close(out, target, atol=1e-9, rtol=0)


def test_single_draft_acceptance_is_the_maximal_coupling():
    for seed in range(5):
        p, q = random_pair(6, seed)
        _, acc = output_distribution(p, q, 1)
        overlap = float(torch.minimum(p, q).sum())
        assert abs(acc - overlap) < 1e-12
        assert abs(optimal_acceptance(p, q, 1) - overlap) < 1e-7


def test_kseq_is_within_one_minus_one_over_e_of_the_optimum():
    # SpecTr's Theorem: k-sequential selection reaches at least (1 - 1/e) of the LP optimum
    for seed in range(6):
        p, q = random_pair(4, seed)
        for k in (2, 3):
            _, acc = output_distribution(p, q, k, "iid", "kseq")
            opt = optimal_acceptance(p, q, k)
            assert acc <= opt + 1e-7
            assert acc >= (1 - 1 / torch.e) * opt


def test_kseq_rho_is_the_smallest_valid_scale():
    p, q = random_pair(8, 3)
    for k in (2, 4):
        rho, beta = kseq_rho(p, q, k)
        assert 1 <= rho <= k
        assert (1 - (1 - beta) ** k) / beta <= rho * (1 + 1e-9)
        smaller = rho * (1 - 1e-6)
        b = float(torch.minimum(q, p / smaller).sum())
        assert (1 - (1 - b) ** k) / b > smaller


def test_rrs_without_replacement_known_answer():
    # p = (0.5, 0.5, 0), q = (0.25, 0.25, 0.5); draws (2, 0) without replacement:
    # draw 2 has p/q = 0 -> rejected, residual p1 = (0.5, 0.5, 0), q1 = q without token 2 = (0.5, 0.5, 0)
    # draw 0: p1/q1 = 1 -> accepted with certainty
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    a, residual = acceptance_chain(p, q, [2, 0], "wor")
    assert a == [0.0, 1.0]
    a_iid, _ = acceptance_chain(p, q, [2, 0], "iid")
    assert a_iid == [0.0, 1.0]  # with replacement: p1/q = 0.5/0.25 -> clipped to 1 too


def test_sampler_uses_the_chain_statistically():
    # a fixed 2-draw set: the sampler's emitted-token frequencies match the exact conditional law
    p, q = random_pair(4, 11)
    draws = [int(q.argmax()), int(q.argmin())]
    a, residual = acceptance_chain(p, q, draws, "wor")
    want = torch.zeros(4, dtype=torch.float64)
    reach = 1.0
    for x, ai in zip(draws, a):
        want[x] += reach * ai
        reach *= 1 - ai
    want += reach * residual
    torch.manual_seed(0)
    n = 20000
    counts = torch.zeros(4, dtype=torch.float64)
    for _ in range(n):
        counts[verify_node(p, q, draws, "wor")[1]] += 1
    # 5 sigma of a binomial proportion
    assert ((counts / n - want).abs() <= 5 * (want * (1 - want) / n).sqrt() + 1e-9).all()


@pytest.mark.parametrize("seed", range(20))
def test_fast_chain_matches_reference_with_the_same_uniforms(seed):
    g = torch.Generator().manual_seed(seed)
    V, L = 7, 5
    p = torch.softmax(2 * torch.randn(L + 1, V, generator=g, dtype=torch.float64), -1)
    q = torch.softmax(2 * torch.randn(L, V, generator=g, dtype=torch.float64), -1)
    draft = torch.stack([torch.multinomial(q[i], 1, generator=g)[0] for i in range(L)])
    u = torch.rand(L + 1, generator=g, dtype=torch.float64)
    fast = verify_chain_fast(p, q, draft, u[:L], u[L])
    # the reference consumes one uniform per tested draft token, then one for the residual
    n, token = 0, None
    stream = iter(u[:L].tolist())
    while n < L:
        idx, token = verify_node(p[n], q[n], [int(draft[n])], rand=lambda: next(stream))
        if idx is None:
            break
        n += 1
    if n == L:
        token = inverse_cdf(p[L], u[L])
    else:
        _, residual = acceptance_chain(p[n], q[n], [int(draft[n])])
        token = inverse_cdf(residual, u[L])
    assert fast == (n, token)
