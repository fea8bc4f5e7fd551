"""KV-cache policies: which cached tokens to keep, as small units on one base class.

A policy sees one layer's cache, `[B, H, T, D]` keys and values (H = key-value heads), after each model step and
returns the slots to keep, `[B, H, K]`, sorted. The base class owns the budget, the always-kept sink and recent
tokens, top-k and the bookkeeping; a policy usually only defines `score` (higher = keep). Slots are always ordered by
position, so slot 0 is the oldest token still cached and the last slot is the newest.
"""

from dataclasses import dataclass, field

import torch


@dataclass
class KVPolicy:
    """Base policy: keep `budget` tokens per head and layer; the first `n_sink` and the last `n_recent` are forced.

    Args:
        budget (int | list[int] | None): tokens kept per (layer, head) after every step; a list gives one budget per
            layer; `None` keeps everything (the full cache).
        n_sink (int): initial tokens that are never evicted (attention sinks).
        n_recent (int): most recent tokens that are never evicted.
    """

    budget: int | list[int] | None = None
    n_sink: int = 0
    n_recent: int = 0
    # whether `observe` must be fed attention weights (the model then runs with eager attention)
    needs_attention = False
    # a policy whose kept set depends only on positions can be evaluated in one pass with an attention mask
    is_static = False

    def __post_init__(self):
        for b in self._budgets():
            if b is not None and b < self.n_sink + self.n_recent:
                raise ValueError(f"budget {b} < n_sink {self.n_sink} + n_recent {self.n_recent}")

    def _budgets(self) -> list:
        return self.budget if isinstance(self.budget, list) else [self.budget]

    def layer_budget(self, layer: int) -> int | None:
        return self.budget[layer] if isinstance(self.budget, list) else self.budget

    def reset(self) -> None:
        """Forget per-sequence state before a new sequence."""

    def observe(self, layer: int, attn: torch.Tensor) -> None:
        """Attention of this step's queries over the cache, `[B, H, Q, T]` (H = key-value heads, summed over groups)."""

    def score(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Importance of each cached slot, `[B, H, T]`, float; higher is kept first."""
        raise NotImplementedError

    def keep_indices(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """The reference selection: forced sinks and recent tokens, then the top scores; `[B, H, K]`, sorted."""
        B, H, T, _ = keys.shape
        K = self.layer_budget(layer)
        scores = self.score(layer, keys, values).float().clone()  # [B, H, T]
        scores[..., : self.n_sink] = float("inf")
        if self.n_recent:
            scores[..., T - self.n_recent :] = float("inf")
        return scores.topk(K, dim=-1).indices.sort(dim=-1).values

    def evicted(self, layer: int, keep: torch.Tensor) -> None:
        """Called with the kept slots `[B, H, K]` after an eviction, to realign per-slot state."""

    def static_mask(self, T: int) -> torch.Tensor:
        """For static policies: `[T, T]` bool, query t may attend key j. Query t sees the cache left after step t-1
        (`budget` tokens) plus itself, exactly as in the streaming loop."""
        raise NotImplementedError(f"{type(self).__name__} is not static")


@dataclass
class FullCache(KVPolicy):
    """Keep everything: the dense baseline."""

    is_static = True

    def score(self, layer, keys, values):
        return torch.zeros(keys.shape[:3])

    def static_mask(self, T):
        return torch.ones(T, T, dtype=torch.bool).tril()


@dataclass
class SinkWindow(KVPolicy):
    """StreamingLLM (arXiv:2309.17453): the first `n_sink` tokens plus a window of the most recent ones.
    `n_sink=0` is plain window attention."""

    n_sink: int = 4
    is_static = True

    def score(self, layer, keys, values):
        B, H, T, _ = keys.shape
        return torch.arange(T, dtype=torch.float32).expand(B, H, T)  # recency

    def static_mask(self, T):
        t = torch.arange(T)
        causal = t[:, None] >= t[None, :]
        window = self.budget - self.n_sink
        return causal & ((t[None, :] < self.n_sink) | (t[:, None] - t[None, :] <= window))


@dataclass
class HeavyHitter(KVPolicy):
    """H2O (arXiv:2306.14048): keep the tokens with the largest attention accumulated over all queries since they
    entered the cache, plus the `n_recent` most recent tokens. Per layer and per key-value head."""

    needs_attention = True
    acc: dict = field(default_factory=dict, repr=False)

    def reset(self):
        self.acc = {}

    def observe(self, layer, attn):
        col = attn.float().sum(dim=2)  # [B, H, T]
        old = self.acc.get(layer)
        if old is not None:
            col[..., : old.shape[-1]] += old
        self.acc[layer] = col

    def score(self, layer, keys, values):
        return self.acc[layer]

    def evicted(self, layer, keep):
        self.acc[layer] = self.acc[layer].gather(-1, keep)


@dataclass
class RandomEviction(KVPolicy):
    """Control: keep random slots (besides the forced ones). Seeded, so runs repeat."""

    seed: int = 0
    gen: torch.Generator | None = field(default=None, repr=False)

    def reset(self):
        self.gen = torch.Generator().manual_seed(self.seed)

    def score(self, layer, keys, values):
        if self.gen is None:
            self.reset()
        return torch.rand(keys.shape[:3], generator=self.gen)


POLICIES = {"full": FullCache, "sink_window": SinkWindow, "heavy_hitter": HeavyHitter, "random": RandomEviction}
