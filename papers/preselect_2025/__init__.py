"""Predictive Data Selection: The Data That Predicts Is the Data That Teaches (catalog id 146)."""
