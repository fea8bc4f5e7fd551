"""Tests of papers.sstoken_2025.method: known answers of the scores and masks, invariants of the task, and, for each
deciding measurement, that the claim's rule can say *not reproduced* on a null input."""

import math

import numpy as np
import pytest
import torch

from papers.sstoken_2025 import method
from papers.sstoken_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims

TASK = method.NoisySFT()


def test_minmax_and_topk_known_answers():
    x = torch.tensor([[9.0, 1.0, 3.0, 5.0, 2.0]])
    mask = torch.tensor([[False, True, True, True, False]])
    assert torch.allclose(method.minmax_rows(x, mask), torch.tensor([[0.0, 0.0, 0.5, 1.0, 0.0]]), atol=1e-6)
    keep = method.topk_mask(x, mask, 0.6)  # ceil(0.6 * 3) = 2 of the masked positions: 5 and 3, never the 9
    assert keep.tolist() == [[False, False, True, True, False]]
    assert method.topk_mask(x, mask, 1.0).tolist() == mask.tolist()


def test_prompt_attention_known_answer():
    att = torch.zeros(1, 2, 3, 3)
    att[0, :, 2] = torch.tensor([0.5, 0.25, 0.25])
    att[0, 1, 2] = torch.tensor([0.0, 0.0, 1.0])
    assert math.isclose(method.prompt_attention(att, 2)[0, 2].item(), (0.75 + 0.0) / 2)


def test_task_structure():
    b = TASK.sample(256, torch.Generator().manual_seed(1))
    kinds = b["kind"]
    assert b["input_ids"].shape == b["targets"].shape == kinds.shape
    assert ((b["targets"] == -100) == (kinds == 0)).all()
    layout = torch.tensor(TASK.layout())
    assert ((kinds[:, TASK.prompt_len - 1 :] >= 3) == (layout == 3)).all()  # answers where the layout puts them
    assert 0.15 < (kinds == 4).float().sum() / (kinds >= 3).float().sum() < 0.35
    clean = TASK.sample(64, torch.Generator().manual_seed(2), corrupt=0.0)
    x = clean["input_ids"][:, 1 : TASK.n + 1] - 2
    y = clean["targets"][clean["kind"] == 3].view(-1, TASK.n) - 2
    assert torch.equal(y, TASK.perm[x])
    pre = TASK.sample(2048, torch.Generator().manual_seed(3), pretrain=True)
    xp = pre["input_ids"][:, 1 : TASK.n + 1] - 2
    yp = pre["targets"][pre["kind"] == 3].view(-1, TASK.n) - 2
    share = (yp == xp).float().mean().item()
    assert abs(share - (TASK.pretrain_copy + (1 - TASK.pretrain_copy) / TASK.alphabet)) < 0.03


def test_model_returns_causal_attention():
    m = method.make_model(TASK, 16, 1, 2, 0)
    ids = TASK.sample(3, torch.Generator().manual_seed(0))["input_ids"]
    out = m(input_ids=ids, output_attentions=True)
    att = out.attentions[0]
    assert out.logits.shape == (*ids.shape, TASK.vocab)
    assert torch.allclose(att.sum(-1), torch.ones(1)) and (att.triu(1) == 0).all()
    ids2 = ids.clone()
    ids2[:, -1] = (ids2[:, -1] + 1) % TASK.vocab  # the future does not change the past
    assert torch.allclose(m(input_ids=ids2).logits[:, :-1], out.logits[:, :-1], atol=1e-6)


def test_selectors_keep_rho_and_score_directions():
    base = method.make_model(TASK, 16, 1, 2, 0)
    b = TASK.sample(8, torch.Generator().manual_seed(0))
    resp = b["targets"] != -100
    k = math.ceil(0.6 * len(TASK.layout()))
    for arm in ("random", "rho1", "rel", "attn", "sstoken"):
        sel = method.Selector(arm, TASK, 0.6, history=base, reference=base)
        keep, _ = sel.mask(method.make_model(TASK, 16, 1, 2, 1), b)
        assert (keep.sum(1) == k).all() and not (keep & ~resp).any()
    keep, _ = method.Selector("oracle", TASK, 0.6).mask(base, b)
    assert torch.equal(keep, resp & (b["kind"] != 4))
    # REL against itself is 0 everywhere: min-max of a constant is 0, so the mask falls back to the first positions
    sel = method.Selector("rel", TASK, 0.6, history=base)
    cur = method.frozen_losses(base, b)
    assert torch.allclose(sel.scores(cur, None, b, resp), torch.zeros(1))
    with pytest.raises(ValueError):
        method.Selector("rel", TASK, 0.6)


