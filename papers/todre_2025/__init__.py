"""ToDRE: Visual Token Pruning via Diversity and Task Awareness for Efficient Large Vision-Language Models (catalog id 139)."""
