"""Learn Your Tokens: Word-Pooled Tokenization for Language Modeling (catalog id 61)."""
