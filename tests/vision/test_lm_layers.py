"""Visual tokens absent from part of the LM (`shared.vision.lm_layers`): for removal and for mid-layer injection the
sliced fast path equals the masked reference; removing nothing (injecting at 0) is the model's own forward, removing at
layer 0 (injecting at the depth) is never giving the LM those tokens, and the layer matters."""

import pytest
import torch

from shared.vision import scenes as S
from shared.vision.lm_layers import (
    additive_mask,
    answer_logits_from_layer,
    answer_logits_injected,
    answer_logits_injected_masked,
    answer_logits_masked,
    n_layers,
)
from shared.vision.vlm import VLM, Projector


@pytest.fixture(scope="module")
def parts():
    from shared.models import ModelMissing
    from shared.vision import vlm_stage as st

    try:
        vit, lm, tok = st.load_models()
    except ModelMissing as e:  # the engine's tests need the zoo models (make test installs them)
        pytest.skip(str(e))
    torch.manual_seed(0)
    vlm = VLM(lm, tok, Projector(n_positions=64))
    scenes = S.make_scenes("heldout", 3, seed=2)
    feats = st.encode(vit, torch.stack([s.image for s in scenes]))
    # questions of different lengths, so the batch is right-padded
    qs = [scenes[0].questions[0], scenes[1].questions[2], scenes[2].questions[3]]
    with torch.no_grad():
        vis = vlm.project(feats)
    texts = [qs[0].text, qs[1].text + " Look closely at the image.", qs[2].text]  # one longer: a padded batch
    batch = vlm.embed(vis, texts, [q.answer for q in qs])
    return vlm, vis, texts, qs, batch


def _close(a, b, atol=2e-4):
    return all(x.shape == y.shape and torch.allclose(x, y, atol=atol) for x, y in zip(a, b))


def test_the_batch_is_padded(parts):
    _, _, _, _, batch = parts
    assert not bool(batch.mask.all())  # a padded sequence is among them: the masks are exercised


def test_removing_nothing_is_the_models_forward(parts):
    vlm, _, _, _, batch = parts
    with torch.no_grad():
        ref = vlm.answer_logits(batch)
    L = n_layers(vlm)
    assert _close(answer_logits_from_layer(vlm, batch, L), ref)
    assert _close(answer_logits_masked(vlm, batch, L), ref)


@pytest.mark.parametrize("layer", [0, 1, 7, 20, 29])
def test_fast_path_equals_the_masked_reference(parts, layer):
    vlm, _, _, _, batch = parts
    fast, ref = answer_logits_from_layer(vlm, batch, layer), answer_logits_masked(vlm, batch, layer)
    assert _close(fast, ref)
    keep = torch.tensor([[0, 5, 63], [1, 2, 3], [40, 10, 20]])
    assert _close(answer_logits_from_layer(vlm, batch, layer, keep), answer_logits_masked(vlm, batch, layer, keep))


def test_removing_at_layer_zero_is_never_giving_the_tokens(parts):
    vlm, vis, texts, qs, batch = parts
    keep = torch.tensor([[3, 9], [0, 63], [17, 18]])
    # the kept tokens handed to the LM as the whole visual block, at their original positions
    P = batch.visual[0]
    direct = vlm.embed(torch.stack([vis[b, keep[b]] for b in range(3)]), texts, [q.answer for q in qs],
                       index=keep, n_total=64, positions="original")  # fmt: skip
    assert int(direct.positions[0, P]) == P + 3  # the kept tokens keep their original positions, as when sliced
    with torch.no_grad():
        ref = vlm.answer_logits(direct)
    assert _close(answer_logits_from_layer(vlm, batch, 0, keep), ref)


def test_what_is_removed_matters(parts):
    vlm, _, _, _, batch = parts
    full = answer_logits_from_layer(vlm, batch, n_layers(vlm))
    early = answer_logits_from_layer(vlm, batch, 2)
    assert max(float((a - b).abs().max()) for a, b in zip(full, early)) > 1e-2


def test_bad_input_is_refused(parts):
    vlm, _, _, _, batch = parts
    with pytest.raises(ValueError, match="layer must be in"):
        answer_logits_from_layer(vlm, batch, n_layers(vlm) + 1)
    with pytest.raises(ValueError, match="outside"):
        answer_logits_from_layer(vlm, batch, 3, torch.tensor([[64], [0], [0]]))
    with pytest.raises(ValueError, match="\\[B, k\\]"):
        answer_logits_from_layer(vlm, batch, 3, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="\\[B, T\\]"):
        additive_mask(torch.ones(1, 1, 4, 4), torch.float32)


@pytest.mark.parametrize("layer", [1, 7, 15, 29])
def test_injection_fast_path_equals_the_masked_reference(parts, layer):
    vlm, _, _, _, batch = parts
    assert _close(answer_logits_injected(vlm, batch, layer), answer_logits_injected_masked(vlm, batch, layer))


def test_injection_at_0_is_the_plain_forward_and_at_depth_never_gives_the_tokens(parts):
    vlm, _, _, _, batch = parts
    ref = vlm.answer_logits(batch)
    assert _close(answer_logits_injected(vlm, batch, 0), ref)
    assert _close(answer_logits_injected_masked(vlm, batch, 0), ref)
    none = answer_logits_from_layer(vlm, batch, 0)
    L = n_layers(vlm)
    assert _close(answer_logits_injected(vlm, batch, L), none)
    assert _close(answer_logits_injected_masked(vlm, batch, L), none)


def test_injection_layer_matters(parts):
    vlm, _, _, _, batch = parts
    ref = vlm.answer_logits(batch)
    mid = answer_logits_injected(vlm, batch, 15)
    assert max(float((a - b).abs().max()) for a, b in zip(ref, mid)) > 1e-2
    with pytest.raises(ValueError):
        answer_logits_injected(vlm, batch, 31)