def test_loss_is_mean_over_kept_tokens_and_trains():
    m = method.make_model(TASK, 16, 1, 2, 0)
    b = TASK.sample(4, torch.Generator().manual_seed(0))
    sel = method.Selector("full", TASK, 0.6)
    losses = method.token_losses(m(input_ids=b["input_ids"]).logits, b["targets"])
    resp = b["targets"] != -100
    assert math.isclose(sel(m, b).item(), losses[resp].mean().item(), rel_tol=1e-5)
    assert sel.kept_share()["answer"] == 1.0
    before = method.evaluate(m, TASK, 64, 0)["answer_loss"]
    method.train_on(m, TASK, 30, 16, 1e-2, 0, loss_fn=method.Selector("oracle", TASK, 0.6))
    assert method.evaluate(m, TASK, 64, 0)["answer_loss"] < before


def _null_results(loss_arms: dict, acc_full=0.9, n=8):
    rng = np.random.default_rng(0)
    wide = {a: v * np.exp(rng.normal(0, 0.01, n)) for a, v in loss_arms.items()}
    best = np.minimum(wide["rel"], wide["attn"])
    ms = {"sstoken-beats-full": Measurement.ratio(wide["sstoken"], wide["full"]),
          "rel-beats-full": Measurement.ratio(wide["rel"], wide["full"]),
          "attn-beats-full": Measurement.ratio(wide["attn"], wide["full"]),
          "synergy": Measurement.ratio(wide["sstoken"], best),
          "sstoken-vs-reference": Measurement.ratio(wide["sstoken"], wide["rho1"])}  # fmt: skip
    arm_of = {"sstoken-beats-full": "sstoken", "rel-beats-full": "rel", "attn-beats-full": "attn",
              "synergy": "sstoken", "sstoken-vs-reference": "sstoken"}  # fmt: skip
    controls = {c: Measurement.paired_difference(wide["random"], wide[a]) for c, a in arm_of.items()}
    checks = {"noise-hurts-full-sft": Measurement.ratio(wide["oracle"], wide["full"]),
              "full-sft-learns-task": Measurement.mean(np.full(n, acc_full) + rng.normal(0, 0.01, n), bounds=(0, 1))}
    return {r["id"]: r["verdict"] for r in evaluate_claims(CLAIMS, ms, controls=controls, checks=checks)}


def test_rules_can_fail_on_null_input():
    # every selector worse than full SFT and random, no synergy, the reference much better: every claim is not reproduced
    null = {"full": 0.3, "random": 0.3, "rel": 0.33, "attn": 0.33, "sstoken": 0.33, "rho1": 0.02, "oracle": 0.01}
    verdicts = _null_results(null)
    assert set(verdicts.values()) == {"not reproduced"}, verdicts
    # the planted effect passes
    good = {"full": 0.3, "random": 0.32, "rel": 0.2, "attn": 0.25, "sstoken": 0.1, "rho1": 0.12, "oracle": 0.01}
    assert set(_null_results(good).values()) == {"reproduced"}


def test_preconditions_make_inconclusive():
    # noise that does not hurt (oracle = full): the setup cannot show the effect
    flat = {"full": 0.3, "random": 0.32, "rel": 0.2, "attn": 0.25, "sstoken": 0.1, "rho1": 0.12, "oracle": 0.3}
    assert set(_null_results(flat).values()) == {"inconclusive"}
    good = {"full": 0.3, "random": 0.32, "rel": 0.2, "attn": 0.25, "sstoken": 0.1, "rho1": 0.12, "oracle": 0.01}
    assert set(_null_results(good, acc_full=0.1).values()) == {"inconclusive"}


def test_copy_model_after_a_training_step():
    m = method.make_model(TASK, 16, 1, 2, 0)
    b = TASK.sample(2, torch.Generator().manual_seed(0))
    m(input_ids=b["input_ids"]).logits.sum().backward()
    c = method.copy_model(m)
    assert torch.equal(c(input_ids=b["input_ids"]).logits, m(input_ids=b["input_ids"]).logits)
