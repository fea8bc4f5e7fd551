"""SpecTr: Fast Speculative Decoding via Optimal Transport (catalog id 43)."""
