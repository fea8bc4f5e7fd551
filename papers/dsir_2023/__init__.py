"""Data Selection for Language Models via Importance Resampling (catalog id 162)."""
