"""Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement (catalog id 127)."""
