"""Apply a `KVPolicy` to a transformers `DynamicCache` after every model step, with RoPE-aware positions.

Two position schemes for rotary models:
- `"original"`: every token keeps the position it was read at (H2O, and StreamingLLM inside the training length);
- `"cache"`: positions are slots in the cache (StreamingLLM's scheme past the training length): the query of a new
  token gets position = number of cached tokens, and kept keys are re-rotated to their new slot on every eviction.
"""

from contextlib import contextmanager

import torch
from transformers import AttentionInterface, DynamicCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from shared.kvcache.policies import KVPolicy, SinkWindow


def rotate_keys(keys: torch.Tensor, delta: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """Move rotary keys by `delta` positions: R(p + delta) k = R(delta) R(p) k (rotations compose).

    Args:
        keys (torch.Tensor): keys already rotated at their positions, `[B, H, T, D]` (half-split RoPE layout).
        delta (torch.Tensor): position shift per slot, `[B, H, T]`, int.
        inv_freq (torch.Tensor): the model's rotary inverse frequencies, `[D / 2]`.

    Returns:
        torch.Tensor: rotated keys, `[B, H, T, D]`, same dtype.
    """
    ang = delta.to(torch.float32).unsqueeze(-1) * inv_freq.float()  # [B, H, T, D/2]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)  # [B, H, T, D]
    k = keys.float()
    half = k.shape[-1] // 2
    rotated = torch.cat([-k[..., half:], k[..., :half]], dim=-1)
    return (k * cos + rotated * sin).to(keys.dtype)


def rotary_inv_freq(model) -> torch.Tensor:
    """The single rotary table of a Llama/Qwen-style model; models with several (Gemma 3) are refused."""
    rope = getattr(model.model, "rotary_emb", None)
    if rope is None or not hasattr(rope, "inv_freq"):
        raise ValueError(f"{type(model).__name__}: no single rotary table, 'cache' positions are unsupported")
    if float(getattr(rope, "attention_scaling", 1.0)) != 1.0:
        raise ValueError("rotary attention scaling != 1 is not handled by key re-rotation")
    return rope.inv_freq


def gather_slots(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """`x[b, h, keep[b, h, k], :]`: `[B, H, T, D]` and `[B, H, K]` -> `[B, H, K, D]`."""
    return x.gather(2, keep.unsqueeze(-1).expand(*keep.shape, x.shape[-1]))


# the attention implementation registered below, used by the model while it reads into a pruned cache
ATTENTION = "kvcache"


class PolicyCache:
    """A `DynamicCache` plus the policy that prunes it, and the position bookkeeping.

    Args:
        model: a transformers causal LM (its config shapes the cache; its rotary table serves `"cache"` positions).
        policy (KVPolicy): what to keep.
        positions (str): `"original"` or `"cache"` (see the module docstring).
        fast (bool): use a policy's fast eviction when it has one (`SinkWindow`: slicing instead of top-k + gather).
    """

    def __init__(self, model, policy: KVPolicy, positions: str = "original", fast: bool = True):
        if positions not in ("original", "cache"):
            raise ValueError(f"positions must be 'original' or 'cache', got {positions!r}")
        self.model, self.cache = model, DynamicCache(config=model.config)
        self.policy, self.positions, self.fast = policy, positions, fast
        self.inv_freq = rotary_inv_freq(model) if positions == "cache" else None
        self.n_seen = 0  # tokens read so far (the next token's original position)
        policy.reset()

    def next_positions(self, n: int) -> torch.Tensor:
        """Position ids `[1, n]` for the next `n` tokens."""
        start = self.n_seen if self.positions == "original" else self.cache.get_seq_length()
        return torch.arange(start, start + n).unsqueeze(0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Read `ids` `[1, n]` into the cache, prune it, return the logits `[1, n, V]`. Call inside `kv_attention`."""
        n = ids.shape[-1]
        out = self.model(input_ids=ids, position_ids=self.next_positions(n), past_key_values=self.cache, use_cache=True,
                         output_attentions=self.policy.needs_attention)  # fmt: skip
        self.step_done(n, out.attentions if self.policy.needs_attention else None)
        return out.logits

    def step_done(self, n: int, attentions=None) -> None:
        """After a forward over `n` new tokens: feed attention to the policy, then evict down to the budget.

        Args:
            n (int): tokens just added.
            attentions (tuple[torch.Tensor] | None): per layer `[B, H_q, Q, T]` (eager attention), when the policy
                needs them.
        """
        self.n_seen += n
        for i, layer in enumerate(self.cache.layers):
            if attentions is not None:
                a = attentions[i]
                B, Hq, Q, T = a.shape
                Hkv = layer.keys.shape[1]
                # grouped-query attention: a key-value head serves Hq / Hkv query heads; sum their attention
                self.policy.observe(i, a.view(B, Hkv, Hq // Hkv, Q, T).sum(2))
            self._evict(i, layer)

    def _evict(self, i: int, layer) -> None:
        T, K = layer.keys.shape[-2], self.policy.layer_budget(i)
        if K is None or T <= K or self.policy.is_selection:  # a selection policy keeps the whole cache
            return
        if self.fast and type(self.policy) is SinkWindow and self.positions == "original":
            # streaming eviction drops a contiguous run right after the sinks: slicing, no top-k, no gather
            S, drop = self.policy.n_sink, T - K
            layer.keys = torch.cat([layer.keys[..., :S, :], layer.keys[..., S + drop :, :]], dim=-2)
            layer.values = torch.cat([layer.values[..., :S, :], layer.values[..., S + drop :, :]], dim=-2)
            return
        keep = self.policy.keep_indices(i, layer.keys, layer.values)  # [B, H, K]
        keys, values = gather_slots(layer.keys, keep), gather_slots(layer.values, keep)
        if self.positions == "cache":
            new_slot = torch.arange(K).expand_as(keep)
            keys = rotate_keys(keys, new_slot - keep, self.inv_freq)
        layer.keys, layer.values = keys, values
        self.policy.evicted(i, keep)

    def nbytes(self) -> int:
        """Bytes held by keys and values over all layers."""
        return sum(x.numel() * x.element_size() for lay in self.cache.layers for x in (lay.keys, lay.values)
                   if x is not None)  # fmt: skip


def _kv_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention over a pruned cache whose length may differ per layer (per-layer budgets).

    transformers builds one mask from layer 0's cache length; this function ignores it and builds its own: the
    cached keys are all in the past, and the last `Q` keys (this step's tokens) are causal among themselves. Returns
    the attention weights (eager math) when `module.kv_return_weights` is set, else runs SDPA.

    With a selection policy in `module.kv_selection` (see `kv_attention`), each query reads only the tokens the policy
    selects for it (`select_mask`); a single-token step of one document gathers those keys and values first, so
    attention really computes over the selection only.

    Args:
        query (torch.Tensor): `[B, H_q, Q, D]`; key, value: `[B, H_kv, T, D]`.

    Returns:
        tuple: output `[B, Q, H_q, D]` and weights `[B, H_q, Q, T]` (or None).
    """
    Q, T = query.shape[2], key.shape[2]
    mask = None
    return_weights = getattr(module, "kv_return_weights", False)
    selection = getattr(module, "kv_selection", None)
    if selection is not None:
        scale = scaling if scaling is not None else query.shape[-1] ** -0.5
        if Q == 1 and query.shape[0] == 1 and not return_weights:
            # decoding: gather the selected keys and values, so attention computes over the selection only
            slots = selection.select_slots(module.layer_idx, query, key, scale)
            if slots is not None:
                key, value = key[:, :, slots], value[:, :, slots]
        else:
            allowed = selection.select_mask(module.layer_idx, query, key, scale)  # [B, Q, T]
            mask = torch.zeros(allowed.shape, dtype=query.dtype, device=query.device)
            mask = mask.masked_fill(~allowed, torch.finfo(query.dtype).min)[:, None]  # [B, 1, Q, T]
    elif Q > 1:
        allowed = torch.ones(Q, T, dtype=torch.bool, device=query.device).tril(T - Q)
        mask = torch.zeros(Q, T, dtype=query.dtype, device=query.device)
        mask = mask.masked_fill(~allowed, torch.finfo(query.dtype).min)
    groups = query.shape[1] // key.shape[1]
    if not return_weights:
        return sdpa_attention_forward(module, query, key, value, mask, dropout=0.0, scaling=scaling, is_causal=False)
    k, v = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    scores = query @ k.transpose(2, 3) * (scaling if scaling is not None else query.shape[-1] ** -0.5)
    if mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)  # [B, H_q, Q, T]
    return (weights @ v).transpose(1, 2).contiguous(), weights


AttentionInterface.register(ATTENTION, _kv_attention)


@contextmanager
def kv_attention(model, return_weights: bool, selection: KVPolicy | None = None):
    """Run `model` with the pruned-cache attention for the duration of the block, then restore its own.

    Args:
        return_weights (bool): compute attention weights (eager math) so that `output_attentions` works.
        selection (KVPolicy | None): a selection policy (`is_selection`, e.g. `TokenSelect`) that chooses, per query
            and layer, which cached tokens attention reads; `None` reads every cached token.
    """
    if selection is not None and not selection.is_selection:
        raise ValueError(f"{type(selection).__name__} is not a selection policy")
    before = model.config._attn_implementation
    layer_types = getattr(model.config, "layer_types", None) or []
    if any(t != "full_attention" for t in layer_types):
        raise ValueError("pruned caches support full-attention layers only (no sliding-window layers)")
    model.set_attn_implementation(ATTENTION)
    attn_modules = [m for m in model.modules() if hasattr(m, "k_proj")]
    for m in attn_modules:
        m.kv_return_weights, m.kv_selection = return_weights, selection
    try:
        yield
    finally:
        for m in attn_modules:
            del m.kv_return_weights, m.kv_selection
        model.set_attn_implementation(before)


def policy_attention(model, policy: KVPolicy):
    """`kv_attention` set up for `policy`: attention weights if it observes them, per-query selection if it selects."""
    return kv_attention(model, policy.needs_attention, policy if policy.is_selection else None)
