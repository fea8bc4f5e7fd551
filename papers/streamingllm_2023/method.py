"""
StreamingLLM, after Xiao, Tian, Chen, Han & Lewis, "Efficient Streaming Language Models with Attention Sinks"
(arXiv:2309.17453, ICLR 2024).

The policy itself (`SinkWindow`: the first few tokens plus a window of recent ones) and the streaming evaluation live
in `shared.kvcache`; this module holds only what this replication adds: the perplexity over the
tokens read after the cache first evicted, the attention-sink statistic of the paper's Fig. 2, and the documents of
the paper's Table 1 "\\n"-sink row (the first four tokens replaced by line breaks, then kept as the sinks).

Deviations from the paper, on purpose:
- Texts are KJV books (one document per book), not PG-19; the model is SmolLM2-135M-Instruct (Q4_1 GGUF dequantised),
  not Llama-2/MPT/Falcon/Pythia; caches hold 32 tokens (paper: 1024-4096) over 16 documents of 80 tokens by default
  and 66 documents (every KJV book) of 128 tokens in the `full` profile.
- The "\\n" sinks replace the first four tokens of each document (the paper's Sec. 3.1 protocol: "the first four
  tokens are substituted with the linebreak token"), so the scored tokens, their positions and their recent windows
  are those of the 4+w run on the original text; only what the four sink slots hold differs.
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


def substitute_sinks(docs: torch.Tensor, token_id: int, k: int) -> torch.Tensor:
    """The documents with their first `k` tokens replaced by `token_id` (Table 1's `4"\\n"+1020` row: the sinks a
    `SinkWindow(budget, n_sink=k)` then keeps are line breaks, not the text's first tokens).

    Args:
        docs (torch.Tensor): `[D, T]` token ids.

    Returns:
        torch.Tensor: a new `[D, T]` tensor; `docs` is left unchanged.
    """
    if not 0 < k < docs.shape[-1]:
        raise ValueError(f"k must be in 1..{docs.shape[-1] - 1}, got {k}")
    out = docs.clone()
    out[..., :k] = token_id
    return out
