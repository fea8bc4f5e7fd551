"""A transformers `Dinov2Model` run block by block, with a selection unit applied before a chosen block.

The blocks are recomputed from the model's own modules (norms, q/k/v/o projections, layer scales, MLP), so the hook
sees each block's attention probabilities and keys, and merged tokens can carry their size into attention: ToMe's
proportional attention adds `log(size)` to every key's logit. With all tokens kept and unit sizes this is exactly the
model's forward pass (tested against `Dinov2Model` and its `output_attentions`).
"""

from dataclasses import dataclass

import torch

from shared.vision.select import TokenContext, TokenSelector, apply_selection, n_keep_for


@dataclass
class ViTState:
    """Tokens entering block `layer`, and what the previous block left for a unit to look at.

    Args:
        hidden (torch.Tensor): `[B, 1 + N, D]`, CLS first.
        attn (torch.Tensor): previous block's attention probabilities `[B, H, 1 + N, 1 + N]`.
        keys (torch.Tensor): previous block's keys averaged over heads `[B, 1 + N, Dh]`.
        size (torch.Tensor): original patches per token `[B, 1 + N]`.
        layer (int): the next block to run.
    """

    hidden: torch.Tensor
    attn: torch.Tensor
    keys: torch.Tensor
    size: torch.Tensor
    layer: int


class PrunedViT:
    """Block-by-block DINOv2 with one pruning or merging step.

    Args:
        model: a transformers `Dinov2Model` (eval mode).
        proportional (bool): add `log(size)` to attention logits of merged tokens (ToMe). Default: `True`.
    """

    def __init__(self, model, proportional: bool = True):
        self.model = model
        cfg = model.config
        self.heads = cfg.num_attention_heads
        self.dim = cfg.hidden_size
        self.depth = cfg.num_hidden_layers
        self.patch = cfg.patch_size
        self.proportional = proportional

    @torch.no_grad()
    def block(self, i: int, h: torch.Tensor, size: torch.Tensor | None = None):
        """Block `i` on `h` `[B, T, D]`; returns the output, the attention probabilities `[B, H, T, T]` and the keys
        averaged over heads `[B, T, Dh]`."""
        layer = self.model.encoder.layer[i]
        att = layer.attention
        B, T, _ = h.shape
        x = layer.norm1(h)

        def heads(proj):
            return proj(x).view(B, T, self.heads, -1).transpose(1, 2)  # [B, H, T, Dh]

        q, k, v = heads(att.q_proj), heads(att.k_proj), heads(att.v_proj)
        logits = q @ k.transpose(-1, -2) * att.scaling  # [B, H, T, T]
        if size is not None and self.proportional:
            logits = logits + size.log()[:, None, None, :]
        p = logits.softmax(dim=-1)
        o = (p @ v).transpose(1, 2).reshape(B, T, -1)
        h = h + layer.layer_scale1(att.o_proj(o))
        h = h + layer.layer_scale2(layer.mlp(layer.norm2(h)))
        return h, p, k.mean(dim=1)

    @torch.no_grad()
    def prefix(self, pixels: torch.Tensor, layer: int) -> ViTState:
        """Embed `pixels` `[B, 3, S, S]` and run blocks `0..layer-1` with every token (shared by all units)."""
        if not 1 <= layer <= self.depth:
            raise ValueError(f"pruning happens before a block 1..{self.depth}, got {layer}")
        h = self.model.embeddings(pixels)
        size = torch.ones(h.shape[:2], dtype=h.dtype)
        for i in range(layer):
            h, attn, keys = self.block(i, h)
        return ViTState(h, attn, keys, size, layer)

    def grid(self, pixels_or_side) -> tuple[int, int]:
        side = pixels_or_side if isinstance(pixels_or_side, int) else pixels_or_side.shape[-1]
        return side // self.patch, side // self.patch

    @torch.no_grad()
    def suffix(self, state: ViTState, unit: TokenSelector | None, keep_ratio: float = 1.0,
               grid: tuple[int, int] | None = None):  # fmt: skip
        """Apply `unit` to the state's patch tokens (CLS always kept) and run the remaining blocks and the final norm.

        Returns:
            tuple: `last_hidden_state` `[B, 1 + K, D]` (CLS first) and token sizes `[B, 1 + K]`.
        """
        h, size = state.hidden, state.size
        n = h.shape[1] - 1
        if unit is not None and keep_ratio < 1.0:
            k = n_keep_for(keep_ratio, n)
            ctx = TokenContext(hidden=h[:, 1:], attn=state.attn, keys=state.keys[:, 1:], grid=grid, size=size[:, 1:])
            sel = unit.select(ctx, k)
            patches, psize = apply_selection(h[:, 1:], sel, size[:, 1:])
            h = torch.cat([h[:, :1], patches], dim=1)
            size = torch.cat([size[:, :1], psize], dim=1)
        merged = not torch.all(size == 1)
        for i in range(state.layer, self.depth):
            h, _, _ = self.block(i, h, size if merged else None)
        return self.model.layernorm(h), size

    @torch.no_grad()
    def forward(self, pixels: torch.Tensor, unit: TokenSelector | None = None, keep_ratio: float = 1.0,
                layer: int = 3):  # fmt: skip
        """The whole pass: `prefix` then `suffix` (see there)."""
        return self.suffix(self.prefix(pixels, layer), unit, keep_ratio, self.grid(pixels))


def pooled_features(last_hidden: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """CLS concatenated with the size-weighted mean of the patch tokens, `[B, 2 D]` (a probe's input)."""
    w = size[:, 1:].unsqueeze(-1)
    mean = (last_hidden[:, 1:] * w).sum(dim=1) / w.sum(dim=1)
    return torch.cat([last_hidden[:, 0], mean], dim=-1)
