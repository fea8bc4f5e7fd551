"""Tokenization Matters! Degrading Large Language Models through Challenging Their Tokenization (catalog id 80)."""
