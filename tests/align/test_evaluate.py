"""Per-position KL and entropy between policies, and chosen/rejected likelihoods, against fp64 hand computations."""

import copy
import math

import torch

from shared.align.batches import collate_preferences
from shared.align.evaluate import per_position_divergence, preference_logps
from shared.lm.configs import make_model

V = 16


def test_kl_is_zero_for_the_same_policy_and_matches_the_formula_otherwise():
    p = make_model("micro", V, seed=0).double()
    q = make_model("micro", V, seed=1).double()
    ids = torch.randint(0, V, (2, 6), generator=torch.Generator().manual_seed(0))
    same = per_position_divergence(p, copy.deepcopy(p), ids)
    assert same["kl"].abs().max() < 1e-12
    torch.testing.assert_close(same["entropy_p"], same["entropy_q"])
    out = per_position_divergence(p, q, ids)
    lp = torch.log_softmax(p(input_ids=ids).logits[:, :-1], -1)
    lq = torch.log_softmax(q(input_ids=ids).logits[:, :-1], -1)
    b, t = 1, 3
    manual = sum(math.exp(lp[b, t, v]) * (lp[b, t, v] - lq[b, t, v]) for v in range(V))
    assert abs(out["kl"][b, t].item() - float(manual)) < 1e-12
    assert torch.all(out["kl"] >= 0) and out["kl"].shape == (2, 5)


def test_entropy_of_a_uniform_policy_is_log_v():
    model = make_model("micro", V, seed=0).double()
    with torch.no_grad():
        model.model.norm.weight.zero_()  # final hidden state 0: every logit 0
    ids = torch.randint(0, V, (1, 4), generator=torch.Generator().manual_seed(1))
    out = per_position_divergence(model, model, ids)
    torch.testing.assert_close(out["entropy_p"], torch.full((1, 3), math.log(V), dtype=torch.float64))


def test_preference_logps_sum_the_completion_tokens_only():
    model = make_model("micro", V, seed=2).double()
    batch = collate_preferences([{"prompt_ids": [1, 5, 6], "chosen_ids": [7, 8], "rejected_ids": [9]}], pad_token_id=0)
    chosen, rejected = preference_logps(model, batch)
    lp = torch.log_softmax(model(input_ids=torch.tensor([[1, 5, 6, 7, 8]])).logits, -1)
    assert abs(chosen.item() - (lp[0, 2, 7] + lp[0, 3, 8]).item()) < 1e-12
    lr = torch.log_softmax(model(input_ids=torch.tensor([[1, 5, 6, 9]])).logits, -1)
    assert abs(rejected.item() - lr[0, 2, 9].item()) < 1e-10
