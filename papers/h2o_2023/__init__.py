"""H_2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models (catalog id 66)."""
