"""The pruning hook on the zoo's DINOv2-S, and the MAC accounting."""

import pytest
import torch

from shared.vision import CLSAttention, RandomSelect, ZeroTPrune, block_macs, selection_macs, vit_macs
from shared.vision.flops import pruned_tokens
from shared.vision.vit import PrunedViT, pooled_features


def test_macs_known_answers():
    # DeiT-S at 224 px (197 tokens, d=384, MLP 1536, patch 16): the published 4.6 GFLOPs (multiply-accumulates)
    assert abs(vit_macs([197] * 12, 384, 1536, 16) / 4.6e9 - 1) < 0.01
    # one block by hand: projections 4 T d^2, attention 2 T^2 d, MLP 2 T d m
    assert block_macs(10, 4, 16) == 4 * 10 * 16 + 2 * 100 * 4 + 2 * 10 * 4 * 16
    assert pruned_tokens(64, 32, 3, 5) == [65, 65, 65, 33, 33]
    full, cut = vit_macs([65] * 12), vit_macs(pruned_tokens(64, 32, 3))
    assert 0.36 < 1 - cut / full < 0.38
    # the selection is cheap next to the model
    assert selection_macs("zero_tprune", 64, 32) < 0.01 * full
    with pytest.raises(KeyError):
        selection_macs("nope", 64, 32)


@pytest.fixture(scope="module")
def dinov2():
    from shared.models import ModelMissing, load

    try:
        model, _ = load("dinov2-s")
    except ModelMissing as e:  # the engine's tests need the zoo model (make test installs it)
        pytest.skip(str(e))
    return model


def test_runner_equals_model(dinov2):
    torch.manual_seed(0)
    px = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        ref = dinov2(pixel_values=px, output_attentions=True)
    vit = PrunedViT(dinov2)
    out, size = vit.forward(px, None, 1.0, layer=2)
    assert (out - ref.last_hidden_state).abs().max() < 1e-5 and torch.equal(size, torch.ones(2, 17))
    state = vit.prefix(px, 2)
    assert (state.attn - ref.attentions[1]).abs().max() < 1e-6
    # keep ratio 1 with a unit is a no-op too
    out2, _ = vit.forward(px, CLSAttention(), 1.0, layer=2)
    assert torch.equal(out, out2)


def test_pruned_forward_shapes(dinov2):
    torch.manual_seed(0)
    px = torch.randn(2, 3, 56, 56)
    vit = PrunedViT(dinov2)
    for unit in (RandomSelect(), ZeroTPrune(), ZeroTPrune(merge=True)):
        out, size = vit.forward(px, unit, 0.5, layer=3)
        assert out.shape == (2, 9, 384) and size.shape == (2, 9) and size.sum(dim=1).max() <= 17
        assert pooled_features(out, size).shape == (2, 768)
