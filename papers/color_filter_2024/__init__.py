"""CoLoR-Filter: Conditional Loss Reduction Filtering for Targeted Language Model Pre-training (catalog id 145)."""
