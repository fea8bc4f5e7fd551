"""Language models as *tree sessions*: score a token tree in one call, then keep only the accepted path.

A session holds a committed context (in a KV cache for real models) and one *root*: the last token, not yet scored.
`grow(tokens, parents)` appends tree nodes (node 0 is the root; a parent of -1 means "after the committed context")
and returns the next-token distribution at each new node, computed in one forward pass with a tree attention mask.
`commit(path, tokens, next_root)` keeps the path's nodes (root first) and drops every other node: the KV-cache rollback
of speculative decoding. A draft that never scored the tail of the path (its leaves) keeps those tokens as a backlog,
fed as a chain before the next root.

Implementations: `HFSession` (any transformers causal LM with a `DynamicCache`) and `TableLM` (a tiny random
n-gram model over a small vocabulary whose distributions can be enumerated: the ground truth of exactness tests).
"""

import hashlib

import torch


def probs_from_logits(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Next-token distributions `[..., V]` float64; temperature 0 is greedy (one-hot argmax, lowest id on ties)."""
    logits = logits.double()
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).double()
    return torch.softmax(logits / temperature, dim=-1)


class TreeSession:
    """The interface the decoders use; see the module docstring. `calls` counts forward passes."""

    vocab_size: int
    calls: int = 0

    def reset(self, prompt: list[int]) -> None:
        raise NotImplementedError

    def grow(self, tokens: list[int], parents: list[int], ids: list[int] | None = None) -> torch.Tensor:
        """Distributions `[n, V]` (float64) at the new nodes. `ids` names them (default: the next consecutive ids);
        `parents` are ids of nodes already grown in this tree, or -1 for the root."""
        raise NotImplementedError

    def commit(self, path: list[int], tokens: list[int], next_root: int) -> None:
        """Keep `path` (node ids, root first, tokens `tokens`); `next_root` becomes the new unscored root."""
        raise NotImplementedError


class TableLM(TreeSession):
    """A random n-gram LM over `vocab_size` tokens: `p(. | last `order` tokens) = softmax(scale * z)`, `z ~ N(0, 1)`
    seeded by the context, optionally mixed with another `TableLM` (`mix` of it), so that a draft can be made close
    to a target. Cheap, deterministic, and small enough to enumerate every sequence.
    """

    def __init__(self, vocab_size: int, order: int = 2, scale: float = 1.5, seed: int = 0, temperature: float = 1.0,
                 base: "TableLM | None" = None, mix: float = 0.0):  # fmt: skip
        self.vocab_size, self.order, self.scale, self.seed = vocab_size, order, scale, seed
        self.temperature, self.base, self.mix = temperature, base, mix
        self._memo: dict[tuple, torch.Tensor] = {}
        self.calls = 0

    def probs(self, context: list[int]) -> torch.Tensor:
        """`p(. | context)`, `[V]` float64, at this model's temperature (the base model's own temperature applies)."""
        key = tuple(context[-self.order :]) if self.order else ()
        if key not in self._memo:
            digest = hashlib.sha256(repr((self.seed, key)).encode()).digest()
            g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
            self._memo[key] = self.scale * torch.randn(self.vocab_size, generator=g, dtype=torch.float64)
        own = probs_from_logits(self._memo[key], self.temperature)
        if self.base is None or self.mix == 0:
            return own
        return (1 - self.mix) * own + self.mix * self.base.probs(context)

    def reset(self, prompt):
        self.context = list(prompt[:-1])
        self.backlog = []
        self.root = prompt[-1]
        self.nodes: dict[int, list[int]] = {}

    def grow(self, tokens, parents, ids=None):
        self.calls += 1
        ids = list(range(len(self.nodes), len(self.nodes) + len(tokens))) if ids is None else ids
        out = []
        for node, tok, par in zip(ids, tokens, parents):
            prefix = self.context + self.backlog if par < 0 else self.nodes[par]
            self.nodes[node] = prefix + [tok]
            out.append(self.probs(self.nodes[node]))
        return torch.stack(out)

    def commit(self, path, tokens, next_root):
        self.context = self.context + self.backlog + list(tokens)
        self.backlog, self.nodes, self.root = [], {}, next_root


class HFSession(TreeSession):
    """A transformers causal LM scoring token trees against its KV cache (batch size 1).

    Tree nodes are appended to the cache in creation order; each attends to the committed context, its ancestors and
    itself, at position `committed + depth`. Works for models whose cache layers are plain `DynamicLayer`s (Llama,
    Qwen2, SmolLM2); sliding-window layers would need a window-aware compaction.
    """

    def __init__(self, model, temperature: float = 1.0):
        self.model, self.temperature = model, temperature
        self.vocab_size = model.config.vocab_size
        self.calls = 0
        p = next(model.parameters())
        self.dtype, self.device = p.dtype, p.device

    def reset(self, prompt):
        from transformers import DynamicCache

        self.cache = DynamicCache(config=self.model.config)
        self.committed = 0  # tokens in the cache that belong to the context
        self.backlog = list(prompt[:-1])
        self.slot: dict[int, int] = {}  # tree node id -> its offset among this tree's cache entries
        self.parent: dict[int, int] = {}
        self.depth: dict[int, int] = {}

    @torch.no_grad()
    def grow(self, tokens, parents, ids=None):
        self.calls += 1
        nb = len(self.backlog) if not self.slot else 0
        ids = list(range(len(self.slot), len(self.slot) + len(tokens))) if ids is None else ids
        inputs = (self.backlog if nb else []) + list(tokens)
        base = self.committed + nb  # cache index of the tree's first slot
        n_old = len(self.slot)
        for j, (node, par) in enumerate(zip(ids, parents)):
            self.slot[node] = n_old + j
            self.parent[node] = par
            self.depth[node] = 0 if par < 0 else self.depth[par] + 1
        n, kv = len(inputs), base + len(self.slot)
        visible = torch.zeros(n, kv, dtype=torch.bool)
        visible[:, : self.committed] = True
        for r in range(nb):  # the backlog is an ordinary causal chain
            visible[r, self.committed : self.committed + r + 1] = True
        for j, node in enumerate(ids):
            visible[nb + j, :base] = True
            while node >= 0:
                visible[nb + j, base + self.slot[node]] = True
                node = self.parent[node]
        mask = torch.zeros(1, 1, n, kv, dtype=self.dtype).masked_fill(~visible, torch.finfo(self.dtype).min)
        pos = list(range(self.committed, base)) + [base + self.depth[node] for node in ids]
        out = self.model(input_ids=torch.tensor([inputs], device=self.device), attention_mask=mask.to(self.device),
                         position_ids=torch.tensor([pos], device=self.device), past_key_values=self.cache,
                         use_cache=True)  # fmt: skip
        if nb:
            self.committed += nb
            self.backlog = []
        return probs_from_logits(out.logits[0, nb:].float(), self.temperature)

    def commit(self, path, tokens, next_root):
        scored = [node for node in path if node in self.slot]  # a prefix of the path: ancestors are scored first
        slots = torch.tensor([self.slot[node] for node in scored], dtype=torch.long)
        keep = torch.cat([torch.arange(self.committed), self.committed + slots])
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(-2, keep.to(layer.keys.device))
            layer.values = layer.values.index_select(-2, keep.to(layer.values.device))
        self.committed += len(scored)
        self.backlog = list(tokens[len(scored) :])
        self.slot, self.parent, self.depth = {}, {}, {}
