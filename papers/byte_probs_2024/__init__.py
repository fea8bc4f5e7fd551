"""Exact Byte-Level Probabilities from Tokenized Language Models for FIM-Tasks and Model Ensembles (catalog id 22)."""
