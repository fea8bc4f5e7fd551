"""Small vocabularies from a tokenised corpus, and the no-context loss floor that goes with them.

The family's CPU-sized models spend most of their compute in the output layer when they keep the project BPE's full
vocabulary; papers that study attention rather than rare words map the corpus onto its most frequent tokens first.
"""

import torch


def frequent_vocab(tokens: torch.Tensor, keep: int, vocab_size: int) -> torch.Tensor:
    """A lookup `[vocab_size]` from corpus ids to `keep + 1` ids: the `keep` most frequent tokens of `tokens` `[N]` by
    rank (0 = the most frequent; ties by id), every other token the shared id `keep`.

    `lookup[tokens]` is the mapped stream; its vocabulary size is `keep + 1`.
    """
    if keep < 1 or keep > vocab_size:
        raise ValueError(f"keep={keep} must lie in 1..vocab_size ({vocab_size})")
    if tokens.numel() and int(tokens.max()) >= vocab_size:
        raise ValueError(f"token id {int(tokens.max())} is outside vocab_size {vocab_size}")
    counts = torch.bincount(tokens, minlength=vocab_size)
    order = counts.argsort(descending=True, stable=True)
    lookup = torch.full((vocab_size,), keep, dtype=torch.long)
    lookup[order[:keep]] = torch.arange(keep)
    return lookup


def unigram_loss(train: torch.Tensor, held_out: torch.Tensor, vocab: int, smoothing: float) -> float:
    """Mean cross-entropy (nats per token) of `held_out` under the add-`smoothing` unigram distribution of `train`: the
    loss of a predictor that sees no context, the floor a language model must beat to have learned anything else."""
    counts = torch.bincount(train, minlength=vocab).double() + smoothing
    logp = (counts / counts.sum()).log()
    return float(-logp[held_out].mean())
