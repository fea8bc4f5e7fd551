"""EntropyPrune: Matrix Entropy Guided Visual Token Pruning for Multimodal Large Language Models (catalog id 151)."""
