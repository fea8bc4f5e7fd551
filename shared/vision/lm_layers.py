"""Visual tokens absent from part of the language model's decoder: removed from a chosen layer on, or injected there.

Papers that prune in the LM's decoder rather than at its input (ToDRE's "information migration", FastV-style
in-decoder pruning, skipping visual computation in the later layers) need the LM's forward split at a layer; papers
that give the visual tokens only from a middle layer on (mid-layer injection) need the mirror image. Removal has two
implementations with the same answer logits:
- `answer_logits_from_layer` (the fast path) runs the decoder layers by hand and, at `layer`, slices the removed
  visual positions out of the hidden states, the positions' rotary embeddings and the mask: the layers after it really
  run on the shorter sequence, which is where the saving comes from;
- `answer_logits_masked` (the plain reference) keeps the whole sequence and only forbids every query of the layers
  from `layer` on to attend to the removed visual keys, with a forward pre-hook per layer.
In a causal decoder the two are the same computation for the text tokens: after `layer` nothing reads the removed
tokens' states, and the kept tokens never attend to them. Injection likewise: `answer_logits_injected` runs the layers
before `layer` on the sequence without the visual tokens and inserts their input embeddings there;
`answer_logits_injected_masked` keeps the whole sequence, blocks attention to the visual keys before `layer` and resets
the visual states to their input embeddings at `layer`. `tests/vision/test_lm_layers.py` holds each pair together.

Only sequences assembled by `VLM.embed` (right padding, a `[B, T]` mask, the visual block at `batch.visual`) are taken.
"""

from __future__ import annotations

import torch

from shared.vision.vlm import VLM, Batch


def n_layers(vlm: VLM) -> int:
    return len(vlm.lm.model.layers)


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The causal-and-padding mask of a right-padded `[B, T]` batch as an additive `[B, 1, T, T]` float mask: 0 where a
    query may attend, the dtype's minimum where not. A padded query keeps its causal row (never fully masked)."""
    if mask.dim() != 2:
        raise ValueError(f"a [B, T] mask of ones and zeros is needed (VLM.embed), got shape {tuple(mask.shape)}")
    B, T = mask.shape
    allowed = torch.ones(T, T, dtype=torch.bool).tril()[None] & mask.bool()[:, None, :]
    out = torch.zeros(B, 1, T, T, dtype=dtype)
    return out.masked_fill(~allowed[:, None], torch.finfo(dtype).min)


def _check(vlm: VLM, batch: Batch, layer: int, keep: torch.Tensor | None) -> torch.Tensor:
    L = n_layers(vlm)
    if not 0 <= layer <= L:
        raise ValueError(f"layer must be in 0..{L} (the LM has {L} decoder layers), got {layer}")
    P, K = batch.visual
    B = batch.embeds.shape[0]
    if keep is None:
        return torch.zeros(B, 0, dtype=torch.long)
    keep = torch.as_tensor(keep, dtype=torch.long)
    if keep.dim() != 2 or keep.shape[0] != B:
        raise ValueError(f"keep must be [B, k] visual indices (0..{K - 1}) per sequence, got shape {tuple(keep.shape)}")
    if keep.numel() and (keep.min() < 0 or keep.max() >= K):
        raise ValueError(f"keep holds visual indices outside 0..{K - 1}")
    return keep.sort(dim=-1).values


def _kept_positions(batch: Batch, keep: torch.Tensor) -> torch.Tensor:
    """Per sequence, the sequence positions that stay from the split layer on: prefix, the kept visual tokens, text."""
    P, K = batch.visual
    B, T = batch.embeds.shape[:2]
    text = torch.arange(P + K, T)
    return torch.stack([torch.cat([torch.arange(P), P + keep[b], text]) for b in range(B)])


