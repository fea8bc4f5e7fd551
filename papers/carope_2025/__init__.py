"""Context-aware Rotary Position Embedding (catalog id 90)."""
