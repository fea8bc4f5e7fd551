"""The invariants every KV policy must satisfy, run over all of them (a test matrix)."""

import pytest
import torch

from shared.kvcache import FullCache, HeavyHitter, KVPolicy, RandomEviction, SinkWindow

B, H, T, D = 2, 3, 40, 8


def _make(cls, budget, n_sink=2, n_recent=3):
    if cls is SinkWindow:
        return SinkWindow(budget=budget, n_sink=n_sink)
    return cls(budget=budget, n_sink=n_sink, n_recent=n_recent)


def _kv():
    g = torch.Generator().manual_seed(0)
    return torch.randn(B, H, T, D, generator=g), torch.randn(B, H, T, D, generator=g)


def _prime(policy, k):
    policy.reset()
    if policy.needs_attention:
        attn = torch.rand(B, H, 5, T, generator=torch.Generator().manual_seed(2))
        policy.observe(0, attn)


EVICTING = [SinkWindow, HeavyHitter, RandomEviction]


@pytest.mark.parametrize("cls", EVICTING)
@pytest.mark.parametrize("budget", [5, 12, 39])
def test_keep_indices_contract(cls, budget):
    k, v = _kv()
    policy = _make(cls, budget)
    _prime(policy, k)
    keep = policy.keep_indices(0, k, v)
    assert keep.shape == (B, H, budget)
    assert (keep.diff(dim=-1) > 0).all(), "sorted and unique"
    assert keep.min() >= 0 and keep.max() < T
    forced = {0, 1} | ({T - 3, T - 2, T - 1} if cls is not SinkWindow else set())
    for b in range(B):
        for h in range(H):
            assert forced <= set(keep[b, h].tolist()), "sinks and recent tokens are always kept"


@pytest.mark.parametrize("cls", EVICTING)
def test_budget_below_forced_tokens_is_refused(cls):
    with pytest.raises(ValueError):
        cls(budget=4, n_sink=2, n_recent=3)


def test_sink_window_keeps_first_and_last():
    k, v = _kv()
    keep = SinkWindow(budget=10, n_sink=4).keep_indices(0, k, v)
    assert keep[0, 0].tolist() == [0, 1, 2, 3] + list(range(T - 6, T))


def test_heavy_hitter_keeps_the_largest_accumulated_attention():
    k, v = _kv()
    policy = HeavyHitter(budget=6, n_recent=2)
    attn = torch.zeros(B, H, 1, T)
    attn[..., [5, 9, 17, 30]] = torch.tensor([0.4, 0.3, 0.2, 0.1])
    policy.observe(0, attn)
    policy.observe(0, attn)  # accumulates
    assert torch.equal(policy.acc[0][..., 5], torch.full((B, H), 0.8))
    keep = policy.keep_indices(0, k, v)
    assert keep[1, 2].tolist() == [5, 9, 17, 30, T - 2, T - 1]
    policy.evicted(0, keep)
    assert policy.acc[0].shape == (B, H, 6)
    assert torch.allclose(policy.acc[0][0, 0, :4], torch.tensor([0.8, 0.6, 0.4, 0.2]))


def test_random_eviction_is_seeded():
    k, v = _kv()
    a, b = RandomEviction(budget=8, seed=3), RandomEviction(budget=8, seed=3)
    a.reset(), b.reset()
    assert torch.equal(a.keep_indices(0, k, v), b.keep_indices(0, k, v))


def test_per_layer_budgets():
    p = SinkWindow(budget=[6, 10], n_sink=2)
    assert p.layer_budget(0) == 6 and p.layer_budget(1) == 10


@pytest.mark.parametrize("policy", [FullCache(), SinkWindow(budget=8, n_sink=3), SinkWindow(budget=8, n_sink=0)])
def test_static_masks(policy):
    m = policy.static_mask(20)
    assert m.dtype == torch.bool and not m.triu(1).any(), "causal"
    assert m.diagonal().all(), "every token sees itself"
    budget = policy.budget or 20
    assert (m.sum(1) <= budget + 1).all(), "at most the budget plus the query itself"
    if policy.n_sink:
        assert m[:, : policy.n_sink].tril().equal(torch.ones(20, policy.n_sink, dtype=torch.bool).tril())


def test_dynamic_policy_has_no_static_mask():
    with pytest.raises(NotImplementedError):
        HeavyHitter(budget=8).static_mask(10)
    assert not KVPolicy.is_static
