"""Unintentional Unalignment: Likelihood Displacement in Direct Preference Optimization (catalog id 117)."""
