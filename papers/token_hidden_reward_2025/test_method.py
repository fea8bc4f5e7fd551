"""Tests of papers.token_hidden_reward_2025.method: the fast THR against the pairwise reference and against autograd
gradients of the unembedding, THR as the first-order change of the correct responses' log-likelihood, the threshold
and weights, the random control's counts, the batched sampler, and null inputs on which the claims' rules say
*not reproduced*."""

import pytest
import torch

from papers.token_hidden_reward_2025 import claims, method
from shared.align.losses import group_advantages
from shared.claims import Measurement
from shared.lm.configs import make_model

V, D, G = 40, 16, 4


@pytest.fixture(scope="module")
def toy():
    """Random hidden states, distributions and tokens for 2 groups of 4 (one group mixed, one all wrong)."""
    gen = torch.Generator().manual_seed(0)
    b, c = 2 * G, 3
    h = torch.randn(b, c, D, generator=gen, dtype=torch.float64)
    w = torch.randn(V, D, generator=gen, dtype=torch.float64) * 0.3
    q = torch.softmax(h @ w.T, dim=-1)
    tokens = torch.randint(0, V, (b, c), generator=gen)
    mask = torch.ones(b, c, dtype=torch.long)
    mask[1, 2] = 0
    rewards = torch.tensor([1.0, 0, 1, 0, 0, 0, 0, 0], dtype=torch.float64)
    adv = group_advantages(rewards, G).double()
    return h, w, q, tokens, mask, adv, rewards


def test_fast_equals_reference(toy):
    h, _, q, tokens, mask, adv, rewards = toy
    fast = method.thr_fast(h, q, tokens, mask, adv, rewards, G)
    ref = method.thr_reference(h, q, tokens, mask, adv, rewards, G)
    assert torch.allclose(fast, ref, atol=1e-10)
    assert fast[G:].abs().max() == 0  # the all-wrong group: no correct response, no THR
    assert fast[1, 2] == 0  # masked token


def test_thr_is_inner_product_of_unembedding_gradients(toy):
    """THR_t = A_t <grad_W log pi(y_t), sum_{correct} grad_W log pi(y_ik)> with the hidden states held fixed."""
    h, w, q, tokens, mask, adv, rewards = toy
    fast = method.thr_fast(h, q, tokens, mask, adv, rewards, G)

    def grad(i, k):
        wv = w.clone().requires_grad_(True)
        torch.log_softmax(h[i, k] @ wv.T, -1)[tokens[i, k]].backward()
        return wv.grad

    correct = sum(grad(i, k) for i in range(G) if rewards[i] > 0 for k in range(3) if mask[i, k])
    for j in range(G):
        for t in range(3):
            if mask[j, t]:
                expect = adv[j] * (grad(j, t) * correct).sum()
                assert torch.isclose(fast[j, t], expect, atol=1e-10)


def test_sum_of_thr_predicts_the_change_of_correct_loglik(toy):
    """A small gradient step on W of sum_t A_t log pi(y_t) moves the correct responses' summed log-likelihood by
    eta * sum_t THR_t to first order."""
    h, w, q, tokens, mask, adv, rewards = toy
    thr = method.thr_fast(h, q, tokens, mask, adv, rewards, G)

    def loglik(wm, rows, weights):
        lp = torch.log_softmax(h[rows] @ wm.T, -1).gather(-1, tokens[rows].unsqueeze(-1)).squeeze(-1)
        return (lp * mask[rows] * weights).sum()

    rows = torch.arange(G)
    wv = w.clone().requires_grad_(True)
    loglik(wv, rows, adv[rows].unsqueeze(1)).backward()
    eta = 1e-6
    corr = rows[rewards[rows] > 0]
    ones = torch.ones(len(corr), 1, dtype=torch.float64)
    change = loglik(w + eta * wv.grad, corr, ones) - loglik(w, corr, ones)
    assert torch.isclose(change / eta, thr[rows].sum(), rtol=1e-4)


