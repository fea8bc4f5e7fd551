"""Evaluation of aligned policies: log-likelihoods of chosen and rejected responses, and per-position KL and entropy
between two policies (where RL or DPO changed the next-token distribution)."""

import torch

from .losses import sequence_logps, shift_mask, token_logps


@torch.no_grad()
def preference_logps(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence log-likelihoods `[B]` of the chosen and of the rejected responses of a preference batch
    (`batches.collate_preferences` layout; token weights are ignored: these are plain likelihoods)."""
    logps = token_logps(model, batch["input_ids"], batch["attention_mask"])
    seq = sequence_logps(logps, shift_mask(batch["completion_mask"]))
    chosen, rejected = seq.chunk(2)
    return chosen, rejected


@torch.no_grad()
def next_token_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Full next-token log-distributions `[B, T - 1, V]` (column t predicts token t + 1)."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return torch.log_softmax(logits, dim=-1)


@torch.no_grad()
def per_position_divergence(model_p, model_q, input_ids: torch.Tensor,
                            attention_mask: torch.Tensor | None = None) -> dict:  # fmt: skip
    """Per-position KL(p || q) and the entropies of p and q, each `[B, T - 1]` (nats), on the same token sequences:
    KL_t = sum_v p_t(v) (log p_t(v) - log q_t(v)), H_t = -sum_v p_t(v) log p_t(v). Mask padding and prompt positions
    with `shift_mask(...)` before averaging."""
    lp, lq = (
        next_token_logprobs(model_p, input_ids, attention_mask),
        next_token_logprobs(model_q, input_ids, attention_mask),
    )
    p = lp.exp()
    return {"kl": (p * (lp - lq)).sum(-1), "entropy_p": -(p * lp).sum(-1), "entropy_q": -(lq.exp() * lq).sum(-1)}
