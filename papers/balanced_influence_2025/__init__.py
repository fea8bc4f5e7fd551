"""Improving Influence-based Instruction Tuning Data Selection for Balanced Learning of Diverse Capabilities (catalog id 157)."""
