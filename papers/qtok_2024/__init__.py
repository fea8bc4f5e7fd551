"""Qtok: A Comprehensive Framework for Evaluating Multilingual Tokenizer Quality in Large Language Models (catalog id 17)."""
