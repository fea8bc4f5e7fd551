"""Fast Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling (catalog id 3)."""
