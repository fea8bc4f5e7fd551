"""MMTok: Multimodal Coverage Maximization for Efficient Inference of VLMs (catalog id 136)."""
