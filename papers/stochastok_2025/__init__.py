"""StochasTok: Improving Fine-Grained Subword Understanding in LLMs (catalog id 183)."""
