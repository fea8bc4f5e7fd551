"""Tests of papers.attention_debias_2025.method: the trend fit, the debiased scorer against its written-out reference,
the empty-token mask and sink ratio, and the statistics the claims read, on cases with known answers."""

import math

import pytest
import torch

from papers.attention_debias_2025.method import (
    DebiasContext,
    DebiasedAttention,
    cell_of_tokens,
    debiased_reference,
    empty_mask,
    fit_exponential_trend,
    fit_exponential_trend_reference,
    log_slope,
    log_slope_reference,
    position_target,
    sink_ratio,
    target_share,
    trend_values,
)
from shared.vision.vlm_hooks import TextAttention


def rand_attn(B=3, N=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, N, generator=g, dtype=torch.float64).add(0.05).softmax(dim=-1)


def test_log_slope_recovers_an_exponential_and_matches_reference():
    t = torch.arange(64, dtype=torch.float64)
    y = 0.3 * torch.exp(0.029 * t)
    assert abs(float(log_slope(y[None])[0]) - 0.029) < 1e-12
    assert abs(log_slope_reference(y.tolist()) - 0.029) < 1e-12
    a = rand_attn(4, 20)
    fast = log_slope(a)
    for i in range(4):
        assert abs(float(fast[i]) - log_slope_reference(a[i].tolist())) < 1e-12


def test_flat_or_shuffled_profile_has_no_trend():
    # the null of the recency claim: a flat profile has slope 0, and shuffling positions destroys a trend on average
    assert abs(float(log_slope(torch.full((1, 64), 1 / 64, dtype=torch.float64))[0])) < 1e-15
    t = torch.arange(64, dtype=torch.float64)
    y = torch.exp(0.03 * t).expand(400, 64)
    g = torch.Generator().manual_seed(1)
    shuffled = torch.stack([row[torch.randperm(64, generator=g)] for row in y])
    assert abs(float(log_slope(shuffled).mean())) < 0.003 < 0.03


def test_trend_fit_recovers_a_and_b():
    n = 64
    true = trend_values(0.01, 0.02, n)
    rows = true / true.sum()
    a, b = fit_exponential_trend(rows.expand(5, n))
    ar, br = fit_exponential_trend_reference(rows.tolist())
    assert abs(b - 0.02) < 1e-12 and abs(br - 0.02) < 1e-12
    assert abs(a - ar) < 1e-12
    assert torch.allclose(trend_values(a, b, n), rows, rtol=1e-10)


def test_debiasing_a_pure_trend_leaves_a_flat_score():
    n = 64
    b = 0.03
    attn = trend_values(1.0, b, n)[None]
    s = DebiasedAttention(slope=b, sink=False).score(DebiasContext(hidden=torch.zeros(1, n, 2), text_attn=attn))
    assert torch.allclose(s, torch.full((1, n), 1 / n, dtype=torch.float64))


def test_debiasing_finds_the_planted_token_that_raw_attention_misses():
    # a trend that favours the last tokens, plus one content token at the start 3x above its trend: raw top-4 keeps
    # the last tokens, the debiased top-1 is the planted one
    n, b = 64, 0.05
    attn = trend_values(1.0, b, n).clone()
    attn[2] *= 3.0
    ctx = DebiasContext(hidden=torch.zeros(1, n, 2), text_attn=attn[None])
    assert TextAttention().select(ctx, 4).keep[0].tolist() == [60, 61, 62, 63]
    assert DebiasedAttention(slope=b, sink=False).select(ctx, 1).keep[0].tolist() == [2]
    # with the wrong slope (none) the planted token is not found
    assert DebiasedAttention(slope=0.0, sink=False).select(ctx, 1).keep[0].tolist() == [63]


@pytest.mark.parametrize("positional,sink", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("k", [1, 5, 12, 16])
def test_scorer_matches_reference(positional, sink, k):
    B, N = 3, 16
    attn = rand_attn(B, N, seed=k)
    g = torch.Generator().manual_seed(100 + k)
    empty = torch.rand(B, N, generator=g) < 0.5
    empty[0] = False  # no empty token
    empty[1, :14] = True  # fewer content tokens than some budgets
    ctx = DebiasContext(hidden=torch.zeros(B, N, 2), text_attn=attn, empty=empty)
    keep = DebiasedAttention(slope=0.07, positional=positional, sink=sink).select(ctx, k).keep
    for i in range(B):
        assert keep[i].tolist() == debiased_reference(attn[i], empty[i], 0.07, k, positional, sink)


def test_sink_suppression_drops_empty_tokens_first():
    n = 8
    attn = torch.tensor([[0.01, 0.02, 0.5, 0.3, 0.05, 0.04, 0.03, 0.05]], dtype=torch.float64)
    empty = torch.tensor([[False, False, True, True, False, False, False, False]])
    ctx = DebiasContext(hidden=torch.zeros(1, n, 2), text_attn=attn, empty=empty)
    assert DebiasedAttention(positional=False).select(ctx, 2).keep[0].tolist() == [4, 7]
    assert DebiasedAttention(positional=False, sink=False).select(ctx, 2).keep[0].tolist() == [2, 3]
    # every content token kept, then the best empty one
    assert DebiasedAttention(positional=False).select(ctx, 7).keep[0].tolist() == [0, 1, 2, 4, 5, 6, 7]


def test_empty_mask_on_a_drawn_image():
    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    img[0, 20, 3] = 255  # one pixel in the bottom-left patch
    assert empty_mask(img, 14)[0].tolist() == [True, True, False, True]


def test_sink_ratio_known_values_and_null():
    attn = torch.tensor([[0.4, 0.4, 0.1, 0.1]], dtype=torch.float64)
    empty = torch.tensor([[True, True, False, False]])
    assert float(sink_ratio(attn, empty)[0]) == pytest.approx(4.0)
    # attention that ignores emptiness (uniform): ratio 1, the null the sink claim must beat
    assert float(sink_ratio(torch.full((1, 4), 0.25, dtype=torch.float64), empty)[0]) == pytest.approx(1.0)
    assert math.isnan(float(sink_ratio(attn, torch.zeros(1, 4, dtype=torch.bool))[0]))


def test_cells_targets_and_shares():
    cell_of = cell_of_tokens((8, 8), (2, 2))
    assert cell_of.reshape(8, 8)[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert cell_of.reshape(8, 8)[7].tolist() == [2, 2, 2, 2, 3, 3, 3, 3]
    assert [(cell_of == c).sum().item() for c in range(4)] == [16, 16, 16, 16]
    assert [position_target(f"What is in the {n}?") for n in ("top left", "top right", "bottom left",
                                                                "bottom right")] == [0, 1, 2, 3]  # fmt: skip
    with pytest.raises(ValueError):
        position_target("How many shoes are there?")
    keep = torch.tensor([[0, 1, 63, 62], [0, 1, 2, 3]])
    assert target_share(keep, torch.tensor([3, 0]), cell_of).tolist() == [0.5, 1.0]
