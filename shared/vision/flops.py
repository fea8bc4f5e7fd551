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