@torch.no_grad()
def answer_logits_from_layer(vlm: VLM, batch: Batch, layer: int, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Per sequence, the logits at its answer positions when, from decoder layer `layer` on (0-based; the layer itself
    included), only the visual tokens in `keep` are left (`None`: none, every visual token removed). `layer` equal to
    the number of layers removes nothing: the plain forward, computed by hand.

    Args:
        vlm (VLM): the scene VLM (its LM a transformers Llama).
        batch (Batch): from `vlm.embed` (one sequence per question, right-padded).
        layer (int): the first decoder layer that runs without the removed visual tokens.
        keep (torch.Tensor, Optional): `[B, k]` indices into the visual block that stay (the same k per sequence).
    """
    keep = _check(vlm, batch, layer, keep)
    model = vlm.lm.model
    h, pos = batch.embeds, batch.positions
    mask = additive_mask(batch.mask, h.dtype)
    cos, sin = model.rotary_emb(h, position_ids=pos)
    for i, block in enumerate(model.layers):
        if i == layer:
            idx = _kept_positions(batch, keep)
            rows = torch.arange(h.shape[0])[:, None]
            h, pos, cos, sin = h[rows, idx], pos[rows, idx], cos[rows, idx], sin[rows, idx]
            mask = _sub_mask(mask, idx)
        h = block(h, attention_mask=mask, position_ids=pos, position_embeddings=(cos, sin))
    h = model.norm(h)
    removed = batch.visual[1] - keep.shape[1] if layer < n_layers(vlm) else 0
    return [vlm.lm.lm_head(h[b, [i - removed for i in idx]]) for b, idx in enumerate(batch.predict_at)]


def _sub_mask(mask: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows and columns `idx[b]` of each sequence's `[1, T, T]` mask."""
    return torch.stack([mask[b, :, idx[b]][:, :, idx[b]] for b in range(mask.shape[0])])


def _run_with_hooks(vlm: VLM, batch: Batch, pre_hook) -> list[torch.Tensor]:
    """The model's own forward over the whole sequence with `pre_hook(i, args, kwargs) -> (args, kwargs)` before every
    decoder layer `i`; the answer logits of each sequence."""
    hooks = [block.register_forward_pre_hook(lambda m, a, k, i=i: pre_hook(i, a, k), with_kwargs=True)
             for i, block in enumerate(vlm.lm.model.layers)]  # fmt: skip
    try:
        out = vlm.lm.model(inputs_embeds=batch.embeds, position_ids=batch.positions, attention_mask=batch.mask)
    finally:
        for hk in hooks:
            hk.remove()
    h = out.last_hidden_state
    return [vlm.lm.lm_head(h[b, idx]) for b, idx in enumerate(batch.predict_at)]


def _blocked_mask(base: torch.Tensor, batch: Batch, keep: torch.Tensor) -> torch.Tensor:
    """`base` with every query barred from the visual keys not in `keep`; a barred token still sees itself (no row
    fully masked, so no NaN to leak through a zero weight)."""
    P, K = batch.visual
    blocked = base.clone()
    removed = torch.ones(keep.shape[0], K, dtype=torch.bool)
    removed[torch.arange(keep.shape[0])[:, None], keep] = False
    for b in range(base.shape[0]):
        cols = P + removed[b].nonzero().flatten()
        blocked[b, :, :, cols] = torch.finfo(base.dtype).min
        blocked[b, :, cols, cols] = 0.0
    return blocked


@torch.no_grad()
def answer_logits_masked(vlm: VLM, batch: Batch, layer: int, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The plain reference of `answer_logits_from_layer`: the whole sequence runs through every layer; the layers from
    `layer` on get a mask in which no query attends to a removed visual token (a forward pre-hook per layer)."""
    keep = _check(vlm, batch, layer, keep)
    base = additive_mask(batch.mask, batch.embeds.dtype)
    blocked = _blocked_mask(base, batch, keep)

    def pre(i, args, kwargs):
        kwargs["attention_mask"] = blocked if i >= layer else base
        return args, kwargs

    return _run_with_hooks(vlm, batch, pre)


@torch.no_grad()
def answer_logits_injected(vlm: VLM, batch: Batch, layer: int) -> list[torch.Tensor]:
    """Mid-layer injection: decoder layers `0..layer-1` run on the sequence without the visual tokens (prefix and text
    at their own positions); at `layer` the visual tokens' input embeddings enter at their positions and the rest of
    the decoder runs on the whole sequence. `layer` 0 is the plain forward; the LM's depth never gives the tokens (the
    same as `answer_logits_from_layer(vlm, batch, 0)`)."""
    _check(vlm, batch, layer, None)
    model = vlm.lm.model
    B, K = batch.embeds.shape[0], batch.visual[1]
    full_mask = additive_mask(batch.mask, batch.embeds.dtype)
    cos_f, sin_f = model.rotary_emb(batch.embeds, position_ids=batch.positions)
    idx = _kept_positions(batch, torch.zeros(B, 0, dtype=torch.long))
    rows = torch.arange(B)[:, None]
    h, pos, cos, sin = batch.embeds[rows, idx], batch.positions[rows, idx], cos_f[rows, idx], sin_f[rows, idx]
    mask = _sub_mask(full_mask, idx)
    for i, block in enumerate(model.layers):
        if i == layer:
            full = batch.embeds.clone()
            full[rows, idx] = h
            h, pos, cos, sin, mask = full, batch.positions, cos_f, sin_f, full_mask
        h = block(h, attention_mask=mask, position_ids=pos, position_embeddings=(cos, sin))
    h = model.norm(h)
    shift = K if layer >= n_layers(vlm) else 0
    return [vlm.lm.lm_head(h[b, [i - shift for i in idx]]) for b, idx in enumerate(batch.predict_at)]


@torch.no_grad()
def answer_logits_injected_masked(vlm: VLM, batch: Batch, layer: int) -> list[torch.Tensor]:
    """The plain reference of `answer_logits_injected`: the whole sequence runs through every layer; in the layers
    before `layer` no query attends to a visual key, and at `layer` the visual positions' hidden states are reset to
    their input embeddings (forward pre-hooks)."""
    _check(vlm, batch, layer, None)
    P, K = batch.visual
    base = additive_mask(batch.mask, batch.embeds.dtype)
    blocked = _blocked_mask(base, batch, torch.zeros(base.shape[0], 0, dtype=torch.long))
    vis_in = batch.embeds[:, P : P + K]

    def pre(i, args, kwargs):
        kwargs["attention_mask"] = blocked if i < layer else base
        if i == layer and layer > 0:
            h = (args[0] if args else kwargs["hidden_states"]).clone()
            h[:, P : P + K] = vis_in
            if args:
                args = (h,) + tuple(args[1:])
            else:
                kwargs["hidden_states"] = h
        return args, kwargs

    return _run_with_hooks(vlm, batch, pre)
