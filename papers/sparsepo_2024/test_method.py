"""Tests of papers.sparsepo_2024.method (the SparsePO objective and masks) and task (pairs with known critical tokens):
reductions to plain references (DPO, TDPO), invariants, planted and null inputs."""

import math

import pytest
import torch

from papers.sparsepo_2024 import method, task
from shared.align.batches import collate_preferences, dpo_batch_loss
from shared.align.losses import preference_loss, shift_mask
from shared.lm.configs import make_model

V = task.Vocab.compact()


@pytest.fixture(scope="module")
def setup():
    g = torch.Generator().manual_seed(0)
    pairs = task.make_pairs(task.all_problems(7, 2)[:12], V, g)
    batch = collate_preferences(pairs, V.pad)
    ref = make_model("micro", V.size, seed=0, bos_token_id=V.bos, eos_token_id=V.eos, pad_token_id=V.pad).eval()
    pol = make_model("micro", V.size, seed=1, bos_token_id=V.bos, eos_token_id=V.eos, pad_token_id=V.pad).eval()
    return pairs, batch, ref, pol


def _terms(pol, ref, batch):
    full, logps, _ = method.forward_logprobs(pol, batch)
    ref_full, ref_logps, _ = method.forward_logprobs(ref, batch)
    return logps, ref_logps, method.token_kl(ref_full, full), shift_mask(batch["completion_mask"])


def test_forward_logprobs_matches_engine(setup):
    from shared.align.losses import token_logps

    _, batch, _, pol = setup
    _, logps, _ = method.forward_logprobs(pol, batch)
    assert torch.allclose(logps, token_logps(pol, batch["input_ids"], batch["attention_mask"]), atol=1e-6)


def test_unit_reward_mask_without_kl_is_dpo(setup):
    _, batch, ref, pol = setup
    logps, ref_logps, kl, mask = _terms(pol, ref, batch)
    ones, zeros = torch.ones_like(logps), torch.zeros_like(logps)
    ref_loss, stats = preference_loss(logps, ref_logps, mask, 0.1)
    for m_u, m_d in ((None, None), (ones, None), (ones, zeros)):
        loss, ours = method.sparsepo_loss(logps, ref_logps, kl, mask, 0.1, m_u, m_d)
        assert torch.allclose(loss, ref_loss, atol=1e-7)
        assert torch.allclose(ours["u"], stats["margins"], atol=1e-7)
    # and against the engine's batch loss (its own forwards)
    with torch.no_grad():
        engine, _ = dpo_batch_loss(pol, batch, 0.1, ref_model=ref)
    assert torch.allclose(loss, engine, atol=1e-6)


def test_unit_masks_are_tdpo(setup):
    _, batch, ref, pol = setup
    logps, ref_logps, kl, mask = _terms(pol, ref, batch)
    loss, _ = method.sparsepo_loss(logps, ref_logps, kl, mask, 0.2, torch.ones_like(logps), torch.ones_like(logps))
    # TDPO1 by hand, one pair at a time
    n = batch["input_ids"].shape[0] // 2
    per = []
    for i in range(n):
        w, lo = mask[i].bool(), mask[n + i].bool()
        u = 0.2 * ((logps[i] - ref_logps[i])[w].sum() - (logps[n + i] - ref_logps[n + i])[lo].sum())
        delta = 0.2 * (kl[n + i][lo].sum() - kl[i][w].sum())
        per.append(-math.log(1 / (1 + math.exp(-(u - delta).item()))))
    assert abs(loss.item() - sum(per) / n) < 1e-5


