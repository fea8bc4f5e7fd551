"""KV-cache policies: which cached tokens to keep, as small units on one base class.

A policy sees one layer's cache, `[B, H, T, D]` keys and values (H = key-value heads), after each model step and
returns the slots to keep, `[B, H, K]`, sorted. A *selection* policy (`is_selection`, `TokenSelect`) evicts nothing and
instead chooses, for every query, which cached tokens attention reads. The base class owns the budget, the always-kept sink and recent
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
    # a selection policy keeps the whole cache and chooses, per query and layer, which tokens attention reads
    # (`select_mask`); `budget` is then the number of past tokens each query attends, not the cache size
    is_selection = False

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

    def select_mask(self, layer: int, query: torch.Tensor, keys: torch.Tensor, scaling: float) -> torch.Tensor:
        """For selection policies: what each of this step's `Q` queries (the last `Q` of the `T` cached positions) may
        attend, `[B, Q, T]` bool. `query`: `[B, H_q, Q, D]`; `keys`: `[B, H_kv, T, D]`; `scaling`: the logit scale."""
        raise NotImplementedError(f"{type(self).__name__} is not a selection policy")

    def select_slots(self, layer: int, query: torch.Tensor, keys: torch.Tensor, scaling: float) -> torch.Tensor | None:
        """For selection policies, one decoding query of one document (`query` `[1, H_q, 1, D]`): the attended slots,
        `[K']` sorted, or `None` for all of them. Policies may override this with a faster path."""
        return self.select_mask(layer, query, keys, scaling)[0, 0].nonzero().flatten()

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


@dataclass
class TokenSelect(KVPolicy):
    """TokenSelect (arXiv:2411.02886): a *selection* policy. The whole cache is kept; at every step each layer lets
    attention read only `budget` past tokens: the first `n_sink`, the last `n_recent` and the top-k others by
    query-key criticality, chosen by a per-head soft vote (each query head's softmax over the candidates, summed over
    heads; one choice shared by all heads of the layer). Each query always reads itself as well.

    With `threshold`, the Selection Cache: a layer reuses its last top-k choice while the cosine similarity between the
    current query (all heads flattened) and the query that made that choice stays at or above `threshold`.

    Args:
        budget (int | list[int] | None): past tokens attended per query and layer (sinks + recent + top-k); `None`
            attends everything.
        n_sink (int): initial tokens always attended.
        n_recent (int): most recent past tokens always attended.
        threshold (float | None): Selection Cache similarity threshold (the official code uses 0.9); `None` selects
            afresh at every step.
        fast (bool): the fast paths: the rows of a multi-token step vectorised (one pass over a whole document)
            and the sliced decoding path (`select_slots`); `False` runs the per-row reference (`select_row`) for all.
    """

    n_sink: int = 4
    n_recent: int = 16
    threshold: float | None = None
    fast: bool = True
    is_selection = True
    # per layer: (query fingerprint `[B, Hq*D]`, top-k slots `[B, k]`) of the last fresh selection
    memo: dict = field(default_factory=dict, repr=False)
    # counters over all layers and rows: fresh selections, reused ones, tokens attended and tokens visible
    counts: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        super().__post_init__()
        self.reset()

    def reset(self):
        self.memo = {}
        self.counts = {"selected": 0, "reused": 0, "attended": 0, "visible": 0}

    def score(self, layer, keys, values):
        raise NotImplementedError("TokenSelect scores tokens per query (see `criticality`), not per cache")

    def keep_indices(self, layer, keys, values):
        """A selection policy evicts nothing: every slot, `[B, H, T]`."""
        B, H, T, _ = keys.shape
        return torch.arange(T).expand(B, H, T)

    def stats(self) -> dict:
        """`reuse`: share of selections served by the Selection Cache; `attended`: attended / visible tokens, over
        every query row and layer since `reset` (the share of attention compute that remains)."""
        c = self.counts
        decided = c["selected"] + c["reused"]
        return {"reuse": c["reused"] / decided if decided else 0.0,
                "attended": c["attended"] / c["visible"] if c["visible"] else 1.0}  # fmt: skip

    @staticmethod
    def criticality(query: torch.Tensor, keys: torch.Tensor, candidates: torch.Tensor, scaling: float) -> torch.Tensor:
        """The head-wise soft vote for one query per document: each query head's softmax of its scaled dot products
        over the candidate tokens, summed over heads.

        Args:
            query (torch.Tensor): `[B, Hq, D]` (rotary already applied).
            keys (torch.Tensor): `[B, Hkv, T, D]`; query head h reads key-value head h // (Hq / Hkv).
            candidates (torch.Tensor): `[T]` bool, the tokens that compete for the top-k.
            scaling (float): the attention's logit scale.

        Returns:
            torch.Tensor: `[B, T]` float32, zero outside the candidates.
        """
        groups = query.shape[1] // keys.shape[1]
        k = keys.float().repeat_interleave(groups, dim=1)  # [B, Hq, T, D]
        logits = torch.einsum("bhd,bhtd->bht", query.float(), k) * scaling
        logits = logits.masked_fill(~candidates, float("-inf"))
        return torch.softmax(logits, dim=-1).nan_to_num(0.0).sum(1)

    def _topk(self, layer: int) -> int:
        return self.layer_budget(layer) - self.n_sink - self.n_recent

    def select_row(self, layer: int, query: torch.Tensor, keys: torch.Tensor, t: int, scaling: float) -> torch.Tensor:
        """The reference: what the query at position `t` attends, one row, with the Selection Cache.

        Args:
            query (torch.Tensor): `[B, Hq, D]`, the query of position `t`.
            keys (torch.Tensor): `[B, Hkv, T, D]` with `T > t` (slots are positions: nothing is evicted).

        Returns:
            torch.Tensor: `[B, T]` bool, True where attention may read.
        """
        B, T = keys.shape[0], keys.shape[2]
        pos = torch.arange(T)
        causal = (pos <= t).expand(B, T)
        budget = self.layer_budget(layer)
        if budget is None or t <= budget:  # every past token fits in the budget
            self._count(causal)
            return causal.clone()
        forced = (pos < self.n_sink) | ((pos >= t - self.n_recent) & (pos <= t))
        candidates = (pos >= self.n_sink) & (pos < t - self.n_recent)
        fingerprint = query.flatten(1).float()  # [B, Hq*D]
        memo = self.memo.get(layer) if self.threshold is not None else None
        reuse = torch.zeros(B, dtype=torch.bool)
        if memo is not None:
            reuse = torch.cosine_similarity(fingerprint, memo[0], dim=-1) >= self.threshold
        if reuse.all():  # the Selection Cache's saving: no scores at all this step
            chosen, fingerprint = memo[1], memo[0]
        else:
            chosen = self.criticality(query, keys, candidates, scaling).topk(self._topk(layer), dim=-1).indices
            if memo is not None:
                chosen = torch.where(reuse[:, None], memo[1], chosen)
                fingerprint = torch.where(reuse[:, None], memo[0], fingerprint)
        if self.threshold is not None:
            self.memo[layer] = (fingerprint, chosen)
        self.counts["reused"] += int(reuse.sum())
        self.counts["selected"] += int((~reuse).sum())
        mask = forced.expand(B, T).clone()
        mask.scatter_(1, chosen, True)
        self._count(mask, causal)
        return mask

    def _count(self, mask: torch.Tensor, visible: torch.Tensor | None = None) -> None:
        self.counts["attended"] += int(mask.sum())
        self.counts["visible"] += int((mask if visible is None else visible).sum())

    def select_mask(self, layer: int, query: torch.Tensor, keys: torch.Tensor, scaling: float) -> torch.Tensor:
        """What each of this step's queries may attend: `[B, Q, T]` bool. The queries are the last `Q` positions of
        the `T` cached ones. Rows go through `select_row` one by one unless `fast` (then `_select_rows`).

        Args:
            query (torch.Tensor): `[B, Hq, Q, D]`; keys: `[B, Hkv, T, D]`.
        """
        Q, T = query.shape[2], keys.shape[2]
        if self.fast and Q > 1:
            return self._select_rows(layer, query, keys, scaling)
        return torch.stack([self.select_row(layer, query[:, :, i], keys, T - Q + i, scaling) for i in range(Q)], 1)

    def select_slots(self, layer, query, keys, scaling):
        """The decoding fast path (one query, one document), equal to `select_row`: scores only the candidate range
        (a slice, no mask), grouped-query matmul without repeating keys, and no score at all when the Selection
        Cache hits. Returns the attended slots `[K']` sorted, or `None` when the whole past fits in the budget."""
        if not self.fast:
            return super().select_slots(layer, query, keys, scaling)
        Hq, D, (_, Hkv, T, _) = query.shape[1], query.shape[3], keys.shape
        t, budget = T - 1, self.layer_budget(layer)
        if budget is None or t <= budget:
            self.counts["attended"] += T
            self.counts["visible"] += T
            return None
        memo = self.memo.get(layer) if self.threshold is not None else None
        fingerprint = query.reshape(1, Hq * D).float()
        if memo is not None and torch.cosine_similarity(fingerprint, memo[0], dim=-1).item() >= self.threshold:
            chosen = memo[1][0]
            self.counts["reused"] += 1
        else:
            lo, hi = self.n_sink, t - self.n_recent
            logits = query.float().view(Hkv, Hq // Hkv, D) @ keys[0, :, lo:hi].float().transpose(1, 2)  # [Hkv, G, C]
            chosen = torch.softmax(logits * scaling, dim=-1).sum((0, 1)).topk(self._topk(layer)).indices + lo
            self.counts["selected"] += 1
            if self.threshold is not None:
                self.memo[layer] = (fingerprint, chosen[None])
        slots = torch.cat([torch.arange(self.n_sink), chosen.sort().values, torch.arange(t - self.n_recent, T)])
        self.counts["attended"] += len(slots)
        self.counts["visible"] += T
        return slots

    def _select_rows(self, layer: int, query: torch.Tensor, keys: torch.Tensor, scaling: float) -> torch.Tensor:
        """The vectorised `select_row` over all Q rows: one batched soft vote and top-k, then only the Selection
        Cache's reuse chain walks the rows (it is sequential by nature), on small index tensors."""
        B, Hq, Q, _ = query.shape
        T = keys.shape[2]
        t = torch.arange(T - Q, T)[:, None]  # [Q, 1] row positions
        pos = torch.arange(T)[None, :]  # [1, T]
        causal = (pos <= t).expand(B, Q, T)
        budget = self.layer_budget(layer)
        if budget is None or T - 1 <= budget:
            self._count(causal)
            return causal.clone()
        k = self._topk(layer)
        groups = Hq // keys.shape[1]
        candidates = (pos >= self.n_sink) & (pos < t - self.n_recent)  # [Q, T]
        logits = query.float() @ keys.float().repeat_interleave(groups, dim=1).transpose(2, 3) * scaling  # [B,Hq,Q,T]
        vote = torch.softmax(logits.masked_fill(~candidates, float("-inf")), -1).nan_to_num(0.0).sum(1)  # [B, Q, T]
        top = vote.topk(min(k, T), dim=-1).indices  # [B, Q, k]; rows with t <= budget are replaced below
        selecting = (t[:, 0] > budget).expand(B, Q)  # rows that select at all
        if self.threshold is not None:
            fp = query.transpose(1, 2).flatten(2).float()  # [B, Q, Hq*D]
            top = top.clone()
            memo = self.memo.get(layer)
            reused = torch.zeros(B, Q, dtype=torch.bool)
            for i in torch.nonzero(selecting[0]).flatten().tolist():
                if memo is not None:
                    reuse = torch.cosine_similarity(fp[:, i], memo[0], dim=-1) >= self.threshold
                    top[:, i] = torch.where(reuse[:, None], memo[1], top[:, i])
                    memo = (torch.where(reuse[:, None], memo[0], fp[:, i]), top[:, i])
                    reused[:, i] = reuse
                else:
                    memo = (fp[:, i], top[:, i])
            if memo is not None:
                self.memo[layer] = memo
            self.counts["reused"] += int(reused.sum())
            self.counts["selected"] += int((selecting & ~reused).sum())
        else:
            self.counts["selected"] += int(selecting.sum())
        forced = (pos < self.n_sink) | ((pos >= t - self.n_recent) & (pos <= t))  # [Q, T]
        mask = forced.expand(B, Q, T).clone()
        mask.scatter_(2, top, True)
        mask = torch.where(selecting[..., None], mask & causal, causal)
        self._count(mask, causal)
        return mask


POLICIES["token_select"] = TokenSelect
