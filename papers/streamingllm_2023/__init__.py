"""Efficient Streaming Language Models with Attention Sinks (catalog id 87)."""
