"""Batch Speculative Decoding Done Right (catalog id 120)."""
