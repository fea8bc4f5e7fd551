"""
StreamingLLM, after Xiao, Tian, Chen, Han & Lewis, "Efficient Streaming Language Models with Attention Sinks"
(arXiv:2309.17453, ICLR 2024).

The policy itself (`SinkWindow`: the first few tokens plus a window of recent ones) and the streaming evaluation live
in `shared.kvcache`; this module holds only what this replication adds: the perplexity over the
tokens read after the cache first evicted, and the attention-sink statistic of the paper's Fig. 2.

Deviations from the paper, on purpose:
- Texts are KJV books (one document per book), not PG-19; the model is SmolLM2-135M-Instruct (Q4_1 GGUF dequantised),
  not Llama-2/MPT/Falcon/Pythia; caches hold 32 tokens (paper: 1024-4096) over 8 documents of 128 tokens by default.
- Streaming stays inside the model's 8k training length, so "original" positions are used for the one-pass masked
  evaluation (exactly equal to the cached streaming loop, checked in the notebook); the paper's in-cache positions
  are available in `shared.kvcache` (`positions="cache"`) and run in the `full` profile.
"""

import torch


def ppl_after(nll: torch.Tensor, start: int) -> torch.Tensor:
    """Per-document perplexity over predictions from position `start` on.

    Args:
        nll (torch.Tensor): `[B, T-1]`, entry t is `-log p(x_{t+1} | x_{<=t})`.
        start (int): first query position counted (e.g. `budget + 1`, the first query that misses an evicted token).

    Returns:
        torch.Tensor: `[B]`, float64.
    """
    return nll[:, start:].double().mean(-1).exp()


def sink_share(attn: torch.Tensor, first_layer: int = 2, skip: int = 16) -> float:
    """Mean attention that queries put on the first token, over heads of layers `>= first_layer` and queries past
    `skip` (the paper's Fig. 2 observation is about layers above the bottom two).

    Args:
        attn (torch.Tensor): `[L, H, T, T]` attention probabilities.
    """
    return float(attn[first_layer:, :, skip:, 0].mean())
