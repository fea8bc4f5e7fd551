"""IDPruner: Harmonizing Importance and Diversity in Visual Token Pruning for MLLMs (catalog id 12)."""
