"""DivPrune: Diversity-based Visual Token Pruning for Large Multimodal Models (catalog id 15)."""
