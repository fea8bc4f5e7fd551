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


def _tree_inputs_reference(committed: int, backlog: int, n_old: int, new_parents: list[int | None],
                           old_parents: list[int | None], old_depths: list[int]) -> tuple[torch.Tensor, list[int]]:  # fmt: skip
    """The tree attention mask and positions of one `HFSession.grow` call, built node by node (the original loops;
    the reference that `_tree_inputs` is tested against).

    Args:
        committed (int): context tokens in the cache.
        backlog (int): backlog tokens fed before the tree's new nodes (a causal chain after the context).
        n_old (int): tree nodes already in the cache (slots `0..n_old-1`, after the context and any earlier backlog).
        new_parents (list): for each new node (slots `n_old, n_old+1, ...`), its parent's slot, or None at the root.
        old_parents, old_depths (list): the parent slot (or None) and depth of each old slot.

    Returns:
        (visible `[n, kv]` bool, positions `[n]`): `n = backlog + len(new_parents)`, `kv = committed + backlog + slots`.
    """
    parent = dict(enumerate(old_parents))
    depth = dict(enumerate(old_depths))
    for j, par in enumerate(new_parents):
        parent[n_old + j] = par
        depth[n_old + j] = 0 if par is None else depth[par] + 1
    base = committed + backlog
    n, kv = backlog + len(new_parents), base + n_old + len(new_parents)
    visible = torch.zeros(n, kv, dtype=torch.bool)
    visible[:, :committed] = True
    for r in range(backlog):  # the backlog is an ordinary causal chain
        visible[r, committed : committed + r + 1] = True
    for j in range(len(new_parents)):
        visible[backlog + j, :base] = True
        s = n_old + j
        while s is not None:
            visible[backlog + j, base + s] = True
            s = parent[s]
    pos = list(range(committed, base)) + [base + depth[n_old + j] for j in range(len(new_parents))]
    return visible, pos


