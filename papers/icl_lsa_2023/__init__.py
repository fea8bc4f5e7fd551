"""Trained Transformers Learn Linear Models In-Context (catalog id 122)."""
