"""ZeroTuning: Unlocking the Initial Token's Power to Enhance Large Language Models Without Training (catalog id 98)."""