def _tree_inputs(committed: int, backlog: int, anc_old: torch.Tensor, parent_slots: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """`_tree_inputs_reference` from an ancestor matrix, with tensor operations instead of per-node loops.

    Args:
        anc_old (torch.Tensor): `[n_old, n_old]` bool, row `s`: the slots on the path from the root to `s`, itself
            included (the matrix this function returned on the tree's previous call; `0 x 0` on a new tree).
        parent_slots (torch.Tensor): `[m]` long, each new node's parent slot (an old slot or an earlier new node), or
            -1 at the root.

    Returns:
        (visible `[n, kv]` bool, positions `[n]` long, the grown ancestor matrix `[n_old + m, n_old + m]`).
    """
    n_old, m = anc_old.shape[0], parent_slots.shape[0]
    total = n_old + m
    anc = torch.zeros(total, total, dtype=torch.bool)
    anc[:n_old, :n_old] = anc_old
    new = torch.arange(m)
    own = torch.zeros(m, total, dtype=torch.bool)
    own[new, n_old + new] = True
    has = parent_slots >= 0
    up = torch.zeros(m, total)  # one-hot parent matrix of the new nodes
    up[new[has], parent_slots[has]] = 1.0
    # path(s) = {s} | path(parent(s)): old rows are complete, so each pass completes one more level of new nodes
    # (a 0/1 matrix product is exact); at most m + 1 passes
    anc[n_old:] = own
    for _ in range(m + 1):
        rows = own | ((up @ anc.float()) > 0)
        if torch.equal(rows, anc[n_old:]):
            break
        anc[n_old:] = rows
    base = committed + backlog
    n, kv = backlog + m, base + total
    visible = torch.zeros(n, kv, dtype=torch.bool)
    visible[:, :committed] = True
    if backlog:  # the backlog is an ordinary causal chain
        visible[:backlog, committed:base] = torch.ones(backlog, backlog, dtype=torch.bool).tril()
    visible[backlog:, :base] = True
    visible[backlog:, base:] = anc[n_old:]
    depth = anc[n_old:].sum(1) - 1
    pos = torch.cat([torch.arange(committed, base), base + depth])
    return visible, pos, anc


def _fast_supported(model) -> bool:
    """Whether `_fast_llama_forward` reproduces `model`'s forward op for op: a plain Llama with sdpa attention, default
    RoPE, a SiLU MLP and full attention in every layer (the zoo's tiny LMs and the tests' random Llamas)."""
    if type(model).__name__ != "LlamaForCausalLM":
        return False
    cfg = model.config
    rope = getattr(cfg, "rope_parameters", None) or {}
    layer_types = getattr(cfg, "layer_types", None) or []
    return (getattr(cfg, "_attn_implementation", None) == "sdpa" and rope.get("rope_type", "default") == "default"
            and cfg.hidden_act == "silu" and getattr(cfg, "pretraining_tp", 1) == 1
            and all(t == "full_attention" for t in layer_types))  # fmt: skip


def _rms(h: torch.Tensor, norm) -> torch.Tensor:
    """`LlamaRMSNorm.forward`, the same ops in the same order."""
    input_dtype = h.dtype
    x = h.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + norm.variance_epsilon)
    return norm.weight * x.to(input_dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _fast_llama_forward(model, input_ids: torch.Tensor, mask: torch.Tensor, position_ids: torch.Tensor,
                        layers: list) -> torch.Tensor:  # fmt: skip
    """Logits `[1, n, V]` of a transformers `LlamaForCausalLM` forward with a 4-D float mask and explicit positions,
    with the same torch ops on the same shapes as `model(...)` (sdpa attention, `DynamicLayer`-style concatenation
    into `layers[i].keys / .values`), without the module and hook machinery that dominates the cost of a tiny model's
    call. Tested bit for bit against `model(...)` in `tests/speculative/test_lm_fast.py`."""
    F = torch.nn.functional
    m, cfg = model.model, model.config
    h = F.embedding(input_ids, m.embed_tokens.weight, m.embed_tokens.padding_idx)
    rot = m.rotary_emb
    freqs = position_ids[..., None].float() * rot.inv_freq.to(device=h.device, dtype=torch.float)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos = (emb.cos() * rot.attention_scaling).to(dtype=h.dtype).unsqueeze(1)
    sin = (emb.sin() * rot.attention_scaling).to(dtype=h.dtype).unsqueeze(1)
    n = input_ids.shape[1]
    for layer, kv in zip(m.layers[: cfg.num_hidden_layers], layers):
        att = layer.self_attn
        residual = h
        x = _rms(h, layer.input_layernorm)
        shape = (1, n, -1, att.head_dim)
        q = F.linear(x, att.q_proj.weight, att.q_proj.bias).view(shape).transpose(1, 2)
        k = F.linear(x, att.k_proj.weight, att.k_proj.bias).view(shape).transpose(1, 2)
        v = F.linear(x, att.v_proj.weight, att.v_proj.bias).view(shape).transpose(1, 2)
        q = (q * cos) + (_rotate_half(q) * sin)
        k = (k * cos) + (_rotate_half(k) * sin)
        kv.keys = torch.cat([kv.keys, k], dim=-2)
        kv.values = torch.cat([kv.values, v], dim=-2)
        keys, values = kv.keys, kv.values
        groups = att.num_key_value_groups
        if groups > 1:  # transformers' sdpa path: pack_gqa for one query token, repeat_kv otherwise
            if n == 1:
                b, heads, _, dim = q.shape
                q = q.reshape(b, heads // groups, groups, dim)
            else:
                b, kvh, slen, dim = keys.shape
                keys = keys[:, :, None].expand(b, kvh, groups, slen, dim).reshape(b, kvh * groups, slen, dim)
                values = values[:, :, None].expand(b, kvh, groups, slen, dim).reshape(b, kvh * groups, slen, dim)
        out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, dropout_p=0.0, scale=att.scaling,
                                             is_causal=False)  # fmt: skip
        out = out.reshape(out.shape[0], -1, n, values.shape[-1]).transpose(1, 2).contiguous()
        out = out.reshape(1, n, -1).contiguous()
        h = residual + F.linear(out, att.o_proj.weight, att.o_proj.bias)
        residual = h
        x = _rms(h, layer.post_attention_layernorm)
        mlp = layer.mlp
        gate = F.silu(F.linear(x, mlp.gate_proj.weight, mlp.gate_proj.bias))
        x = F.linear(gate * F.linear(x, mlp.up_proj.weight, mlp.up_proj.bias), mlp.down_proj.weight,
                     mlp.down_proj.bias)  # fmt: skip
        h = residual + x
    h = _rms(h, m.norm)
    return F.linear(h, model.lm_head.weight, model.lm_head.bias)


class _KVLayer:
    """One layer's cache, as `DynamicLayer` keeps it: keys and values `[1, heads, length, head_dim]`."""

    def __init__(self, dtype, device):
        self.keys = torch.tensor([], dtype=dtype, device=device)
        self.values = torch.tensor([], dtype=dtype, device=device)


class _KVCache:
    def __init__(self, n_layers, dtype, device):
        self.layers = [_KVLayer(dtype, device) for _ in range(n_layers)]


class HFSession(TreeSession):
    """A transformers causal LM scoring token trees against its KV cache (batch size 1).

    Tree nodes are appended to the cache in creation order; each attends to the committed context, its ancestors and
    itself, at position `committed + depth`. Works for models whose cache layers are plain `DynamicLayer`s (Llama,
    Qwen2, SmolLM2); sliding-window layers would need a window-aware compaction.

    Speed: the mask and positions are built from an ancestor matrix without per-node loops (`_tree_inputs`), and a
    plain Llama (`_fast_supported`: the zoo's tiny LMs) runs through `_fast_llama_forward`, the same torch ops without
    transformers' module machinery: the same logits bit for bit (`tests/speculative/test_lm_fast.py`). For the tiny LMs
    most of a call is the matrix products themselves (the LM head streams 4-8 MB of weights per call) and the draft's
    sampler, so the gain is modest; `python -m shared.speculative.bench --sessions-only` measures it. `fast=False`
    keeps the original path (`model(...)` with a `DynamicCache`, and `_tree_inputs_reference`).
    """

    def __init__(self, model, temperature: float = 1.0, fast: bool = True):
        self.model, self.temperature = model, temperature
        self.vocab_size = model.config.vocab_size
        self.calls = 0
        self.fast = fast
        self.fast_forward = fast and _fast_supported(model)
        p = next(model.parameters())
        self.dtype, self.device = p.dtype, p.device

    def reset(self, prompt):
        if self.fast_forward:
            self.cache = _KVCache(self.model.config.num_hidden_layers, self.dtype, self.device)
        else:
            from transformers import DynamicCache

            self.cache = DynamicCache(config=self.model.config)
        self.committed = 0  # tokens in the cache that belong to the context
        self.backlog = list(prompt[:-1])
        self.slot: dict[int, int] = {}  # tree node id -> its offset among this tree's cache entries
        self.parent: list[int | None] = []  # per slot: the parent's slot (None at the root)
        self.depth: list[int] = []  # per slot
        self.anc = torch.zeros(0, 0, dtype=torch.bool)  # per slot: the slots on its path (fast path)

    @torch.no_grad()
    def grow(self, tokens, parents, ids=None):
        self.calls += 1
        nb = len(self.backlog) if not self.slot else 0
        ids = list(range(len(self.slot), len(self.slot) + len(tokens))) if ids is None else ids
        inputs = (self.backlog if nb else []) + list(tokens)
        n_old = len(self.slot)
        parent_slots = []  # per new node: its parent's slot (None at the root)
        for j, (node, par) in enumerate(zip(ids, parents)):
            self.slot[node] = n_old + j
            parent_slots.append(None if par < 0 else self.slot[par])
        if self.fast:
            ps = torch.tensor([-1 if s is None else s for s in parent_slots], dtype=torch.long)
            visible, pos, self.anc = _tree_inputs(self.committed, nb, self.anc, ps)
        else:
            visible, pos = _tree_inputs_reference(self.committed, nb, n_old, parent_slots, self.parent, self.depth)
            pos = torch.tensor(pos, dtype=torch.long)
            for par in parent_slots:
                self.parent.append(par)
                self.depth.append(0 if par is None else self.depth[par] + 1)
        mask = torch.zeros(1, 1, *visible.shape, dtype=self.dtype).masked_fill(~visible, torch.finfo(self.dtype).min)
        input_ids = torch.tensor([inputs], device=self.device)
        if self.fast_forward:
            logits = _fast_llama_forward(self.model, input_ids, mask.to(self.device), pos[None].to(self.device),
                                         self.cache.layers)  # fmt: skip
        else:
            logits = self.model(input_ids=input_ids, attention_mask=mask.to(self.device),
                                position_ids=pos[None].to(self.device), past_key_values=self.cache,
                                use_cache=True).logits  # fmt: skip
        if nb:
            self.committed += nb
            self.backlog = []
        return probs_from_logits(logits[0, nb:].float(), self.temperature)

    def commit(self, path, tokens, next_root):
        scored = [node for node in path if node in self.slot]  # a prefix of the path: ancestors are scored first
        slots = torch.tensor([self.slot[node] for node in scored], dtype=torch.long)
        keep = torch.cat([torch.arange(self.committed), self.committed + slots])
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(-2, keep.to(layer.keys.device))
            layer.values = layer.values.index_select(-2, keep.to(layer.values.device))
        self.committed += len(scored)
        self.backlog = list(tokens[len(scored) :])
        self.slot, self.parent, self.depth = {}, [], []
        self.anc = torch.zeros(0, 0, dtype=torch.bool)
