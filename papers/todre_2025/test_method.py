"""Tests of papers.todre_2025.method: the migration layer's choice, the retained share, and the removal evaluation
against the plain harness on the shipped VLM."""

import pytest
import torch

from papers.todre_2025.method import evaluate_removal, migration_layer, retained_share


def test_migration_layer_is_the_shallowest_that_keeps_the_bar():
    assert migration_layer({2: 0.1, 4: 0.96, 6: 0.94, 8: 0.99}, 0.95) == 4  # not monotone: the first that holds
    assert migration_layer({8: 0.97, 2: 0.5, 4: 0.95}, 0.95) == 4  # the bar itself holds; order of the dict ignored
    assert migration_layer({2: 0.1, 4: 0.5, 20: 0.9}, 0.95) == 20  # none holds: the deepest, judged there
    with pytest.raises(ValueError):
        migration_layer({}, 0.95)


def test_retained_share_is_a_ratio_of_means():
    assert retained_share([(0.1, 0.2), (0.3, 0.2)]) == pytest.approx(1.0)
    assert retained_share([(0.0, 0.4), (0.2, 0.0)]) == pytest.approx(0.5)  # not the mean of per-unit ratios (inf)
    assert retained_share([(0.1, -0.1), (0.0, 0.05)]) == 0.0  # unpruned not above blind: nothing to keep
    with pytest.raises(ValueError):
        retained_share([])


@pytest.fixture(scope="module")
def shipped():
    from shared.models import ModelMissing
    from shared.vision import scenes as S
    from shared.vision import vlm_stage as st

    try:
        vit, lm, tok = st.load_models()
    except ModelMissing as e:
        pytest.skip(str(e))
    vlm = st.load_trained(lm, tok)
    test = S.make_scenes("heldout", 3, 77, st.scene_config())
    items = st.eval_questions(test, 77)
    feats = st.encode(vit, torch.stack([s.image for s in test]))
    return st, vlm, feats, items


def test_no_removal_is_the_harness_and_removal_at_zero_is_blind_to_the_image(shipped):
    st, vlm, feats, items = shipped
    depth = len(vlm.lm.model.layers)
    assert evaluate_removal(vlm, feats, items, depth) == st.evaluate(vlm, feats, items)
    # removed before the first layer, the answers cannot depend on the image: the same for another scene's tokens
    other = torch.roll(feats, 1, dims=0)
    assert evaluate_removal(vlm, feats, items, 0) == evaluate_removal(vlm, other, items, 0)
