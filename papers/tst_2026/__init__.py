"""A Triadic Suffix Tokenization Scheme for Numerical Reasoning (catalog id 6)."""
