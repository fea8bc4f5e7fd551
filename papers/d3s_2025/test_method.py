"""Tests of papers.d3s_2025.method: known answers, invariants, and null inputs on which the deciding measurements say
*not reproduced*."""

import itertools

import numpy as np
import pytest
import torch

from papers.d3s_2025 import method
from papers.d3s_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims

RULES = {c.id: c for c in CLAIMS}


def test_max_variance_subset_is_brute_force():
    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        vals = torch.randn(7, generator=g)
        for m in (2, 3, 5):
            best = max(np.var(vals[list(c)].numpy()) for c in itertools.combinations(range(7), m))
            got = method.subset_variance(vals[method.max_variance_subset(vals, m)])
            assert got == pytest.approx(best, abs=1e-6)


def test_binary_rewards_select_balanced_subset():
    rewards = torch.tensor([1.0, 0, 0, 0, 0, 1, 0, 0])
    adv = method.group_advantages(rewards, 8)
    pick = method.max_variance_subset(adv, 4)
    assert sorted(rewards[pick].tolist()) == [0, 0, 1, 1]  # both successes and two failures


def test_max_variance_subset_bounds():
    with pytest.raises(ValueError):
        method.max_variance_subset(torch.zeros(4), 5)
    assert method.max_variance_subset(torch.zeros(4), 4) == [0, 1, 2, 3]


def test_top_tokens_respects_mask_and_count():
    scores = method.token_scores(torch.tensor([1.0, -2.0]), torch.tensor([[0.5, 0.1, 0.9], [0.2, 0.3, 0.0]]),
                                 torch.tensor([[1, 1, 1], [1, 1, 0]]))  # fmt: skip
    keep = method.top_tokens(scores, 3)
    # |A| x H: row 0 = 0.5, 0.1, 0.9; row 1 = 0.4, 0.6, masked
    assert keep.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert method.top_tokens(scores, 10).sum() == 5  # never a masked token


def test_schedule_and_counts():
    assert method.keep_fraction(0, 11, 0.5, 1.0) == 0.5
    assert method.keep_fraction(10, 11, 0.5, 1.0) == 1.0
    assert method.keep_fraction(5, 11, 0.5, 1.0) == pytest.approx(0.75)
    assert method.counts(8, 40, 0.5, 0.5) == (4, 20)
    assert method.counts(8, 40, 0.1, 0.0) == (2, 1)  # at least a pair per group and one token


def _batch(n_groups=3, g=4, c=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    rewards = (torch.rand(n_groups * g, generator=gen) < 0.5).float()
    mask = torch.ones(n_groups * g, c, dtype=torch.long)
    mask[0, -1] = 0
    return {"prompt_ids": torch.randint(0, 50, (n_groups * g, 2), generator=gen),
            "prompt_mask": torch.ones(n_groups * g, 2, dtype=torch.long),
            "completion_ids": torch.randint(0, 50, (n_groups * g, c), generator=gen), "completion_mask": mask,
            "rewards": rewards, "advantages": method.group_advantages(rewards, g),
            "entropy": torch.rand(n_groups * g, c, generator=gen) * mask, "group_size": g}  # fmt: skip


def test_downsample_all_is_identity_and_arms_match_counts():
    b = _batch()
    full = method.downsample(b, "all", 0.5, 0.5)
    assert full["kept_rollouts"] == 12 and full["kept_tokens"] == int(b["completion_mask"].sum())
    assert torch.equal(full["token_weights"], b["completion_mask"].float())
    d = method.downsample(b, "d3s", 0.5, 0.5)
    r = method.downsample(b, "random", 0.5, 0.5, torch.Generator().manual_seed(1))
    assert d["kept_rollouts"] == r["kept_rollouts"] == 6
    assert d["kept_tokens"] == r["kept_tokens"] == int(d["token_weights"].sum())
    assert (d["token_weights"] <= d["completion_mask"]).all() and (r["token_weights"] <= r["completion_mask"]).all()
    with pytest.raises(ValueError):
        method.downsample(b, "other", 0.5, 0.5)


class _Tiny(torch.nn.Module):
    """A bigram LM: logits of the next token from the current one (enough for gradients of the GRPO loss)."""

    def __init__(self, vocab=50):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, vocab)

    def forward(self, input_ids, attention_mask=None, use_cache=False, **kw):
        return type("Out", (), {"logits": self.emb(input_ids)})()


