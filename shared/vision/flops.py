"""Multiply-accumulates (MACs, what ViT papers call FLOPs) of a ViT whose token count changes between blocks, and of
the selection units themselves. Softmax, norms, activations and biases are left out, as in the papers' counts."""

import math


def block_macs(tokens: int, dim: int, mlp_hidden: int) -> int:
    """One pre-norm transformer block on `tokens` tokens: q/k/v and output projections, attention scores and the
    weighted sum of values, and the two MLP matrices."""
    return 4 * tokens * dim * dim + 2 * tokens * tokens * dim + 2 * tokens * dim * mlp_hidden


def vit_macs(tokens_per_block, dim: int = 384, mlp_hidden: int = 1536, patch: int = 14, channels: int = 3) -> int:
    """A whole ViT: the patch embedding of the first block's patches (CLS excluded) plus every block.

    Args:
        tokens_per_block (Sequence[int]): tokens entering each block, CLS included (`[1 + N] * 12` unpruned).
        dim, mlp_hidden, patch, channels (int): the model's shapes (defaults: DINOv2-S).

    Returns:
        int: multiply-accumulates per image.
    """
    tokens = list(tokens_per_block)
    embed = (tokens[0] - 1) * channels * patch * patch * dim
    return embed + sum(block_macs(t, dim, mlp_hidden) for t in tokens)


def pruned_tokens(n_patches: int, n_keep: int, layer: int, depth: int = 12) -> list[int]:
    """Tokens entering each block when `n_patches` patches are cut to `n_keep` before block `layer` (CLS kept)."""
    return [1 + (n_patches if i < layer else n_keep) for i in range(depth)]


def selection_macs(unit: str, n: int, n_keep: int, heads: int = 6, dim: int = 384, iterations: int = 30) -> int:
    """The selection's own cost, in MACs, for `n` patch tokens cut to `n_keep` (orders of magnitude: the units' main
    loops, not their bookkeeping).

    Args:
        unit (str): a registered selector name (`SELECTORS`).
        dim (int): the width of the features the unit compares (keys or hidden states).
    """
    t = n + 1
    drop = n - n_keep
    if unit in ("random", "downsample"):
        return 0
    if unit == "cls_attention":
        return heads * n
    if unit == "pagerank":
        return iterations * heads * t * t
    if unit == "bipartite_merge":
        rounds = max(1, math.ceil(math.log2(max(n, 1) / max(n_keep, 1)))) if drop else 0
        return rounds * (n // 2) * (n - n // 2) * dim
    if unit == "zero_tprune":
        return iterations * heads * t * t + (n // 2) * (n - n // 2) * dim
    if unit in ("kcenter", "mmr"):
        return n * n * dim + n_keep * n
    raise KeyError(f"no cost model for selector {unit!r}")


# the VLM's language model (SmolLM2-135M defaults): added for the scene VLM, `shared.vision.vlm`


def lm_layer_macs(tokens: int, dim: int = 576, heads: int = 9, kv_heads: int = 3, head_dim: int = 64,
                  mlp_hidden: int = 1536, causal: bool = True) -> int:  # fmt: skip
    """One Llama decoder layer on a prompt of `tokens` tokens: q/o projections, grouped k/v projections, attention
    scores and weighted values over the causal pairs (`T (T + 1) / 2`; all `T^2` pairs with `causal=False`), and the
    gated MLP's three matrices."""
    proj = 2 * tokens * dim * heads * head_dim + 2 * tokens * dim * kv_heads * head_dim
    pairs = tokens * (tokens + 1) // 2 if causal else tokens * tokens
    return proj + 2 * pairs * heads * head_dim + 3 * tokens * dim * mlp_hidden


def lm_prefill_macs(tokens: int, layers: int = 30, vocab: int = 49152, logits_for: int = 1, **shape) -> int:
    """A prefill of `tokens` prompt tokens through every layer, plus the output layer for `logits_for` positions
    (1: the next token). `shape`: `lm_layer_macs`'s keywords (defaults: SmolLM2-135M)."""
    dim = shape.get("dim", 576)
    return layers * lm_layer_macs(tokens, **shape) + logits_for * dim * vocab


def vlm_prefill_macs(n_visual: int, n_kept: int, n_text: int, d_vision: int = 384, projector_hidden: int = 1024,
                     selection: int = 0, **lm) -> int:  # fmt: skip
    """The VLM's prefill after the (shared, unpruned) encoder: the projector on all `n_visual` patch tokens, the
    selection's own cost, and the LM prefill on `n_kept` visual plus `n_text` text tokens. `lm`: `lm_prefill_macs`'s
    keywords."""
    dim = lm.get("dim", 576)
    projector = n_visual * (d_vision * projector_hidden + projector_hidden * dim)
    return projector + selection + lm_prefill_macs(n_kept + n_text, **lm)
