"""ssToken: Self-modulated and Semantic-aware Token Selection for LLM Fine-tuning (catalog id 27)."""
