"""Dual Process Learning: Controlling Use of In-Context vs. In-Weights Strategies with Weight Forgetting (catalog id 132)."""
