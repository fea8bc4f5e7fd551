"""Tiny from-scratch causal LMs: configs, the shared trainer, the project BPE tokenizer, and their DVC stages."""
