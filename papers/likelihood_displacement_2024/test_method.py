"""Tests of papers.likelihood_displacement_2024.method: known answers and invariants, on the tiny LM (fast)."""

import copy
import math

import pytest
import torch

from papers.likelihood_displacement_2024 import method
from shared.align.batches import collate_preferences, dpo_batch_loss
from shared.models import load


@pytest.fixture(scope="module")
def lm():
    model, tok = load("tiny-lm-small")
    return model.requires_grad_(False), tok


def test_units_distinct_statements_and_paper_pairs_first():
    units = method.make_units(40, seed=3)
    assert len({u["statement"] for u in units}) == 40
    assert [(u["y_pos"], u["y_neg"]) for u in units[:3]] == method.PAPER_PAIRS
    assert all(u["y_pos"] != u["y_neg"] and {u["y_pos"], u["y_neg"]} <= set(method.ANSWERS) for u in units)
    assert method.make_units(40, seed=3) == units and method.make_units(40, seed=4) != units
    with pytest.raises(ValueError):
        method.make_units(len(method.STATEMENTS) + 1, seed=0)


@pytest.mark.parametrize("k", [1, 2])
def test_head_equals_full_model(lm, k):
    model, _ = lm
    ids = list(range(5, 25))
    head = method.TopHead(model, k)
    with torch.no_grad():
        full = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)
        ours = head(method.prefix_hidden(model, ids, k))
    assert torch.allclose(ours, full, atol=1e-5)
    assert all(p.requires_grad for p in head.layers.parameters())


def test_pair_loss_equals_engine_dpo(lm):
    model, _ = lm
    ids, pos, neg, beta = list(range(5, 20)), 7, 11, 0.1
    policy = copy.deepcopy(model)
    with torch.no_grad():
        policy.model.layers[-1].mlp.down_proj.weight.add_(
            0.05 * torch.randn_like(policy.model.layers[-1].mlp.down_proj.weight)
        )
    head = method.TopHead(policy, 1)
    with torch.no_grad():
        ref = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)
        ours = method.dpo_pair_loss(head(method.prefix_hidden(policy, ids, 1)), ref, pos, neg, beta)
        batch = collate_preferences([{"prompt_ids": ids, "chosen_ids": [pos], "rejected_ids": [neg]}], 0)
        engine = dpo_batch_loss(policy, batch, beta, ref_model=model)[0]
    assert abs(ours.item() - engine.item()) < 1e-5 and abs(ours.item() - math.log(2)) > 1e-5
    assert abs(method.dpo_pair_loss(ref, ref, pos, neg, beta).item() - math.log(2)) < 1e-7


def test_theorem1_term_and_uf_rate_by_hand():
    W = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1])
    h = torch.tensor([2.0, 1.0])
    d = W[0] - W[1]  # (0.2, -0.6)
    by_hand = float(W[0] @ W[1]) + 0.2 * float(W[2] @ d) + 0.1 * float(W[3] @ d)
    assert method.theorem1_term(W, probs, 0, 1) == pytest.approx(by_hand)
    w_bar = probs @ W
    assert method.uf_rate(W, probs, h, 0, 1, False) == pytest.approx(float((W[0] - w_bar) @ d))
    assert method.uf_rate(W, probs, h, 0, 1, True) == pytest.approx(float((W[0] - w_bar) @ d) + (1 - 0.4 + 0.3) * 5.0)


def test_uf_rate_matches_gradient_flow_of_the_unconstrained_features_model():
    """A small gradient step on (h, W) of the single-token DPO loss moves ln pi(y+) by lr * g * uf_rate."""
    torch.manual_seed(0)
    V, d, pos, neg, beta, lr = 7, 4, 2, 5, 0.5, 1e-4
    W = torch.randn(V, d, requires_grad=True)
    h = torch.randn(d, requires_grad=True)
    ref = torch.log_softmax(W.detach() @ h.detach(), -1) - 0.3  # any reference: only g depends on it
    lp = torch.log_softmax(W @ h, -1)
    loss = method.dpo_pair_loss(lp, ref, pos, neg, beta)
    loss.backward()
    g = beta * torch.sigmoid(-beta * ((lp[pos] - ref[pos]) - (lp[neg] - ref[neg]))).item()
    probs = lp.detach().exp()
    rate = method.uf_rate(W.detach(), probs, h.detach(), pos, neg, True)
    with torch.no_grad():
        moved = torch.log_softmax((W - lr * W.grad) @ (h - lr * h.grad), -1)[pos] - lp[pos]
    assert moved.item() == pytest.approx(lr * g * rate, rel=1e-2)


def test_run_unit_trains_and_reports(lm):
    model, _ = lm
    ids = list(range(5, 25))
    head = method.TopHead(model, 1)
    init = {k: v.clone() for k, v in head.state_dict().items()}
    h_in = method.prefix_hidden(model, ids, 1)
    r = method.run_unit(
        head, init, h_in, 7, 11, sft_steps=3, sft_lr=1e-3, dpo_steps=5, dpo_lr=1e-3, beta=0.1, watch={"t3": 3}
    )
    assert r["loss_end"] < math.log(2)
    assert r["lp_neg1"] < r["lp_neg0"]
    assert -1 <= r["rho_diff"] <= 1 and -1 <= r["rho_pos"] <= 1 and "dlp_t3" in r
    r2 = method.run_unit(
        head, init, h_in, 7, 11, sft_steps=3, sft_lr=1e-3, dpo_steps=5, dpo_lr=1e-3, beta=0.1, watch={"t3": 3}
    )
    assert r2["lp_pos1"] == r["lp_pos1"]  # reset and seeded: the same unit gives the same numbers
    # a frozen unembedding stays frozen
    assert torch.count_nonzero(head.dW) == 0 and torch.equal(head.W, head.W0)


def test_null_rows_control_can_fail():
    """The claim's statistics can say 'no': a change unrelated to the direction gives rho near 0."""
    torch.manual_seed(1)
    W = torch.randn(500, 8)
    align = W @ (W[0] - W[1])
    noise = torch.randn(500)
    assert abs(method.spearman(align.numpy(), noise.numpy())) < 0.15
