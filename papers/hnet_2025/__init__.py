"""Dynamic Chunking for End-to-End Hierarchical Sequence Modeling (catalog id 125)."""
