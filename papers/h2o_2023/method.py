"""
H2O, after Zhang, Sheng, Zhou, Chen, Zheng, Cai, Song, Tian, Ré, Barrett, Wang & Chen, "H2O: Heavy-Hitter Oracle for
Efficient Generative Inference of Large Language Models" (arXiv:2306.14048, NeurIPS 2023).

The eviction policy itself (`HeavyHitter`: accumulated attention per key-value head, plus a recent window) and the
streaming evaluation live in `shared.kvcache`; this module holds only the paper's budget split and the
heavy-hitter statistic of its Sec. 3.

Deviations from the paper, on purpose:
- The model is SmolLM2-135M-Instruct (grouped-query attention: scores are summed over the query heads that share a
  key-value head), not OPT/LLaMA/GPT-NeoX; quality is streaming perplexity on KJV books, not lm-eval-harness tasks.
- Budgets are fixed token counts over a streamed document (the paper's "20% KV cache" is 20% of the sequence); the
  default run streams 8 documents of 150 tokens with a 30-token cache (20%).
- Controls the paper does not run: besides random eviction with the same recent window (its Sec. 3.2 ablation), random
  eviction that also keeps the first 4 tokens (the attention sinks), the cheapest policy that could explain H2O's
  gain away.
- Throughput against DeepSpeed/FlexGen (the 29x claim) is not measured: CPU only, and those systems are GPU offloading
  engines. Decode cost is compared with transformers' own `DynamicCache` instead.
"""

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


def uniform_topk_mass(T: int, frac: float) -> float:
    """The share the top `frac` of keys would collect if every query attended uniformly to its causal past: the
    baseline that `shared.kvcache.topk_mass` must beat for attention to count as concentrated.

    Key j then accumulates sum_{t >= j} 1 / (t + 1); the earliest keys are the top ones.
    """
    col = [sum(1.0 / (t + 1) for t in range(j, T)) for j in range(T)]
    k = max(1, round(frac * T))
    return sum(sorted(col, reverse=True)[:k]) / sum(col)
