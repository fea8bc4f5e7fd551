"""Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token Phenomena in LLMs (catalog id 57)."""
