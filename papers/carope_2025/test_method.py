"""Tests of papers.carope_2025.method: the CARoPE phase formula against RoPE (its special case), its relative-position
property, the evaluation windows, and that every deciding rule of claims.py can answer "not reproduced"."""

import math

import pytest
import torch

from papers.carope_2025 import method
from papers.carope_2025.claims import CLAIMS
from shared.claims import NOT_REPRODUCED, Measurement, rule_can_fail


def test_frequencies_bounded_and_known_at_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    f = method.carope_frequencies(x, torch.randn(8, 3, generator=g, dtype=torch.float64))
    assert f.shape == (2, 5, 3)
    assert ((f > 0) & (f < 1)).all()
    # W = 0: softplus(0) = ln 2, so every frequency is 1 / (1 + ln 2)
    f0 = method.carope_frequencies(x, torch.zeros(8, 3, dtype=torch.float64))
    torch.testing.assert_close(f0, torch.full_like(f0, 1 / (1 + math.log(2))))


def test_constant_frequency_is_rope():
    # the paper's special case: f(x_t) = theta_1 = 10000^(-2/D) for every token gives RoPE's phases m * theta_1^i, up
    # to the offset of one position (the sum runs over t <= m), which cancels in every query-key product; with
    # first_power=0 these are exactly transformers' RoPE frequencies, with 1 (the engine's reading) shifted by one pair
    D, T = 16, 9
    theta1 = 10000.0 ** (-2 / D)
    freqs = torch.full((1, T, 2), theta1, dtype=torch.float64)
    rope = method.rope_phases(T + 1, D)[1:]  # positions 1..T, theta_1^i for i = 0..D/2-1
    phases = method.carope_phases(freqs, D, first_power=0)  # [1, 2, T, D/2]
    torch.testing.assert_close(phases[0, 0], rope)
    torch.testing.assert_close(phases[0, 1], rope)
    shifted = method.carope_phases(freqs, D)
    torch.testing.assert_close(shifted[0, 0], rope * theta1)


def test_scores_match_rope_scores_for_constant_frequency():
    g = torch.Generator().manual_seed(1)
    B, H, T, D, d = 2, 2, 7, 8, 6
    q, k = torch.randn(2, B, H, T, D, generator=g, dtype=torch.float64).unbind(0)
    # x W constant per head: x is a constant column, W picks it, so f is the same for every token
    x = torch.ones(B, T, d, dtype=torch.float64)
    W = torch.zeros(d, H, dtype=torch.float64)
    W[0] = 0.3
    ours = method.carope_scores(q, k, x, W)
    f = 1 / (math.log1p(math.exp(0.3)) + 1)
    i = torch.arange(1, D // 2 + 1, dtype=torch.float64)
    rope = torch.arange(T, dtype=torch.float64)[:, None] * f**i  # RoPE with base frequency f, pairs i = 1..D/2
    want = method.rotate(q, rope) @ method.rotate(k, rope).transpose(-1, -2) / math.sqrt(D)
    torch.testing.assert_close(ours, want)


def test_score_depends_on_tokens_between_query_and_key_only():
    # the relative phase of (m, n) is the sum of f over t in (n, m]: changing a token before n (with q and k held
    # fixed) leaves the (m, n) score unchanged; changing one in (n, m] moves it
    g = torch.Generator().manual_seed(2)
    B, H, T, D, d = 1, 2, 8, 8, 5
    q, k = torch.randn(2, B, H, T, D, generator=g, dtype=torch.float64).unbind(0)
    x = torch.randn(B, T, d, generator=g, dtype=torch.float64)
    W = torch.randn(d, H, generator=g, dtype=torch.float64)
    base = method.carope_scores(q, k, x, W)
    early = x.clone()
    early[0, 1] += 3.0
    moved = method.carope_scores(q, k, early, W)
    torch.testing.assert_close(moved[..., 6, 3], base[..., 6, 3])
    between = x.clone()
    between[0, 5] += 3.0
    assert not torch.allclose(method.carope_scores(q, k, between, W)[..., 6, 3], base[..., 6, 3])


def test_token_losses_score_the_same_tokens_at_every_length():
    class Uniform(torch.nn.Module):
        # a model that ignores its input: every token costs log V, whatever the window length
        def forward(self, input_ids):
            return type("Out", (), {"logits": torch.zeros(*input_ids.shape, 11)})()

    stream = torch.arange(200) % 11
    windows = method.eval_windows(stream, 3, 16)
    assert windows.shape == (3, 17)
    assert torch.equal(windows[1, 0], stream[16])
    for length in (4, 8, 16):
        losses = method.token_losses(Uniform(), windows, length, batch_size=5)
        assert losses.shape == (3, 16)
        torch.testing.assert_close(losses, torch.full((3, 16), math.log(11)))
    with pytest.raises(ValueError):
        method.token_losses(Uniform(), windows, 5)


def test_length_margin_is_zero_without_a_length_effect():
    # a placebo: the method's advantage is the same 10% at both lengths, so the margin over the control is 0
    m = method.log_ratio_margin([110, 220], [100, 200], [11, 22], [10, 20])
    assert m == pytest.approx([0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_rule_can_fail(claim):
    assert rule_can_fail(claim.rule)


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.kind == "noisy"], ids=lambda c: c.id)
def test_null_input_is_not_reproduced(claim):
    # a null: CARoPE 2% worse than the baseline in every seed (ratio > 1), or the control doing as well
    worse = Measurement.ratio([102, 103, 101, 102, 104], [100] * 5, n_unit="seeds")
    checks = {p.id: Measurement(0.5, 0.4, 0.6, 5, n_unit="seeds") if "learned" in p.id
              else Measurement(2.0, 1.5, 2.5, 5, n_unit="seeds") for p in claim.preconditions}  # fmt: skip
    good_margin = Measurement.paired_difference([0.1] * 4 + [0.11], [0.0] * 5, n_unit="seeds")
    out = claim.evaluate(worse, control=good_margin if claim.control else None, checks=checks)
    assert out["verdict"] == NOT_REPRODUCED
    # the method clears its bar, but the control does as well: not reproduced either
    better = Measurement.ratio([50, 51, 49, 50, 52], [100] * 5, n_unit="seeds")
    if claim.control is not None:
        no_margin = Measurement.paired_difference([-0.1, -0.12, -0.1, -0.11, -0.1], [0.0] * 5, n_unit="seeds")
        assert claim.evaluate(better, control=no_margin, checks=checks)["verdict"] == NOT_REPRODUCED
