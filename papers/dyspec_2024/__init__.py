"""DySpec: Faster Speculative Decoding with Dynamic Token Tree Structure (catalog id 126)."""
