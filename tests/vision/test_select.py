"""The selection units of `shared.vision`: one contract for all, known answers for each, fast paths = references."""

import math

import pytest
import torch

import shared.vision.entropy  # noqa: F401  (registers token_entropy, so the contract always covers it)
from shared.vision import (
    SELECTORS,
    BipartiteMerge,
    CLSAttention,
    KCenter,
    MMRSelect,
    PageRank,
    RandomSelect,
    Selection,
    SpatialDownsample,
    TokenContext,
    ZeroTPrune,
    build_selector,
    n_keep_for,
)
from shared.vision.select import (
    apply_selection,
    best_match_fast,
    best_match_reference,
    pagerank_fast,
    pagerank_reference,
)


def random_context(B=2, N=16, D=8, H=3, seed=0, dtype=torch.float64) -> TokenContext:
    g = torch.Generator().manual_seed(seed)
    attn = torch.rand(B, H, N + 1, N + 1, generator=g, dtype=dtype).softmax(dim=-1)
    return TokenContext(hidden=torch.randn(B, N, D, generator=g, dtype=dtype), attn=attn,
                        keys=torch.randn(B, N, D, generator=g, dtype=dtype), grid=(4, N // 4))  # fmt: skip


@pytest.mark.parametrize("name", sorted(SELECTORS))
@pytest.mark.parametrize("n_keep", [16, 9, 4, 1])
def test_contract(name, n_keep):
    # every unit: K sorted unique indices per image, deterministic, and a merge map that points into the kept slots.
    # Hidden size 12: a multiple of 6, the head count TokenEntropy folds each token into (DINOv2-S: 384 = 6 x 64)
    ctx = random_context(D=12)
    unit = build_selector(name)
    sel = unit.select(ctx, n_keep)
    assert sel.keep.shape == (2, n_keep)
    assert (sel.keep.diff(dim=-1) > 0).all()
    assert torch.equal(sel.keep, unit.select(ctx, n_keep).keep)
    if sel.merge_into is not None:
        assert sel.merge_into.shape == (2, 16)
        assert ((sel.merge_into >= -1) & (sel.merge_into < n_keep)).all()
        # a kept token stays in its own slot
        for b in range(2):
            assert torch.equal(sel.merge_into[b, sel.keep[b]], torch.arange(n_keep))
    out, size = apply_selection(ctx.hidden, sel)
    assert out.shape == (2, n_keep, 12) and size.shape == (2, n_keep)
    if sel.merge_into is not None and (sel.merge_into >= 0).all():
        assert torch.allclose(size.sum(dim=-1), torch.full((2,), 16.0, dtype=size.dtype))


def test_n_keep_for():
    assert n_keep_for(0.3, 70) == 21 and n_keep_for(0.5, 64) == 32 and n_keep_for(0.01, 64) == 1
    assert n_keep_for(1.0, 64) == 64
    with pytest.raises(ValueError):
        n_keep_for(0.0, 64)


def test_cls_attention_known_answer():
    ctx = random_context(B=1, N=8, H=2)
    attn = ctx.attn.clone()
    attn[:, :, 0] = 0.0
    attn[:, 0, 0, 1 + 5] = 1.0  # head 0's CLS looks only at patch 5, head 1's only at patch 2 (twice less in sum)
    attn[:, 1, 0, 1 + 2] = 0.5
    attn[:, 1, 0, 0] = 0.5
    ctx.attn = attn
    assert CLSAttention().select(ctx, 2).keep.tolist() == [[2, 5]]
    assert CLSAttention().score(ctx).argmax().item() == 5


def test_pagerank_known_stationary_distribution():
    # a two-state chain: from state 0 go to 1 with prob a, from 1 to 0 with prob b; s <- A^T s is the stationary
    # iteration, whose limit is (b, a) / (a + b)
    a, b = 0.2, 0.6
    A = torch.tensor([[1 - a, a], [b, 1 - b]], dtype=torch.float64).view(1, 1, 2, 2)
    for fn in (pagerank_fast, pagerank_reference):
        s = fn(A, 200)[0, 0]
        assert torch.allclose(s, torch.tensor([b, a], dtype=torch.float64) / (a + b), atol=1e-10)


def test_pagerank_hub_is_most_important():
    # every query sends half its attention to patch 3: it wins; the scores are a distribution per head
    ctx = random_context(B=1, N=10)
    attn = ctx.attn * 0.5
    attn[..., 1 + 3] += 0.5
    ctx.attn = attn
    assert PageRank().score(ctx).argmax().item() == 3
    s = pagerank_fast(ctx.attn, 30)
    assert torch.allclose(s.sum(dim=-1), torch.ones(1, 3, dtype=s.dtype))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pagerank_fast_matches_reference(seed):
    ctx = random_context(B=2, N=12, seed=seed)
    torch.testing.assert_close(pagerank_fast(ctx.attn, 7), pagerank_reference(ctx.attn, 7))
    for heads in ("rms", "mean"):
        assert torch.equal(PageRank(7, heads).select(ctx, 5).keep, PageRank(7, heads, "reference").select(ctx, 5).keep)


def test_best_match_fast_matches_reference():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(4, 5, generator=g, dtype=torch.float64)
    ref_v, ref_i = best_match_reference(a, b)
    fast_v, fast_i = best_match_fast(a[None], b[None])
    torch.testing.assert_close(fast_v[0], ref_v)
    assert torch.equal(fast_i[0], ref_i)


def test_random_is_seeded_and_uniform():
    ctx = random_context(B=1, N=16)
    assert not torch.equal(RandomSelect(seed=0).select(ctx, 8).keep, RandomSelect(seed=1).select(ctx, 8).keep)
    counts = torch.zeros(16)
    for seed in range(400):
        counts[RandomSelect(seed=seed).select(ctx, 4).keep[0]] += 1
    assert counts.min() > 60 and counts.max() < 140  # 100 expected per token


def test_downsample_known_lattice():
    # an 8 x 8 grid cut to 16 tokens: every other row and column
    ctx = TokenContext(hidden=torch.zeros(1, 64, 2), grid=(8, 8))
    sel = SpatialDownsample(merge=False).select(ctx, 16)
    rows, cols = sel.keep[0] // 8, sel.keep[0] % 8
    assert sorted(set(rows.tolist())) == [1, 3, 5, 7] or sorted(set(rows.tolist())) == [0, 2, 4, 6]
    assert len(set(cols.tolist())) == 4 and len(set(rows.tolist())) == 4
    merged = SpatialDownsample().select(ctx, 16)
    _, size = apply_selection(ctx.hidden, merged)
    assert torch.equal(size, torch.full((1, 16), 4.0))  # average pooling of 2 x 2 blocks


def test_bipartite_merge_merges_duplicates_first():
    # tokens 0 and 1 are identical (A = even, B = odd positions): a single merge must join them
    g = torch.Generator().manual_seed(0)
    keys = torch.randn(1, 8, 16, generator=g, dtype=torch.float64)
    keys[0, 0] = keys[0, 1]
    ctx = TokenContext(hidden=keys.clone(), keys=keys)
    sel = BipartiteMerge().select(ctx, 7)
    assert 0 not in sel.keep[0].tolist() and sel.merge_into[0, 0] == sel.merge_into[0, 1]
    out, size = apply_selection(ctx.hidden, sel)
    assert size.max() == 2 and size.sum() == 8


@pytest.mark.parametrize("n_keep", [12, 8, 5, 2])
def test_bipartite_merge_fast_matches_reference(n_keep):
    ctx = random_context(N=16)
    fast, ref = BipartiteMerge().select(ctx, n_keep), BipartiteMerge(impl="reference").select(ctx, n_keep)
    assert torch.equal(fast.keep, ref.keep) and torch.equal(fast.merge_into, ref.merge_into)


def test_merge_preserves_mass():
    # merging never changes the size-weighted sum of features
    ctx = random_context(N=16)
    sel = BipartiteMerge().select(ctx, 3)
    out, size = apply_selection(ctx.hidden, sel)
    torch.testing.assert_close((out * size.unsqueeze(-1)).sum(dim=1), ctx.hidden.sum(dim=1))


def test_zero_tprune_stages():
    # I-stage: a token nobody attends to goes first; S-stage: of two identical low-importance tokens, one goes
    N = 8
    attn = torch.full((1, 1, N + 1, N + 1), 1.0, dtype=torch.float64)
    attn[..., 1 + 0] = 1e-6  # patch 0: (almost) no attention
    attn[..., 1 + 7] = 3.0  # patch 7: the most attention
    attn[..., 1 + 3] = 0.5  # patch 3: less than the others, so it lands in the less important half A
    attn = attn / attn.sum(dim=-1, keepdim=True)
    g = torch.Generator().manual_seed(0)
    keys = torch.randn(1, N, 16, generator=g, dtype=torch.float64)
    keys[0, 3] = keys[0, 7]  # patch 3 duplicates the most important patch 7
    ctx = TokenContext(hidden=keys.clone(), attn=attn, keys=keys)
    keep = ZeroTPrune(iterations=20, i_share=0.5).select(ctx, N - 2).keep[0].tolist()
    assert 0 not in keep and 3 not in keep and 7 in keep
    # all dropped by importance alone: the least attended go
    assert 0 not in ZeroTPrune(i_share=1.0).select(ctx, N - 1).keep[0].tolist()


@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("n_keep", [12, 8, 3])
def test_zero_tprune_fast_matches_reference(merge, n_keep):
    ctx = random_context(N=16, seed=4)
    fast = ZeroTPrune(iterations=10, merge=merge).select(ctx, n_keep)
    ref = ZeroTPrune(iterations=10, merge=merge, impl="reference").select(ctx, n_keep)
    assert torch.equal(fast.keep, ref.keep)
    assert (fast.merge_into is None) == (not merge)
    if merge:
        assert torch.equal(fast.merge_into, ref.merge_into)


def clusters(centres=3, per=5, D=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(centres, D, generator=g, dtype=torch.float64) * 10
    x = torch.cat([c[i] + 0.01 * torch.randn(per, D, generator=g, dtype=torch.float64) for i in range(centres)])
    return x


def test_kcenter_one_per_cluster():
    x = clusters()
    keep = KCenter().select(TokenContext(hidden=x[None]), 3).keep[0]
    assert sorted((keep // 5).tolist()) == [0, 1, 2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kcenter_fast_matches_reference(seed):
    ctx = random_context(N=16, seed=seed)
    for k in (1, 5, 11):
        assert torch.equal(KCenter().select(ctx, k).keep, KCenter(impl="reference").select(ctx, k).keep)


def test_mmr_extremes():
    x = clusters(centres=2, per=4)
    attn = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    attn[0, 0, 0, 1:] = torch.tensor([8, 7, 6, 5, 1, 1, 1, 1], dtype=torch.float64) / 30
    ctx = TokenContext(hidden=x[None], attn=attn)
    # lam = 1 is top-k importance: all from cluster 0; a small lam spreads over both clusters
    assert MMRSelect(lam=1.0).select(ctx, 2).keep[0].tolist() == [0, 1]
    assert sorted((MMRSelect(lam=0.3).select(ctx, 2).keep[0] // 4).tolist()) == [0, 1]


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 1.0])
def test_mmr_fast_matches_reference(lam):
    ctx = random_context(N=16, seed=5)
    for k in (1, 6, 12):
        assert torch.equal(MMRSelect(lam).select(ctx, k).keep, MMRSelect(lam, impl="reference").select(ctx, k).keep)


def test_apply_selection_pruning_is_gather():
    ctx = random_context()
    keep = torch.tensor([[0, 3, 5], [1, 2, 15]])
    out, size = apply_selection(ctx.hidden, Selection(keep))
    assert torch.equal(out[1, 2], ctx.hidden[1, 15]) and torch.equal(size, torch.ones(2, 3, dtype=size.dtype))
    assert math.isclose(float(out[0, 1, 0]), float(ctx.hidden[0, 3, 0]))
