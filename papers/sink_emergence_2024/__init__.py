"""When Attention Sink Emerges in Language Models: An Empirical View (catalog id 103)."""
