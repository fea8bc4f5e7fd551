"""Toward a Theory of Tokenization in LLMs (catalog id 189)."""
