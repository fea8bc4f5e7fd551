"""Tokenization Standards for Linguistic Integrity: Turkish as a Benchmark (catalog id 28)."""
