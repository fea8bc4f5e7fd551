"""Language Modeling with Learned Meta-Tokens (catalog id 79)."""
