"""ZIP-FIT: Embedding-Free Data Selection via Compression-Based Alignment (catalog id 173)."""
