"""Known answers for the alignment losses: hand formulas in fp64, the log 2 of an untrained DPO policy, token weights
and masks, GRPO's advantages, ratio clipping and KL."""

import math

import pytest
import torch

from shared.align.losses import (
    aggregate_token_loss,
    dpo_loss,
    group_advantages,
    grpo_token_loss,
    implicit_rewards,
    ipo_loss,
    kl_k3,
    preference_loss,
    sequence_logps,
    shift_mask,
    token_logps,
)
from shared.lm.configs import make_model

V = 32


def random_logps(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    return -torch.rand(shape, generator=gen, dtype=torch.float64) * 5  # log-probabilities in (-5, 0]


def test_token_logps_matches_log_softmax_in_fp64():
    model = make_model("micro", V, seed=0).double()
    ids = torch.randint(0, V, (3, 7), generator=torch.Generator().manual_seed(0))
    got = token_logps(model, ids)
    logits = model(input_ids=ids).logits
    oracle = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    assert got.shape == (3, 6)
    torch.testing.assert_close(got, oracle, rtol=0, atol=1e-12)


def test_temperature_divides_the_logits():
    model = make_model("micro", V, seed=1).double()
    ids = torch.randint(0, V, (2, 5), generator=torch.Generator().manual_seed(1))
    logits = model(input_ids=ids).logits[:, :-1] / 0.7
    oracle = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(token_logps(model, ids, temperature=0.7), oracle, rtol=0, atol=1e-12)


def test_dpo_loss_is_log2_when_policy_equals_reference():
    lp = random_logps((4, 6), 0)
    mask = torch.ones(4, 6)
    loss, stats = preference_loss(lp, lp.clone(), mask, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-12)
    assert torch.all(stats["margins"] == 0)


def test_dpo_loss_matches_the_hand_formula():
    pc, pr, rc, rr = -3.0, -5.0, -4.0, -4.5
    beta = 0.3
    delta = (pc - rc) - (pr - rr)
    expected = math.log(1 + math.exp(-beta * delta))
    got = dpo_loss(torch.tensor([pc - rc], dtype=torch.float64), torch.tensor([pr - rr], dtype=torch.float64), beta)
    assert got.item() == pytest.approx(expected, abs=1e-12)
    eps = 0.1  # conservative DPO
    smoothed = dpo_loss(torch.tensor([pc - rc]).double(), torch.tensor([pr - rr]).double(), beta, eps).item()
    assert smoothed == pytest.approx((1 - eps) * expected + eps * math.log(1 + math.exp(beta * delta)), abs=1e-12)


def test_ipo_loss_matches_the_hand_formula_with_and_without_lengths():
    c, r, beta = torch.tensor([2.0]).double(), torch.tensor([-1.0]).double(), 0.5
    assert ipo_loss(c, r, beta).item() == pytest.approx((3.0 - 1.0) ** 2, abs=1e-12)
    normed = ipo_loss(c, r, beta, torch.tensor([4]), torch.tensor([2])).item()
    assert normed == pytest.approx((0.5 + 0.5 - 1.0) ** 2, abs=1e-12)


def test_unit_token_weights_give_plain_dpo_and_zero_mask_removes_a_token():
    lp, ref = random_logps((4, 6), 1), random_logps((4, 6), 2)
    mask = torch.ones(4, 6)
    mask[:, :2] = 0  # prompt
    plain, _ = preference_loss(lp, ref, mask, beta=0.2)
    weighted, _ = preference_loss(lp, ref, mask, beta=0.2, weights=torch.ones(4, 6))
    assert weighted.item() == plain.item()
    # masking token 4 of chosen row 0 equals deleting its log-ratio from the sum, whatever value the token holds
    masked = mask.clone()
    masked[0, 4] = 0
    lp2 = lp.clone()
    lp2[0, 4] = float("-inf")  # garbage at a masked position must not leak
    got, _ = preference_loss(lp2, ref, masked, beta=0.2)
    chosen = sequence_logps(lp - ref, mask)
    chosen[0] -= (lp - ref)[0, 4]
    expected = dpo_loss(chosen[:2], chosen[2:], 0.2).mean()
    assert got.item() == pytest.approx(expected.item(), abs=1e-12)
    # a zero weight does the same as a zero mask
    w = torch.ones(4, 6)
    w[0, 4] = 0
    by_weight, _ = preference_loss(lp, ref, mask, beta=0.2, weights=w)
    assert by_weight.item() == pytest.approx(expected.item(), abs=1e-12)


def test_implicit_rewards_sum_to_the_sequence_reward():
    lp, ref = random_logps((3, 5), 3), random_logps((3, 5), 4)
    mask = torch.tensor([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 1, 1]])
    per_tok, per_seq = implicit_rewards(lp, ref, mask, beta=0.5)
    torch.testing.assert_close(per_tok.sum(-1), per_seq)
    assert torch.all(per_tok[mask == 0] == 0)
    torch.testing.assert_close(per_seq, 0.5 * ((lp - ref) * mask).sum(-1))


