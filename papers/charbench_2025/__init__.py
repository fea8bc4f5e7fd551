"""CharBench: Evaluating the Role of Tokenization in Character-Level Tasks (catalog id 105)."""