def test_dominant_weights_and_random_control(toy):
    h, _, q, tokens, mask, adv, rewards = toy
    thr = method.thr_fast(h, q, tokens, mask, adv, rewards, G)
    dom = method.dominant_mask(thr, mask, rewards, G)
    assert not dom[G:].any() and not dom[1, 2]
    tau = max(min(thr[i][mask[i].bool()].mean() for i in (0, 2)).item(), 0.0)
    assert torch.equal(dom[:G], (thr[:G].abs() > tau) & mask[:G].bool() & (thr[:G] != 0))
    w = method.thr_weights(thr, dom, 0.5)
    assert torch.equal(w[dom & (thr > 0)], torch.full_like(w[dom & (thr > 0)], 1.5))
    assert torch.equal(w[dom & (thr < 0)], torch.full_like(w[dom & (thr < 0)], 0.5))
    assert (w[~dom] == 1).all()
    assert torch.equal(method.thr_weights(thr, dom, 0.0), torch.ones_like(w))
    r = method.random_weights(thr, dom, mask, G, 0.5, torch.Generator().manual_seed(1))
    for val in (1.5, 0.5):
        assert int((r[:G] == val).sum()) == int((w[:G] == val).sum())
    assert (r[1, 2] == 1) and (r[G:] == 1).all()  # never on a masked token or another group


def test_top_share():
    assert method.top_share(torch.ones(100), 0.1) == pytest.approx(0.1)
    assert method.top_share(torch.tensor([10.0] + [0.0] * 9), 0.1) == pytest.approx(1.0)
    assert method.top_share(torch.tensor([-3.0, 1.0, 0.0, 0.0]), 0.25) == pytest.approx(0.75)


def test_features_and_batched_sampler_on_a_model():
    from shared.align import arith

    model = make_model("micro", 64, seed=0).eval()
    v = arith.Vocab(num=tuple(range(10, 31)), plus=3, eq=4, bos=1, eos=2, pad=0)
    batch = {"prompt_ids": torch.tensor([[1, 11, 3, 12, 4]] * 2), "prompt_mask": torch.ones(2, 5, dtype=torch.long),
             "completion_ids": torch.tensor([[13, 2], [14, 2]]), "completion_mask": torch.ones(2, 2, dtype=torch.long)}
    h, q = method.completion_features(model, batch)
    logits = model(input_ids=torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)).logits
    assert torch.allclose(h @ model.lm_head.weight.T, logits[:, 4:6], atol=1e-5)  # h is what lm_head reads
    assert torch.allclose(q.sum(-1), torch.ones(2, 2))
    # the batched sampler counts correct responses: a model that always writes the answer gets n of n
    problems = [(1, 2), (0, 3)]

    class Oracle(torch.nn.Module):
        def forward(self, input_ids, past_key_values=None, use_cache=True, **_):
            n = input_ids.shape[0]
            step = 0 if past_key_values is None else past_key_values + 1
            logits = torch.full((n, input_ids.shape[1], 64), -1e9)
            logits[:, -1, 13 if step == 0 else 2] = 0.0  # " 3" then EOS: right for both problems (1+2, 0+3)
            return type("O", (), {"logits": logits, "past_key_values": step})()

    assert method.sample_correct_batched(Oracle(), problems, v, 5, torch.Generator().manual_seed(0)) == [5, 5]


def test_rules_can_say_not_reproduced():
    """Null inputs: uniform |THR| (top 10% carry 10%), no gain over GRPO, THR no better than its random control."""
    by_id = {c.id: c for c in claims.CLAIMS}
    uniform = Measurement.mean([0.1, 0.11, 0.1, 0.09, 0.1], n_unit="seeds", bounds=(0.0, 1.0))
    assert by_id["thr-concentrated"].rule.judge(uniform)[0] == "not reproduced"
    worse = Measurement.paired_difference([0.5, 0.52, 0.48, 0.5, 0.51], [0.55, 0.56, 0.55, 0.54, 0.56], n_unit="seeds")
    for cid in ("thr-plus-greedy", "thr-minus-passk"):
        assert by_id[cid].rule.judge(worse)[0] == "not reproduced"
        assert by_id[cid].control.check(worse)["beaten"] is False