def test_policy_grad_norm_zero_without_signal():
    b = _batch()
    b["advantages"] = torch.zeros_like(b["advantages"])
    model = _Tiny()
    batch = {k: x for k, x in method.downsample(b, "all", 1, 1).items() if not k.startswith("kept")}
    assert method.policy_grad_norm(model, batch) == 0.0


def test_balanced_subset_has_larger_gradient_on_average():
    """The theorem's direction on a toy: over random batches the max-Var(A) subset's gradient norm exceeds the mean
    of random subsets' norms."""
    torch.manual_seed(0)
    model = _Tiny()
    ratios = []
    for s in range(20):
        b = _batch(n_groups=4, g=8, c=3, seed=s)
        strip = lambda d: {k: x for k, x in d.items() if not k.startswith("kept")}  # noqa: E731
        nd = method.policy_grad_norm(model, strip(method.downsample(b, "d3s", 0.5, 1.0)))
        gen = torch.Generator().manual_seed(s)
        nr = np.mean([method.policy_grad_norm(model, strip(method.downsample(b, "random", 0.5, 1.0, gen)))
                      for _ in range(4)])  # fmt: skip
        if nr > 0:
            ratios.append(nd / nr)
    assert np.exp(np.mean(np.log(ratios))) > 1.0


def _judge(claim_id, measurement, control, checks):
    return evaluate_claims([RULES[claim_id]], {claim_id: measurement}, controls={claim_id: control},
                           checks=checks)[0]  # fmt: skip


GRAD_CHECKS = {"sft-middling": Measurement.proportion(900, 2000, n_unit="held-out problems"),
               "groups-with-signal": Measurement.mean([0.5] * 10, n_unit="batches", bounds=(0, 1))}  # fmt: skip


def test_gradient_norm_rule_can_fail():
    """A selection with smaller norms than random (a null or worse) says not reproduced."""
    sel, rnd = [1.0, 0.9, 0.8, 0.95, 0.85, 0.9], [1.2, 1.1, 1.0, 1.2, 1.1, 1.15]
    r = _judge("larger-gradient-norm", Measurement.ratio(sel, rnd, n_unit="batches"),
               Measurement.paired_difference(sel, rnd, n_unit="batches"), GRAD_CHECKS)  # fmt: skip
    assert r["verdict"] == "not reproduced"


def test_token_rule_can_fail():
    d = [-0.05, -0.04, -0.06, -0.05, -0.03, -0.04]
    m = Measurement.paired_difference([0.5 + x for x in d], [0.5] * 6, n_unit="batches")
    assert _judge("token-selection-keeps-gradient", m, m, GRAD_CHECKS)["verdict"] == "not reproduced"


def test_training_rule_can_fail():
    base = [0.45, 0.5, 0.4, 0.48, 0.42]
    grpo = [0.6, 0.62, 0.55, 0.6, 0.58]
    d3s = [0.5, 0.52, 0.47, 0.5, 0.49]  # ~10 points below GRPO
    checks = {"sft-middling": Measurement.proportion(900, 2000, n_unit="held-out problems"),
              "enough-seeds-beats-grpo": Measurement.exact(80, unit="seeds"),
              "grpo-learns": Measurement.paired_difference(grpo, base, n_unit="seeds"),
              "d3s-fewer-tokens": Measurement.mean([0.6] * 5, n_unit="seeds")}  # fmt: skip
    r = _judge("beats-grpo-fewer-tokens", Measurement.paired_difference(d3s, grpo, n_unit="seeds"),
               Measurement.paired_difference(d3s, d3s, n_unit="seeds"), checks)  # fmt: skip
    assert r["verdict"] == "not reproduced"
