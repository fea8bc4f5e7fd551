"""Skill-it! A Data-Driven Skills Framework for Understanding and Training Language Models (catalog id 168)."""
