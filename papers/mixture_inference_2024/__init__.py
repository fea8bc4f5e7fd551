"""Data Mixture Inference: What do BPE Tokenizers Reveal about their Training Data? (catalog id 89)."""
