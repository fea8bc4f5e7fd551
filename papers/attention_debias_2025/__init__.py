"""Attention Debiasing for Token Pruning in Vision Language Models (catalog id 160)."""
