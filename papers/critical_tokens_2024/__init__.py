"""Critical Tokens Matter: Token-Level Contrastive Estimation Enhence LLM's Reasoning Capability (catalog id 69)."""