def test_shift_mask_aligns_with_token_logps():
    mask = torch.tensor([[0, 0, 1, 1, 0]])
    assert shift_mask(mask).tolist() == [[0, 1, 1, 0]]


def test_group_advantages_standardise_each_group():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 3.0, 3.0, 3.0, 3.0])
    adv = group_advantages(rewards, 4)
    g0 = rewards[:4]
    torch.testing.assert_close(adv[:4], (g0 - g0.mean()) / (g0.std() + 1e-4))
    assert torch.all(adv[4:] == 0)  # a group with one reward has no signal
    torch.testing.assert_close(group_advantages(rewards, 4, scale="none")[:4], g0 - 0.5)
    with pytest.raises(ValueError):
        group_advantages(rewards, 3)


def test_grpo_one_step_loss_is_minus_the_advantage_and_its_gradient_is_the_policy_gradient():
    lp = random_logps((2, 3), 5).requires_grad_()
    adv = torch.tensor([1.5, -0.5], dtype=torch.float64)
    mask = torch.ones(2, 3)
    loss = aggregate_token_loss(grpo_token_loss(lp, adv), mask, "grpo")
    assert loss.item() == pytest.approx(-adv.mean().item(), abs=1e-12)
    loss.backward()
    torch.testing.assert_close(lp.grad, -adv[:, None].expand(2, 3) / 6)


def test_grpo_clips_the_ratio_on_the_side_the_advantage_pushes():
    old = torch.zeros(1, 4, dtype=torch.float64)
    lp = torch.log(torch.tensor([[1.5, 0.5, 1.5, 0.5]], dtype=torch.float64))
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]], dtype=torch.float64)
    got = grpo_token_loss(lp, adv, old, epsilon_low=0.2, epsilon_high=0.28)
    # A > 0: min(1.5, 1.28) = 1.28 (clipped), min(0.5, 0.8) = 0.5; A < 0: -min(-1.5, -1.28) = 1.5, -min(-0.5, -0.8) = 0.8
    torch.testing.assert_close(got, torch.tensor([[-1.28, -0.5, 1.5, 0.8]], dtype=torch.float64))


def test_kl_k3_is_zero_at_equality_and_positive_elsewhere():
    lp = random_logps((2, 4), 6)
    assert torch.all(kl_k3(lp, lp) == 0)
    assert torch.all(kl_k3(lp, lp - 0.3) > 0)
    lp_g = lp.clone().requires_grad_()
    loss = grpo_token_loss(lp_g, torch.zeros(2), ref_logps=lp - 0.3, beta=0.04)
    torch.testing.assert_close(loss, 0.04 * kl_k3(lp, lp - 0.3))


def test_aggregations():
    tl = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    assert aggregate_token_loss(tl, mask, "grpo").item() == pytest.approx((2.0 + 4.0) / 2)
    assert aggregate_token_loss(tl, mask, "bnpo").item() == pytest.approx(10.0 / 4)
    assert aggregate_token_loss(tl, mask, "dapo", num_tokens=8).item() == pytest.approx(10.0 / 8)
    assert aggregate_token_loss(tl, mask, "dr_grpo", max_completion_length=5).item() == pytest.approx(10.0 / 10)
    with pytest.raises(ValueError):
        aggregate_token_loss(tl, mask, "mean")
