"""Tests of MMTok's coverage selection: the plain greedy against its fast path, known answers, the submodular bound
against brute force, and the grounding check's ability to say no."""

import itertools
import math

import pytest
import torch

from papers.mmtok_2025.method import (
    Coverage,
    CoverageContext,
    cell_of_token,
    content_words,
    coverage_matrix,
    coverage_value,
    greedy_fast,
    greedy_reference,
    grounding_hit,
)


def test_content_words_drop_template_words():
    assert content_words("What is in the top left?") == ["top", "left"]
    assert content_words("How many shoes are there?") == ["shoes"]
    assert content_words("Is there a seven?") == ["seven"]
    assert content_words("Is there?") == ["is", "there"]  # nothing left: keep every word


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 6])
def test_fast_equals_reference(seed, k):
    g = torch.Generator().manual_seed(seed)
    C = coverage_matrix(torch.randn(3, 8, generator=g), torch.randn(12, 8, generator=g),
                        torch.randn(12, 5, generator=g))  # fmt: skip
    assert greedy_fast(C, k) == greedy_reference(C, k)


def test_known_answer_facility_location():
    # rows 0-1 are covered only by column 2, rows 2-3 by column 0 (0.9) or 1 (0.8): greedy takes 0 first (1.8 > 1.6 >
    # 1.0), then 2; column 1 adds nothing once 0 is in
    C = torch.tensor([[0.0, 0.0, 1.0 / 2], [0.0, 0.0, 1.0 / 2], [0.9, 0.8, 0.0], [0.9, 0.8, 0.0]], dtype=torch.float64)
    assert greedy_reference(C, 2) == [0, 2] == greedy_fast(C, 2)
    assert coverage_value(C, [0, 2]) == pytest.approx(2.8)
    assert coverage_value(C, []) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_greedy_within_submodular_bound_of_brute_force(seed):
    g = torch.Generator().manual_seed(100 + seed)
    C = coverage_matrix(torch.randn(2, 6, generator=g), torch.randn(9, 6, generator=g), torch.randn(9, 4, generator=g))
    k = 3
    opt = max(coverage_value(C, s) for s in itertools.combinations(range(9), k))
    got = coverage_value(C, greedy_fast(C, k))
    assert got <= opt + 1e-12
    assert got >= (1 - 1 / math.e) * opt


def test_vision_coverage_takes_one_token_per_cluster():
    # three tight clusters of encoder features: covering every token with three picks needs one from each
    g = torch.Generator().manual_seed(0)
    centers = torch.eye(3, 16) * 10
    enc = torch.cat([centers[c] + 0.1 * torch.randn(5, 16, generator=g) for c in (0, 1, 2)])  # [15, 16]
    sel = Coverage(modes="vision").select(CoverageContext(hidden=torch.randn(1, 15, 8), enc=enc[None]), 3).keep[0]
    assert sorted(int(i) // 5 for i in sel) == [0, 1, 2]


def test_text_coverage_takes_the_matching_token():
    # one vision token equals the text embedding: text-only coverage of one token picks it; vision-only does not
    g = torch.Generator().manual_seed(1)
    vis = torch.randn(1, 10, 8, generator=g)
    text = vis[0, 7:8].clone()
    enc = torch.randn(1, 10, 4, generator=g)
    ctx = CoverageContext(hidden=vis, enc=enc, text=[text])
    assert Coverage(modes="text").select(ctx, 1).keep.tolist() == [[7]]
    # multimodal: the text term's weight (1 per text row, all on token 7 at tau 0.02) beats alpha * Q's spread
    assert 7 in Coverage(modes="multimodal").select(ctx, 1).keep[0].tolist()


def test_unit_reference_and_fast_agree_and_budget():
    g = torch.Generator().manual_seed(3)
    ctx = CoverageContext(hidden=torch.randn(2, 16, 8, generator=g), enc=torch.randn(2, 16, 4, generator=g),
                          text=[torch.randn(2, 8, generator=g), torch.randn(3, 8, generator=g)])  # fmt: skip
    for mode in ("multimodal", "vision", "text"):
        fast = Coverage(modes=mode).select(ctx, 5).keep
        ref = Coverage(modes=mode, impl="reference").select(ctx, 5).keep
        assert torch.equal(fast, ref) and fast.shape == (2, 5)
        assert all(len(set(r.tolist())) == 5 for r in fast)
    with pytest.raises(ValueError):
        Coverage(modes="both").select(ctx, 2)


def test_modes_differ_from_each_other():
    # the text term must be able to change the selection, or the multimodal-vs-vision claim measures nothing
    g = torch.Generator().manual_seed(4)
    vis = torch.randn(1, 20, 8, generator=g)
    ctx = CoverageContext(hidden=vis, enc=torch.randn(1, 20, 4, generator=g), text=[vis[0, [3, 11]].clone()])
    mm = Coverage(modes="multimodal").select(ctx, 3).keep[0].tolist()
    vv = Coverage(modes="vision").select(ctx, 3).keep[0].tolist()
    assert mm != vv and {3, 11} <= set(mm)


def test_cells_and_grounding_can_say_no():
    cells = cell_of_token(64, (2, 2))
    assert cells[0] == 0 and cells[7] == 1 and cells[56] == 2 and cells[63] == 3
    assert [cells.count(c) for c in range(4)] == [16] * 4
    g = torch.Generator().manual_seed(5)
    vis = torch.randn(64, 8, generator=g)
    text = vis[60:61].clone()  # matches a token of cell 3
    assert grounding_hit(text, vis, cells, {3}) == (1, 0.25)
    assert grounding_hit(text, vis, cells, {0}) == (0, 0.25)  # a placebo target: a miss, the check can fail


def test_t_geomean():
    from papers.mmtok_2025.method import t_geomean

    m = t_geomean([0.8, 0.9, 1.0, 0.85, 0.95])
    assert m.low < m.value < m.high and 0.8 < m.value < 1.0
    assert math.isnan(t_geomean([0.8, 0.0, 1.0]).value)  # a seed with no correct answer: no log, inconclusive
