"""Tests of papers.visual_tokens_encode_2026.method: the classification rule on known inputs, the cell labels, the
subset evaluation against the harness, and the injection evaluation at layer 0 against the harness (the injection
itself is tested in tests/vision/test_lm_layers.py)."""

import numpy as np
import pytest
import torch

from papers.visual_tokens_encode_2026.method import (
    ALIVE,
    DEAD,
    SINK,
    cell_labels,
    classify,
    evaluate_kept,
    retained_share,
    specificity,
    two_means_threshold,  # fmt: skip
)
from shared.vision import scenes as S


def test_two_means_splits_two_clusters():
    x = np.r_[np.full(10, 0.1), np.full(5, 0.9)]
    assert two_means_threshold(x) == pytest.approx(0.5)
    x = np.r_[np.linspace(0, 0.1, 20), np.linspace(0.6, 0.7, 20)]
    assert 0.1 < two_means_threshold(x) < 0.6
    with pytest.raises(ValueError):
        two_means_threshold([1.0, 1.0])


def test_classify_sink_dead_alive():
    torch.manual_seed(0)
    mean_c = torch.randn(4, 8)
    c = mean_c.clone()[None]
    c[0, 2] = -mean_c[2]  # far from its position's mean: alive
    feats = torch.ones(1, 4, 3)
    feats[0, 3] *= 10  # a high-norm token: sink
    cls = classify(feats, c, mean_c, threshold=0.5, sink_ratio=2.0)
    assert cls.tolist() == [[DEAD, DEAD, ALIVE, SINK]]
    assert specificity(c, mean_c)[0, 2] == pytest.approx(2.0)
    # nothing dead when every token is far from the mean, no sink when the norms are equal
    assert classify(torch.ones(1, 4, 3), -mean_c[None], mean_c, 0.5, 2.0).eq(ALIVE).all()


def test_cell_labels_follow_the_grid():
    sc = S.make_scenes("heldout", 2, 5)
    lab = cell_labels(sc)
    for s, row in zip(sc, lab):
        assert row[0] == s.cells[0] and row[7] == s.cells[1] and row[56] == s.cells[2] and row[63] == s.cells[3]
        assert row[3] == s.cells[0] and row[4] == s.cells[1] and row[31] == s.cells[1] and row[32] == s.cells[2]


def test_retained_share():
    assert retained_share([(0.2, 0.4), (0.4, 0.4)]) == pytest.approx(0.75)
    assert retained_share([(0.1, -0.1)]) == 0.0


@pytest.fixture(scope="module")
def parts():
    from shared.models import ModelMissing
    from shared.vision import vlm_stage as st

    try:
        vit, lm, tok = st.load_models()
        vlm = st.load_trained(lm, tok)
    except ModelMissing as e:
        pytest.skip(str(e))
    scenes = S.make_scenes("heldout", 3, seed=2)
    feats = st.encode(vit, torch.stack([s.image for s in scenes]))
    qs = [scenes[0].questions[0], scenes[1].questions[2], scenes[2].questions[3]]
    texts = [qs[0].text, qs[1].text + " Look closely at the image.", qs[2].text]  # one longer: a padded batch
    with torch.no_grad():
        batch = vlm.embed(vlm.project(feats), texts, [q.answer for q in qs])
    return st, vlm, feats, scenes, batch


def test_evaluate_kept_all_is_the_harness(parts):
    st, vlm, feats, scenes, _ = parts
    items = st.eval_questions(scenes, 2)
    assert evaluate_kept(vlm, feats, items) == st.evaluate(vlm, feats, items)
    assert evaluate_kept(vlm, feats, items, [torch.arange(64)] * 3) == st.evaluate(vlm, feats, items)
    # keeping one token of each image answers differently from keeping them all on some question's logits
    few = evaluate_kept(vlm, feats, items, [torch.tensor([0])] * 3)
    assert len(few) == len(items)


def test_injection_at_layer_0_is_the_harness(parts):
    from papers.visual_tokens_encode_2026.method import evaluate_injected

    st, vlm, feats, scenes, _ = parts
    items = st.eval_questions(scenes, 2)
    assert evaluate_injected(vlm, feats, items, 0) == st.evaluate(vlm, feats, items)
