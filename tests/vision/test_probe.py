"""The image pipeline and frozen linear probe that judge a pruned ViT (`shared.vision.probe`)."""

import numpy as np
import pytest
import torch

from shared.vision.probe import LinearProbe, split_indices, to_pixels

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


def test_to_pixels_maps_black_and_white_to_the_normalised_range():
    imgs = torch.zeros(2, 28, 28, dtype=torch.uint8)
    imgs[1] = 255
    px = to_pixels(imgs, 56)
    assert px.shape == (2, 3, 56, 56)
    torch.testing.assert_close(px[0, :, 0, 0], -MEAN / STD)
    torch.testing.assert_close(px[1, :, 0, 0], (1 - MEAN) / STD)
    with pytest.raises(ValueError, match="grey images"):
        to_pixels(torch.zeros(2, 3, 28, 28, dtype=torch.uint8), 56)


def test_split_indices_are_seeded_distinct_and_in_range():
    a, b = split_indices(0, 100, 50, 20, 10)
    assert len(set(a.tolist())) == 20 and len(set(b.tolist())) == 10 and a.max() < 100 and b.max() < 50
    a2, b2 = split_indices(0, 100, 50, 20, 10)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    assert not np.array_equal(a, split_indices(1, 100, 50, 20, 10)[0])
    with pytest.raises(ValueError, match="cannot draw"):
        split_indices(0, 10, 50, 20, 10)


def test_probe_separates_known_classes_and_is_at_chance_on_shuffled_labels():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 5, generator=g) * 5
    y = torch.arange(3).repeat(40)
    X = centres[y] + torch.randn(120, 5, generator=g)
    probe = LinearProbe().fit(X, y)
    assert (probe.predict(X) == y).double().mean() > 0.95
    # the same fit is deterministic (float64 L-BFGS)
    torch.testing.assert_close(LinearProbe().fit(X, y).W, probe.W)
    # held-out points of shuffled labels: no better than chance (1/3) by a wide margin
    y_shuf = y[torch.randperm(120, generator=g)]
    Xt = centres[y] + torch.randn(120, 5, generator=g)
    assert (LinearProbe().fit(X, y_shuf).predict(Xt) == y_shuf).double().mean() < 0.6
