"""Language Models Improve When Pretraining Data Matches Target Tasks (catalog id 147)."""
