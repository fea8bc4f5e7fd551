"""Continuous Chain of Thought Enables Parallel Exploration and Reasoning (catalog id 176)."""
