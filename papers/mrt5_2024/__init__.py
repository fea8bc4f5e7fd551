"""MrT5: Dynamic Token Merging for Efficient Byte-level Language Models (catalog id 130)."""