def test_zero_masks_give_log2_and_masked_tokens_do_not_count(setup):
    _, batch, ref, pol = setup
    logps, ref_logps, kl, mask = _terms(pol, ref, batch)
    z = torch.zeros_like(logps)
    loss, _ = method.sparsepo_loss(logps, ref_logps, kl, mask, 0.1, z, z)
    assert abs(loss.item() - math.log(2)) < 1e-7
    bad = logps.clone()
    bad[~mask.bool()] = float("-inf")  # garbage outside the response must not leak
    loss2, _ = method.sparsepo_loss(bad, ref_logps, kl, mask, 0.1, torch.ones_like(z), torch.ones_like(z))
    loss1, _ = method.sparsepo_loss(logps, ref_logps, kl, mask, 0.1, torch.ones_like(z), torch.ones_like(z))
    assert torch.isfinite(loss2) and torch.allclose(loss1, loss2)


def test_token_kl_nonnegative_and_zero_at_reference(setup):
    _, batch, ref, pol = setup
    full, _, _ = method.forward_logprobs(pol, batch)
    ref_full, _, _ = method.forward_logprobs(ref, batch)
    assert (method.token_kl(ref_full, full) >= -1e-6).all()
    assert method.token_kl(ref_full, ref_full).abs().max() < 1e-6


def test_mask_head_starts_at_tdpo_and_gets_gradients(setup):
    _, batch, ref, pol = setup
    head = method.MaskHead(pol.config.hidden_size, seed=0)
    mp = method.MaskedPolicy(pol, head)
    l_sp, st = method.batch_loss(mp, ref, batch, 0.1, "sparsepo")
    l_td, _ = method.batch_loss(pol, ref, batch, 0.1, "tdpo")
    assert abs(l_sp.item() - l_td.item()) < 0.02  # masks ~1 at initialisation
    mask = shift_mask(batch["completion_mask"]).bool()
    assert ((st["m_u"][mask] - 1).abs() < 0.2).all()
    l_sp.backward()
    assert head.proj.weight.grad is not None and head.proj.weight.grad.abs().sum() > 0
    # a negative pre-activation is an exact zero: the ReLU's sparsity
    with torch.no_grad():
        head.proj.bias.fill_(-5.0)
    m_u, m_d = head(torch.randn(2, 5, pol.config.hidden_size) * 0.01)
    assert (m_u == 0).all() and (m_d == 0).all()
    two = method.MaskHead(pol.config.hidden_size, n_masks=2, seed=0)
    with torch.no_grad():
        two.proj.bias.copy_(torch.tensor([1.0, -5.0]))
    m_u, m_d = two(torch.zeros(1, 4, pol.config.hidden_size))
    assert (m_u == 1).all() and (m_d == 0).all()


def test_activation_mask_range_and_zero_outside(setup):
    _, batch, ref, _ = setup
    _, _, hs = method.forward_logprobs(ref, batch, hidden=True)
    mask = shift_mask(batch["completion_mask"])
    m = method.activation_mask(hs, mask)
    assert (m >= 0).all() and (m <= 1 + 1e-6).all()
    assert (m[~mask.bool()] == 0).all()
    # with one block, min-max normalisation puts an exact 0 and an exact 1 in every row
    m1 = method.activation_mask(hs[:2], mask)
    for i in range(m1.shape[0]):
        vals = m1[i][mask[i].bool()]
        assert vals.min() == 0 and abs(vals.max() - 1) < 1e-6


def test_permute_and_place_masks():
    g = torch.Generator().manual_seed(0)
    rows = [[0.0, 0.5, 1.0, 2.0], [0.0, 0.0, 3.0]]
    perm = method.permute_masks(rows, g)
    assert [sorted(r) for r in perm] == [sorted(r) for r in rows]
    mask = torch.tensor([[0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 0]])
    t = method.masks_to_tensor(rows, mask)
    assert t[0].tolist() == [0, 0, 0.5, 1, 2, 0] and t[1].tolist() == [0, 0, 0, 0, 3, 0]
    with pytest.raises(ValueError):
        method.masks_to_tensor([[1.0]], mask[:1])


