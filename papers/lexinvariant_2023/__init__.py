"""Lexinvariant Language Models (catalog id 25)."""
