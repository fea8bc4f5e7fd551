"""The invariants every KV policy must satisfy, run over all of them (a test matrix)."""

import pytest
import torch

from shared.kvcache import POLICIES, FullCache, HeavyHitter, KVPolicy, RandomEviction, SinkWindow, TokenSelect

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


# selection policies keep the whole cache and choose per query: their contract is `select_mask`, not `keep_indices`
Hq = 6  # query heads: two per key-value head


def _qk(Q=T, seed=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, Hq, Q, D, generator=g), torch.randn(B, H, T, D, generator=g)


@pytest.mark.parametrize("budget", [5, 12, 39])
@pytest.mark.parametrize("threshold", [None, 0.2])
@pytest.mark.parametrize("fast", [True, False])
def test_select_mask_contract(budget, threshold, fast):
    q, k = _qk()
    policy = TokenSelect(budget=budget, n_sink=2, n_recent=3, threshold=threshold, fast=fast)
    policy.reset()
    mask = policy.select_mask(0, q, k, 0.5)  # [B, Q, T], the queries are positions 0..T-1
    assert mask.shape == (B, T, T) and mask.dtype == torch.bool
    assert not mask.triu(1).any(), "causal"
    assert mask.diagonal(dim1=1, dim2=2).all(), "every query reads itself"
    assert (mask.sum(-1) <= budget + 1).all(), "at most the budget plus the query itself"
    for t in range(T):
        if t <= budget:
            assert mask[:, t, : t + 1].all(), "a past that fits in the budget is read whole"
        else:
            assert mask[:, t, :2].all() and mask[:, t, t - 3 : t + 1].all(), "sinks and recent tokens are always read"
            assert (mask[:, t].sum(-1) == budget + 1).all() or threshold is not None


@pytest.mark.parametrize("threshold", [None, 0.1, -1.0])
def test_select_mask_fast_equals_reference_rows(threshold):
    q, k = _qk()
    fast, ref = (TokenSelect(budget=10, n_sink=2, n_recent=3, threshold=threshold, fast=f) for f in (True, False))
    fast.reset(), ref.reset()
    assert torch.equal(fast.select_mask(1, q, k, 0.3), ref.select_mask(1, q, k, 0.3))
    assert fast.counts == ref.counts


def test_selection_cache_reuse_extremes():
    q, k = _qk()
    always, never = (
        TokenSelect(budget=10, n_recent=3, threshold=-1.0),
        TokenSelect(budget=10, n_recent=3, threshold=1.5),
    )
    for p in (always, never):
        p.reset()
        p.select_mask(0, q, k, 0.3)
    selecting = T - 1 - 10  # rows t = 11..T-1 select
    assert always.counts["selected"] == B and always.counts["reused"] == B * (selecting - 1)
    assert never.counts["reused"] == 0 and never.stats()["reuse"] == 0.0
    # reused rows read the first selection's top-k: the non-forced part of their masks is identical
    mask = TokenSelect(budget=10, n_recent=3, threshold=-1.0).select_mask(0, q, k, 0.3)
    first, last = mask[:, 11, 4 : 11 - 3], mask[:, T - 1, 4 : 11 - 3]
    assert torch.equal(first, last)


def test_soft_vote_normalises_each_head():
    # head 0 has huge logits, head 1 small ones: summing raw logits would follow head 0 alone; the soft vote gives
    # each head one unit of probability, so two heads that agree on token 2 outvote head 0's favourite, token 1
    keys = torch.eye(4)[None, None].expand(1, 1, 4, 4)  # [B=1, Hkv=1, T=4, D=4], key j = e_j
    query = torch.tensor([[[0.0, 50.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0], [0.0, 0.0, 3.0, 0.0]]])  # [1, Hq=3, D]
    vote = TokenSelect.criticality(query, keys, torch.tensor([True] * 4), 1.0)
    assert (query[0] @ keys[0, 0].T).sum(0).argmax() == 1
    assert vote.argmax() == 2 and vote.sum().item() == pytest.approx(3.0)
    assert TokenSelect.criticality(query, keys, torch.tensor([True, False, True, True]), 1.0)[0, 1] == 0


def test_token_select_evicts_nothing_and_is_registered():
    k, v = _kv()
    assert TokenSelect(budget=24).keep_indices(0, k, v).shape == (B, H, T)
    assert POLICIES["token_select"] is TokenSelect and TokenSelect.is_selection and not SinkWindow.is_selection
    with pytest.raises(ValueError):
        TokenSelect(budget=4, n_sink=2, n_recent=3)


@pytest.mark.parametrize("threshold", [None, 0.2, -1.0])
def test_decoding_fast_path_equals_reference_rows(threshold):
    # one decoding query per step against a growing cache: the sliced, grouped fast path (`select_slots`) must read
    # exactly the slots of the reference row and make the same reuse decisions
    q, k = _qk()
    fast, ref = (TokenSelect(budget=10, n_sink=2, n_recent=3, threshold=threshold, fast=f) for f in (True, False))
    for t in range(T):
        one_q, cache = q[:1, :, t : t + 1], k[:1, :, : t + 1]
        want = ref.select_row(0, one_q[:, :, 0], cache, t, 0.3)[0].nonzero().flatten()
        got = fast.select_slots(0, one_q, cache, 0.3)
        assert torch.equal(want, torch.arange(t + 1) if got is None else got), f"step {t}"
    assert fast.counts == ref.counts and (threshold != -1.0 or fast.stats()["reuse"] > 0.9)
