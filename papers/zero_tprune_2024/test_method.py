"""Tests of papers.zero_tprune_2024: the image pipeline, the probe, and that every claim's rule can fail."""

import numpy as np
import torch

from papers.zero_tprune_2024.claims import CLAIMS
from papers.zero_tprune_2024.method import LinearProbe, split_indices, to_pixels
from shared.claims import Measurement, rule_can_fail


def test_to_pixels():
    imgs = torch.zeros(2, 28, 28, dtype=torch.uint8)
    imgs[1] = 255
    px = to_pixels(imgs, 56)
    assert px.shape == (2, 3, 56, 56)
    # black and white map to the ImageNet-normalised 0 and 1 of each channel
    torch.testing.assert_close(px[0, :, 0, 0], -torch.tensor([0.485, 0.456, 0.406]) / torch.tensor([0.229, 0.224, 0.225]))
    torch.testing.assert_close(px[1, :, 0, 0], (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]))


def test_split_indices():
    a, b = split_indices(0, 100, 50, 20, 10)
    assert len(set(a.tolist())) == 20 and len(set(b.tolist())) == 10 and a.max() < 100 and b.max() < 50
    a2, b2 = split_indices(0, 100, 50, 20, 10)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    assert not np.array_equal(a, split_indices(1, 100, 50, 20, 10)[0])


def test_probe_separates_known_classes():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 5, generator=g) * 5
    y = torch.arange(3).repeat(40)
    X = centres[y] + torch.randn(120, 5, generator=g)
    probe = LinearProbe().fit(X, y)
    assert (probe.predict(X) == y).double().mean() > 0.95


def test_rules_can_fail_and_placebo_fails():
    for c in CLAIMS:
        assert rule_can_fail(c.rule), c.id
    # a placebo method that loses more than its baseline on every image is judged not reproduced
    loss_zt, loss_base = [1.0] * 30 + [0.0] * 70, [0.0] * 85 + [1.0] * 15
    m = Measurement.bootstrap(list(zip(loss_zt, loss_base)), lambda u: sum(a for a, _ in u) / sum(b for _, b in u),
                              n_unit="test images")
    claim = next(c for c in CLAIMS if c.id == "less-loss-than-cls-attention")
    checks = {"probe-above-chance": Measurement.proportion(80, 100), "cls-attention-loses": Measurement.mean(loss_base)}
    margin = Measurement.paired_difference([0.5] * 10 + [0.6] * 10, [0.5] * 20)
    assert claim.evaluate(m, control=margin, checks=checks)["verdict"] == "not reproduced"
    # a probe at chance makes the claims inconclusive, never not reproduced
    checks["probe-above-chance"] = Measurement.proportion(10, 100)
    assert claim.evaluate(m, control=margin, checks=checks)["verdict"] == "inconclusive"
    # a large loss at the headline keep ratio is not reproduced
    small = CLAIMS[0]
    lost = Measurement.paired_difference([1.0] * 100, [1.0] * 80 + [0.0] * 20)
    assert small.evaluate(lost, checks={"probe-above-chance": Measurement.proportion(80, 100)})["verdict"] == "not reproduced"
