"""Explaining and Mitigating Crosslingual Tokenizer Inequities (catalog id 9)."""
