"""
H2O, after Zhang, Sheng, Zhou, Chen, Zheng, Cai, Song, Tian, Ré, Barrett, Wang & Chen, "H2O: Heavy-Hitter Oracle for
Efficient Generative Inference of Large Language Models" (arXiv:2306.14048, NeurIPS 2023).

The eviction policy itself (`HeavyHitter`: accumulated attention per key-value head, plus a recent window) and the
streaming evaluation live in `shared.kvcache`; this module holds only the paper's budget split and the
attention-sparsity statistic of its Sec. 3.1 (scores below 1% of their row's maximum).

Deviations from the paper, on purpose:
- The model is SmolLM2-135M-Instruct (grouped-query attention: scores are summed over the query heads that share a
  key-value head), not OPT/LLaMA/GPT-NeoX; quality is streaming perplexity on KJV books, not lm-eval-harness tasks.
- Budgets are fixed token counts over a streamed document (the paper's "20% KV cache" is 20% of the sequence); the
  default run streams 10 documents of 100 tokens with a 20-token cache (20%), the `full` profile 58 of 150
  tokens with a 30-token cache.
- Sparsity counts the causal entries of each attention matrix only (the keys a KV cache can hold); the paper does
  not say whether its count includes the masked upper triangle (`with_masked_entries` gives that reading too).
- Controls the paper does not run: besides random eviction with the same recent window (its Sec. 3.2 ablation), random
  eviction that also keeps the first 4 tokens (the attention sinks), the cheapest policy that could explain H2O's
  gain away.
- Throughput against DeepSpeed/FlexGen (the 29x claim) is not measured: CPU only, and those systems are GPU offloading
  engines. Decode cost is compared with transformers' own `DynamicCache` instead.
"""

import torch

from shared.kvcache import HeavyHitter, RandomEviction, SinkWindow


def h2o_policies(budget: int, heavy_share: float = 0.5) -> dict:
    """The policies compared at one cache size: H2O (heavy hitters + recent), the local window, StreamingLLM,
    random eviction with the same recent window, and the same random eviction that also keeps the first 4 tokens
    (the sink-protected random control).

    Args:
        budget (int): cached tokens per layer and key-value head.
        heavy_share (float): the share of the budget for heavy hitters; the rest is the recent window (the paper's
            default splits the budget evenly).
    """
    recent = budget - round(heavy_share * budget)
    return {
        "H2O": HeavyHitter(budget=budget, n_recent=recent),
        "local window": SinkWindow(budget=budget, n_sink=0),
        "StreamingLLM": SinkWindow(budget=budget, n_sink=4),
        "random + recent": RandomEviction(budget=budget, n_recent=recent, seed=0),
        "random + sinks + recent": RandomEviction(budget=budget, n_sink=4, n_recent=recent, seed=0),
    }


def sparsity(attn: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """The paper's attention sparsity (Sec. 3.1): the share of the normalized attention scores that fall below
    `threshold` times the maximum of their row, counted over the causal entries only (the keys a query can see, the
    ones a KV cache holds); the masked upper triangle, zero by construction, is left out.

    Args:
        attn (torch.Tensor): attention probabilities `[..., T, T]` (rows: queries, causal).
        threshold (float): the share of the row maximum below which a score counts as zero (the paper: 1%).

    Returns:
        torch.Tensor: `attn.shape[:-2]`, the share of causal entries below the threshold.
    """
    T = attn.shape[-1]
    causal = torch.ones(T, T, dtype=torch.bool, device=attn.device).tril()
    small = (attn < threshold * attn.amax(-1, keepdim=True)) & causal
    return small.sum((-2, -1)).double() / causal.sum()


def with_masked_entries(s: torch.Tensor | float, T: int):
    """The same sparsity if the masked upper triangle of a `T x T` causal matrix (zeros) were counted as sparse
    entries too, the other reading of the paper's definition."""
    n_causal, n_masked = T * (T + 1) / 2, T * (T - 1) / 2
    return (s * n_causal + n_masked) / (T * T)


@torch.no_grad()
def layer_sparsity(model, ids: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Layer-wise attention sparsity of one document, `[L]`: `sparsity` pooled over the heads of each layer (the
    paper's Fig. 2(a) quantity). Each layer's attention weights are reduced as soon as they are computed (a forward
    hook), so long documents need no `[L, H, T, T]` tensor.

    Args:
        model: a causal LM of the zoo (switched to eager attention for the call).
        ids (torch.Tensor): token ids `[T]`.
    """
    out, hooks = {}, []

    def hook(module, args, output):
        out[module.layer_idx] = sparsity(output[1][0].float(), threshold).mean().item()  # heads have equal size
        return output[0], None

    attn_modules = [m for m in model.modules() if hasattr(m, "k_proj")]
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        hooks = [m.register_forward_hook(hook) for m in attn_modules]
        model(input_ids=ids.view(1, -1))
    finally:
        for h in hooks:
            h.remove()
        model.set_attn_implementation(before)
    return torch.tensor([out[i] for i in range(len(attn_modules))], dtype=torch.float64)
