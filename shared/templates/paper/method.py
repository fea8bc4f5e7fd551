"""
<Method>, after <authors>, "$title" (arXiv:$arxiv).

What is new in this paper, and only that: shared pieces live in `shared/`.

Deviations from the paper, on purpose:
- ...
"""
