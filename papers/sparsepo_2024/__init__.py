"""SparsePO: Controlling Preference Alignment of LLMs via Sparse Token Masks (catalog id 2)."""
