"""EntropyPrune (Wang et al., 2026; arXiv:2602.17196) as a ViT analogue on DINOv2-S: what is new for this paper only.

The matrix-entropy scorer and the per-layer entropy live in `shared.vision.entropy`; the pruning hook, CLS attention and
random selection in `shared.vision`; the image pipeline and frozen probe (shared with Zero-TPrune) in
`shared.vision.probe`. Here: the per-layer entropy profiles, the Entropy Collapse Layer (ECL) statistics, and a randomly
initialised DINOv2-S for the trivial control.

Deviations from the paper, on purpose:
- The paper prunes visual tokens inside the language model of LLaVA-1.5/1.6 and Qwen2.5-VL. The project's small VLM
  failed its precondition, so the analogue is the vision transformer itself: the entropy profile of DINOv2-S's patch
  tokens across its 12 blocks, and pruning inside DINOv2-S judged by a frozen linear probe.
- The token score follows the authors' released code: each token's vector folded into `heads x head_dim`, centred over
  the heads, matrix entropy of that small matrix; the code scores the previous layer's query states, we score the
  hidden state entering the pruning block (one of the code's options). Eigenvalues are trace-normalised (von Neumann
  entropy), which the released code does not do.
"""

import numpy as np
import torch

from shared.claims import Measurement
from shared.vision.entropy import layer_entropy
from shared.vision.probe import to_pixels
from shared.vision.vit import PrunedViT


def random_dinov2(config, seed: int):
    """DINOv2-S's architecture with transformers' random initialisation (seeded): the trivial control of the ECL."""
    from transformers import Dinov2Model

    torch.manual_seed(seed)
    return Dinov2Model(config).eval()


@torch.no_grad()
def entropy_profiles(model, images: torch.Tensor, size: int, batch: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and state (column `l`: the state entering block `l`; the last column is the last block's output
    before the final norm), `[N, depth + 1]` each: the matrix entropy of the patch tokens (the ECL's quantity) and,
    for description only, the mean over patch tokens of EntropyPrune's per-token entropy."""
    from shared.vision.entropy import token_entropy

    heads = model.config.num_attention_heads
    layer_rows, token_rows = [], []
    for start in range(0, len(images), batch):
        out = model(pixel_values=to_pixels(images[start : start + batch], size), output_hidden_states=True)
        layer_rows.append(torch.stack([layer_entropy(h[:, 1:]) for h in out.hidden_states], dim=1))
        token_rows.append(torch.stack([token_entropy(h[:, 1:], heads).mean(dim=1) for h in out.hidden_states], dim=1))
    return torch.cat(layer_rows).double(), torch.cat(token_rows).double()


def layer_drops(profiles) -> np.ndarray:
    """One-layer drops `S[l-1] - S[l]` for `l = 1..depth`: `[N, depth]` (column `j` is the drop across block `j`)."""
    p = np.asarray(profiles, dtype=float)
    return p[:, :-1] - p[:, 1:]


def ecl_of(mean_drops: np.ndarray) -> int:
    """The Entropy Collapse Layer of a mean drop profile: the state index `l` (1..depth) after the largest drop."""
    return int(np.argmax(mean_drops)) + 1


def sharpness(drops: np.ndarray) -> float:
    """The pre-registered sharpness of the mean profile: its largest one-layer drop over the mean absolute one-layer
    change of the other layers. `drops` `[N, depth]`."""
    d = drops.mean(axis=0)
    j = int(np.argmax(d))
    others = np.delete(d, j)
    return float(d[j] / max(np.abs(others).mean(), 1e-12))


def consistency(drops: np.ndarray) -> float:
    """Share of images whose own largest drop is at the ECL of the mean profile."""
    d = drops.mean(axis=0)
    return float(np.mean(drops.argmax(axis=1) == int(np.argmax(d))))


@torch.no_grad()
def cls_features(vit: PrunedViT, images: torch.Tensor, size: int, layer: int, units: dict, ratios, batch: int = 100,
                 seed: int = 0) -> dict:  # fmt: skip
    """Probe features (the final CLS token, `[N, D]`) of the unpruned model (key `("none", 1.0)`) and of every unit in
    `units` (name -> factory taking a seed) at every keep ratio, pruning before block `layer`; the blocks before it
    run once per batch. Random draws differ per batch.

    The CLS token reads the surviving patch tokens through attention, as a language model reads the visual tokens it
    is given. (A probe on the mean of the surviving patch tokens was tried in the pilot and dropped: any selection
    that is not uniform shifts that mean away from what the probe was fitted on, so it favours random selection by
    construction.)"""
    out: dict = {}
    for bi, start in enumerate(range(0, len(images), batch)):
        px = to_pixels(images[start : start + batch], size)
        state = vit.prefix(px, layer)
        grid = vit.grid(px)
        jobs = [("none", 1.0)] + [(a, r) for a in units for r in ratios]
        for arm, r in jobs:
            unit = None if arm == "none" else units[arm](seed * 1000 + bi)
            h, size_ = vit.suffix(state, unit, r, grid)
            out.setdefault((arm, r), []).append(h[:, 0])
    return {k: torch.cat(v) for k, v in out.items()}


def t_mean(values, n_unit: str = "split seeds", unit: str = ""):
    """The mean over split seeds (each its own probe and test images) with a Student-t interval
    (`Measurement.t_mean`)."""
    return Measurement.t_mean(values, n_unit=n_unit, unit=unit)


def time_eig(n: int, d: int, batch: int, repeats: int, seed: int = 0) -> list[dict]:
    """Wall time of the spectrum of `batch` matrices `[n, d]` through the `d x d` covariance and through the `n x n`
    dual Gram, interleaved repeats (float64, as the entropy uses): a printed benchmark, never a verdict."""
    import time

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, d, generator=g, dtype=torch.float64)
    rows = []
    for rep in range(repeats):
        for name, f in [("covariance d x d", lambda: torch.linalg.eigvalsh(x.transpose(-1, -2) @ x)),
                        ("dual Gram n x n", lambda: torch.linalg.eigvalsh(x @ x.transpose(-1, -2)))]:  # fmt: skip
            t0 = time.perf_counter()
            f()
            rows.append({"repeat": rep, "path": name, "seconds": time.perf_counter() - t0})
    return rows
