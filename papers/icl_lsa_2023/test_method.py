"""Tests of the LSA model, the closed forms it is judged against, and the trainer."""

import pytest
import torch

from papers.icl_lsa_2023.method import (
    LinearSelfAttention,
    PromptDistribution,
    gamma,
    global_minimum,
    ols_predict,
    predicted_error,
    train,
)


def _naive_lsa(w_pv, w_kq, E):
    # the paper's formula, written out in full: f(E) = E + W_PV E (E^T W_KQ E) / N, prediction = f(E)[d, N]
    n = E.shape[-1] - 1
    f = E + w_pv @ E @ (E.transpose(-1, -2) @ w_kq @ E) / n
    return f[..., -1, -1]


def test_forward_matches_the_full_formula_for_arbitrary_weights():
    g = torch.Generator().manual_seed(0)
    model = LinearSelfAttention(4, 0.1, g)
    with torch.no_grad():
        model.w_pv.copy_(torch.randn(5, 5, generator=g, dtype=torch.float64))
        model.w_kq.copy_(torch.randn(5, 5, generator=g, dtype=torch.float64))
    E, *_ = PromptDistribution(4, 7).sample(16, g)
    torch.testing.assert_close(model(E), _naive_lsa(model.w_pv, model.w_kq, E))


def test_initialisation_is_the_papers():
    model = LinearSelfAttention(3, 0.5, torch.Generator().manual_seed(1))
    assert model.w_pv[3, 3] == 0.5 and model.w_pv.count_nonzero() == 1
    w11 = model.w_kq[:3, :3]
    torch.testing.assert_close(w11.norm(), torch.tensor(0.5, dtype=torch.float64))
    assert torch.linalg.eigvalsh(w11.detach()).min() >= -1e-12, "Theta Theta^T is positive semi-definite"
    assert model.off_block_norm() == 0.0


@pytest.mark.parametrize(("d", "n"), [(2, 3), (5, 20), (8, 10)])
def test_isotropic_minimum_error_is_d_times_d_plus_1_over_n_plus_d_plus_1(d, n):
    # for Lambda = I the closed form reduces to d (d + 1) / (N + d + 1)
    assert predicted_error(global_minimum(d, n), n) == pytest.approx(d * (d + 1) / (n + d + 1), rel=1e-12)


def test_closed_form_matches_monte_carlo_for_an_arbitrary_matrix_and_shift():
    # a known answer computed two ways: the Wishart moment formula vs brute-force sampling
    g = torch.Generator().manual_seed(2)
    d, m = 3, 6
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    A = (A + A.T) / 2
    dist = PromptDistribution(d, m, cov_scale=2.0, task_scale=0.7, query_scale=1.5)
    _, yq, xs, ys, xq = dist.sample(400_000, g)
    h = (ys.unsqueeze(-1) * xs).mean(1)
    mc = ((h @ A * xq).sum(-1) - yq).pow(2).mean().item()
    assert mc == pytest.approx(predicted_error(A, m, 2.0, 0.7, 1.5), rel=0.02)


def test_global_minimum_is_a_minimum_of_the_closed_form():
    d, n = 4, 10
    A = global_minimum(d, n)
    best = predicted_error(A, n)
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        E = 1e-3 * torch.randn(d, d, generator=g, dtype=torch.float64)
        assert predicted_error(A + E, n) > best
    torch.testing.assert_close(gamma(d, n) @ A, torch.eye(d, dtype=torch.float64))


def test_least_squares_is_exact_on_noiseless_prompts_and_ridge_shrinks():
    g = torch.Generator().manual_seed(4)
    _, yq, xs, ys, xq = PromptDistribution(5, 12).sample(64, g)
    torch.testing.assert_close(ols_predict(xs, ys, xq), yq)
    ridge = ols_predict(xs, ys, xq, ridge=100.0)
    assert ridge.abs().mean() < yq.abs().mean()


def test_training_approaches_the_global_minimum_and_keeps_other_blocks_small():
    model, hist = train(d=3, n=10, steps=600, lr=0.05, batch=256, sigma=0.1, seed=0, log_every=100)
    assert hist[0]["rel_dist"] > 0.9, "starts far from the minimum"
    assert hist[-1]["rel_dist"] < 0.1
    assert model.off_block_norm() < 0.1


def test_zero_learning_rate_changes_nothing():
    model, hist = train(d=3, n=5, steps=5, lr=0.0, batch=8, sigma=0.1, seed=0, log_every=1)
    assert hist[0]["rel_dist"] == hist[-1]["rel_dist"]
