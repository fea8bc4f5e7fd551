"""What is new in "What Do Visual Tokens Really Encode?" on the scene VLM: the sink / dead / alive classification of the
input visual tokens, evaluation with a per-image subset of them removed at the LM input, the cell label of each
token for the probes, and mid-layer injection (the text runs alone through the first decoder layers; the visual tokens
enter the residual stream at layer L), a sliced fast path held to a masked reference.

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

from shared.vision.lm_layers import additive_mask, n_layers
from shared.vision.vlm import VLM, Batch


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


def _check_layer(vlm: VLM, layer: int):
    L = n_layers(vlm)
    if not 0 <= layer <= L:
        raise ValueError(f"layer must be in 0..{L} (0: the plain forward; {L}: the visual tokens never enter)")


@torch.no_grad()
def answer_logits_injected(vlm: VLM, batch: Batch, layer: int) -> list[torch.Tensor]:
    """Mid-layer injection, the fast path: decoder layers `0..layer-1` run on the sequence without the visual tokens
    (prefix and text at their own positions); at `layer` the visual tokens' input embeddings are inserted at their
    positions and the rest of the decoder runs on the whole sequence. `layer` 0 is the plain forward; the LM's depth
    never gives the visual tokens."""
    _check_layer(vlm, layer)
    model = vlm.lm.model
    P, K = batch.visual
    B, T = batch.embeds.shape[:2]
    full_mask = additive_mask(batch.mask, batch.embeds.dtype)
    cos_f, sin_f = model.rotary_emb(batch.embeds, position_ids=batch.positions)
    text = torch.cat([torch.arange(P), torch.arange(P + K, T)])
    h = batch.embeds[:, text]
    pos, cos, sin = batch.positions[:, text], cos_f[:, text], sin_f[:, text]
    mask = full_mask[:, :, text][:, :, :, text]
    short = True
    for i, block in enumerate(model.layers):
        if i == layer:
            full = batch.embeds.clone()
            full[:, text] = h
            h, pos, cos, sin, mask, short = full, batch.positions, cos_f, sin_f, full_mask, False
        h = block(h, attention_mask=mask, position_ids=pos, position_embeddings=(cos, sin))
    h = model.norm(h)
    shift = K if short else 0
    return [vlm.lm.lm_head(h[b, [i - shift for i in idx]]) for b, idx in enumerate(batch.predict_at)]


@torch.no_grad()
def answer_logits_injected_masked(vlm: VLM, batch: Batch, layer: int) -> list[torch.Tensor]:
    """The plain reference of `answer_logits_injected`: the whole sequence runs through every layer; in layers before
    `layer` no query attends to a visual key (a visual token sees only itself), and a forward pre-hook on layer
    `layer` resets the visual positions' hidden states to their input embeddings."""
    _check_layer(vlm, layer)
    P, K = batch.visual
    base = additive_mask(batch.mask, batch.embeds.dtype)
    blocked = base.clone()
    cols = torch.arange(P, P + K)
    blocked[:, :, :, cols] = torch.finfo(base.dtype).min
    blocked[:, :, cols, cols] = 0.0
    vis_in = batch.embeds[:, P : P + K]
    hooks = []
    for i, block in enumerate(vlm.lm.model.layers):

        def pre(module, args, kwargs, i=i):
            kwargs["attention_mask"] = blocked if i < layer else base
            if i == layer and layer > 0:
                if args:
                    h = args[0].clone()
                    h[:, P : P + K] = vis_in
                    args = (h,) + tuple(args[1:])
                else:
                    h = kwargs["hidden_states"].clone()
                    h[:, P : P + K] = vis_in
                    kwargs["hidden_states"] = h
            return args, kwargs

        hooks.append(block.register_forward_pre_hook(pre, with_kwargs=True))
    try:
        out = vlm.lm.model(inputs_embeds=batch.embeds, position_ids=batch.positions, attention_mask=batch.mask)
    finally:
        for hk in hooks:
            hk.remove()
    h = out.last_hidden_state
    return [vlm.lm.lm_head(h[b, idx]) for b, idx in enumerate(batch.predict_at)]


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
