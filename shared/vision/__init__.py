"""Visual-token pruning and merging on a ViT: selection units on one interface, the hook that applies them at a chosen
layer of DINOv2, and FLOPs accounting.

- `select`: a unit maps a `TokenContext` (patch hidden states, keys, attention maps, grid) and a budget to a
  `Selection` (kept indices, and for merging units where each dropped token goes). Scorers (CLS attention, weighted
  PageRank) give one score per token and the base keeps the top ones; selectors (k-center, MMR, bipartite merging,
  Zero-TPrune's two stages, random, spatial downsampling) choose the set themselves.
- `vit`: `PrunedViT` runs a transformers `Dinov2Model` block by block and applies a unit before a chosen block; the
  CLS token is always kept; merged tokens carry their size (proportional attention, ToMe).
- `flops`: multiply-accumulates of a ViT per keep ratio, and of the selection itself.
"""

from shared.vision.flops import block_macs, selection_macs, vit_macs
from shared.vision.select import (
    SELECTORS,
    BipartiteMerge,
    CLSAttention,
    KCenter,
    MMRSelect,
    PageRank,
    RandomSelect,
    Scorer,
    Selection,
    SpatialDownsample,
    TokenContext,
    TokenSelector,
    ZeroTPrune,
    build_selector,
    n_keep_for,
)
from shared.vision.vit import PrunedViT

__all__ = [
    "SELECTORS", "BipartiteMerge", "CLSAttention", "KCenter", "MMRSelect", "PageRank", "PrunedViT", "RandomSelect",
    "Scorer", "Selection", "SpatialDownsample", "TokenContext", "TokenSelector", "ZeroTPrune", "block_macs",
    "build_selector", "n_keep_for", "selection_macs", "vit_macs",
]  # fmt: skip
