"""Broken-Token: Filtering Obfuscated Prompts by Counting Characters-Per-Token (catalog id 194)."""