def test_auroc_planted_and_null():
    pos = torch.tensor([[0, 1, 0, 1, 0]])
    mask = torch.ones(1, 5)
    assert method.auroc_rows(torch.tensor([[0.1, 0.9, 0.2, 0.8, 0.0]]), pos, mask).item() == 1.0
    assert method.auroc_rows(torch.tensor([[0.9, 0.1, 0.8, 0.0, 0.7]]), pos, mask).item() == 0.0
    assert method.auroc_rows(torch.ones(1, 5), pos, mask).item() == 0.5
    assert math.isnan(method.auroc_rows(torch.ones(1, 5), torch.zeros(1, 5), mask).item())


def test_pair_metrics_at_reference(setup):
    _, batch, ref, _ = setup
    m = method.pair_metrics(ref, ref, batch, 0.1)
    assert m["margin"].abs().max() < 1e-6 and m["kl_w"].abs().max() < 1e-5 and m["dlogp_w"].abs().max() < 1e-6


# the task


def test_pairs_differ_exactly_at_the_critical_tokens():
    g = torch.Generator().manual_seed(1)
    pairs = task.make_pairs(task.all_problems(7, 2)[::7], V, g)
    ks = set()
    for p in pairs:
        c, r, crit = p["chosen_ids"], p["rejected_ids"], p["critical"]
        diff = [i for i, (a, b) in enumerate(zip(c, r)) if a != b]
        assert diff == crit and 1 <= len(crit) <= 3 and len(c) == len(r) == 7
        assert c == task.response_ids(task.running_sums(p["terms"]), V)
        assert all(0 <= x <= task.MAX_SUM for x in r[:-1]) and r[-1] == V.eos
        ks.add(len(crit))
    assert ks == {1, 2, 3}
    b = collate_preferences(pairs[:9], V.pad)
    cm = task.critical_mask(pairs[:9], b)
    tgt = b["input_ids"][:, 1:]
    n = 9
    assert torch.equal((tgt[:n] != tgt[n:]) & shift_mask(b["completion_mask"])[:n].bool(), cm[:n].bool())
    assert torch.equal(cm[:n], cm[n:])


def test_split_and_sft_batch():
    test, pool = task.split_problems(7, 2, 100, torch.Generator().manual_seed(3))
    assert len(test) == 100 and len(test) + len(pool) == 3**7 and not set(test) & set(pool)
    b = task.sft_batch([(1, 2, 0, 1, 2, 2, 1)], V)
    kept = b["targets"][0][b["targets"][0] != -100].tolist()
    assert kept == task.response_ids([3, 3, 4, 6, 8, 9], V)
    assert V.size == task.MAX_SUM + 6 and len({*V.num, V.plus, V.eq, V.bos, V.eos, V.pad}) == V.size


def test_claim_rules_can_fail():
    from papers.sparsepo_2024.claims import CLAIMS
    from shared.claims import Measurement

    for c in CLAIMS:
        lo = c.rule.bars()[0]
        null = Measurement.mean([lo - 1.0, lo - 1.1, lo - 0.9, lo - 1.05, lo - 0.95], n_unit="seeds")
        ok = {p.id: Measurement.mean([0.7, 0.71, 0.72, 0.7, 0.69], n_unit="seeds") for p in c.preconditions}
        for k in ("similar-kl", "similar-kl-tdpo"):
            ok[k] = Measurement.mean([1.0, 1.01, 0.99, 1.0, 1.02], n_unit="seeds")
        pos = Measurement.mean([0.1, 0.11, 0.09, 0.1, 0.12], n_unit="seeds") if c.control is not None else None
        assert c.evaluate(null, pos, checks=ok)["verdict"] == "not reproduced", c.id
        if c.control is not None:  # a method that ties its control is not reproduced either
            good = Measurement.mean([lo + 0.2, lo + 0.21, lo + 0.19, lo + 0.2, lo + 0.22], n_unit="seeds")
            tie = Measurement.mean([-0.01, 0.01, 0.0, -0.02, 0.02], n_unit="seeds")
            assert c.evaluate(good, tie, checks=ok)["verdict"] != "reproduced", c.id
