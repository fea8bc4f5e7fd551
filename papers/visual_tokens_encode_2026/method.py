"""What is new in "What Do Visual Tokens Really Encode?" on the scene VLM: the sink / dead / alive classification of the
input visual tokens, evaluation with a per-image subset of them removed at the LM input, the cell label of each
token for the probes, and the evaluation with the visual tokens injected at a middle layer (the text runs alone through
the first decoder layers; `shared.vision.lm_layers.answer_logits_injected`, held to a masked reference there).

The classification (fixed from the paper before any run; the paper clusters tokens by their statistics):
- sink: a token whose DINOv2 feature norm exceeds `sink_ratio` x its image's median token norm (the high-norm
  artifact tokens of ViTs that become attention sinks);
- dead: a token that carries no image-specific content: its projected content (the projector's output before the
  position embedding) is close to the mean content at its grid position over calibration scenes. The score is the
  cosine distance to that mean; the threshold is the midpoint of a two-means split of the calibration scores;
- alive: every other token.
"""

from __future__ import annotations

import numpy as np
import torch

from shared.vision.lm_layers import answer_logits_injected
from shared.vision.vlm import VLM


def content(vlm: VLM, feats: torch.Tensor) -> torch.Tensor:
    """The projected visual tokens without the position embedding `[.., N, 576]` (what the image contributes)."""
    p = vlm.projector
    with torch.no_grad():
        y = p.fc2(p.hidden(feats))
        if p.out_rms > 0:
            y = y * (p.out_rms / y.pow(2).mean(-1, keepdim=True).add(1e-12).sqrt())
    return y


def specificity(c: torch.Tensor, mean_c: torch.Tensor) -> torch.Tensor:
    """Per token, cosine distance of its content `[N, K, D]` to the mean content at its position `[K, D]`."""
    return 1.0 - torch.nn.functional.cosine_similarity(c, mean_c.expand_as(c), dim=-1)


def two_means_threshold(x, iters: int = 100) -> float:
    """Midpoint of the two centres of a 1-D two-means (Lloyd, started at the min and max)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2 or x.min() == x.max():
        raise ValueError("two-means needs at least two distinct values")
    lo, hi = x.min(), x.max()
    for _ in range(iters):
        t = (lo + hi) / 2
        a, b = x[x <= t], x[x > t]
        new = (a.mean() if a.size else lo, b.mean() if b.size else hi)
        if new == (lo, hi):
            break
        lo, hi = new
    return float((lo + hi) / 2)


SINK, DEAD, ALIVE = 0, 1, 2


def classify(feats: torch.Tensor, c: torch.Tensor, mean_c: torch.Tensor, threshold: float,
             sink_ratio: float) -> torch.Tensor:  # fmt: skip
    """`[N, K]` class per token: SINK, DEAD or ALIVE (sink wins over dead)."""
    norm = feats.norm(dim=-1)
    sink = norm > sink_ratio * norm.median(dim=1, keepdim=True).values
    dead = specificity(c, mean_c) <= threshold
    out = torch.full(norm.shape, ALIVE, dtype=torch.long)
    out[dead] = DEAD
    out[sink] = SINK
    return out


def cell_labels(scenes, n_tokens: int = 64) -> torch.Tensor:
    """`[N, K]` the class (`scene.cells`, EMPTY = -1) of the grid cell each raster-order patch token lies in."""
    side = int(round(n_tokens**0.5))
    out = torch.empty(len(scenes), n_tokens, dtype=torch.long)
    for i, s in enumerate(scenes):
        R, C = s.grid
        for k in range(n_tokens):
            r, col = divmod(k, side)
            out[i, k] = s.cells[(r * R // side) * C + col * C // side]
    return out


@torch.no_grad()
def evaluate_kept(vlm: VLM, feats: torch.Tensor, items, keep: list[torch.Tensor] | None = None) -> list[bool]:
    """Exact-answer correctness of `(scene index, question)` items when scene `i` shows the LM only the visual tokens
    `keep[i]` (raster indices, any count; `None`: all). The kept tokens close up (positions reindexed), as pre-LM
    pruning does. Questions are batched per scene (the kept count differs between scenes)."""
    ok = [None] * len(items)
    by_scene: dict[int, list[int]] = {}
    for j, (r, _) in enumerate(items):
        by_scene.setdefault(r, []).append(j)
    for r, js in by_scene.items():
        vis = vlm.project(feats[r : r + 1])
        index = None
        if keep is not None:
            idx = torch.as_tensor(keep[r], dtype=torch.long).sort().values
            vis, index = vis[:, idx], idx[None]
        vis = vis.expand(len(js), -1, -1)
        index = None if index is None else index.expand(len(js), -1)
        b = vlm.embed(vis, [items[j][1].text for j in js], [items[j][1].answer for j in js], index=index,
                      n_total=feats.shape[1])  # fmt: skip
        for j, c in zip(js, VLM.correct(vlm.answer_logits(b), b.targets)):
            ok[j] = c
    return ok


@torch.no_grad()
def evaluate_injected(vlm: VLM, feats: torch.Tensor, items, layer: int, batch: int = 32) -> list[bool]:
    """Exact-answer correctness of `(scene index, question)` items with the visual tokens injected at `layer`."""
    ok = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        rows = torch.tensor([r for r, _ in chunk])
        b = vlm.embed(vlm.project(feats[rows]), [q.text for _, q in chunk], [q.answer for _, q in chunk])
        ok += VLM.correct(answer_logits_injected(vlm, b, layer), b.targets)
    return ok


def retained_share(units) -> float:
    """Share of the image's contribution kept, from per-unit pairs `(arm - blind, unpruned - blind)`: a ratio of means,
    0 where the unpruned model is not above blind in a resample (as todre_2025's)."""
    units = list(units)
    if not units:
        raise ValueError("no units")
    num, den = sum(u[0] for u in units), sum(u[1] for u in units)
    return num / den if den > 0 else 0.0
