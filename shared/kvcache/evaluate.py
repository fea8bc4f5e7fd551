"""Long-context evaluation on a policy-pruned cache: streaming perplexity, planted-fact retrieval, decode cost."""

import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from shared.kvcache.cache import PolicyCache, kv_attention, policy_attention
from shared.kvcache.policies import KVPolicy


@dataclass
class StreamResult:
    """Per-token results of one streaming pass.

    Attributes:
        nll (torch.Tensor): `-log p(x_{t+1} | kept cache)` for t = 0..T-2, `[T-1]` (`[B, T-1]` for a batch), float64.
        step_ms (torch.Tensor): wall milliseconds of each model step, `[T-1]`.
        cache_tokens (torch.Tensor): tokens in layer 0's cache after each step, `[T-1]`.
        cache_bytes (int): bytes of keys and values at the end.
    """

    nll: torch.Tensor
    step_ms: torch.Tensor
    cache_tokens: torch.Tensor
    cache_bytes: int


@torch.no_grad()
def stream_nll(model, ids: torch.Tensor, policy: KVPolicy, positions: str = "original", fast: bool = True,
               prefill: int = 1) -> StreamResult:  # fmt: skip
    """The reference streaming loop: read `ids` token by token, pruning the cache after every step.

    Args:
        model: causal LM; for policies that need attention it must use eager attention.
        ids (torch.Tensor): token ids `[T]`, or `[B, T]` for equal-length documents read side by side (each keeps
            its own tokens).
        policy (KVPolicy): eviction policy.
        positions (str): `"original"` or `"cache"` (see `shared.kvcache.cache`).
        fast (bool): allow the policy's fast eviction path.
        prefill (int): tokens read in the first forward pass (a prompt prefix); the rest goes one at a time.

    Returns:
        StreamResult: per-token NLL of tokens 1..T-1 and per-step cost.
    """
    batched = ids.dim() == 2 and ids.shape[0] > 1
    ids = ids.view(-1, ids.shape[-1])
    T = ids.shape[1]
    pc = PolicyCache(model, policy, positions, fast)
    nll, ms, size = [], [], []
    t = 0
    with policy_attention(model, policy):
        while t < T - 1:
            n = min(prefill if t == 0 else 1, T - 1 - t)
            t0 = time.perf_counter()
            logits = pc.forward(ids[:, t : t + n])  # [B, n, V]
            ms += [(time.perf_counter() - t0) * 1e3 / n] * n
            logp = torch.log_softmax(logits.double(), -1)
            nll.append(-logp.gather(-1, ids[:, t + 1 : t + 1 + n, None]).squeeze(-1))  # [B, n]
            size += [pc.cache.layers[0].keys.shape[-2]] * n
            t += n
    nll = torch.cat(nll, dim=1)
    return StreamResult(nll if batched else nll[0], torch.tensor(ms), torch.tensor(size), pc.nbytes())


@torch.no_grad()
def one_pass_logits(model, ids: torch.Tensor, policy: KVPolicy, last: int = 0) -> torch.Tensor:
    """Logits of one forward over whole documents under a static policy (its `[T, T]` mask) or a selection policy
    (every query row attends what the policy selects for it), `[B, T, V]` for `ids` `[B, T]`; with `last > 0` only
    the last `last` positions, `[B, last, V]` (the LM head is then computed for those only).

    Nothing is evicted in either case, so a token's keys and values depend only on its own row: the result equals the
    streaming loop (`stream_nll(..., positions="original")`) up to float rounding, and for a selection policy up to
    top-k near-ties that the rounding can flip.
    """
    ids = ids.view(-1, ids.shape[-1])
    if policy.is_selection:
        policy.reset()
        with kv_attention(model, False, policy):
            return model(input_ids=ids, use_cache=False, logits_to_keep=last).logits
    if not policy.is_static:
        raise ValueError(f"{type(policy).__name__} is neither static nor a selection policy: stream it")
    allowed = policy.static_mask(ids.shape[1])  # [T, T]
    # an additive float mask: eager attention adds a 4D mask to the scores, so a boolean one would be read as 0/1
    mask = torch.zeros(allowed.shape, dtype=model.dtype).masked_fill(~allowed, torch.finfo(model.dtype).min)
    return model(input_ids=ids, attention_mask=mask.expand(ids.shape[0], 1, -1, -1), logits_to_keep=last).logits


def _next_token_nll(logits: torch.Tensor, ids: torch.Tensor, batched: bool) -> torch.Tensor:
    nll = -torch.log_softmax(logits[:, :-1].double(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)  # [B, T-1]
    return nll if batched else nll[0]


@torch.no_grad()
def masked_nll(model, ids: torch.Tensor, policy: KVPolicy) -> torch.Tensor:
    """The fast path for static policies: one forward with the policy's `[T, T]` mask instead of T cached steps.
    Equal to `stream_nll(..., positions="original")` up to float rounding.

    Args:
        ids (torch.Tensor): token ids `[T]` or a batch of equal-length documents `[B, T]`.

    Returns:
        torch.Tensor: NLL of tokens 1..T-1, `[T-1]` (or `[B, T-1]` for batched input), float64.
    """
    batched = ids.dim() == 2 and ids.shape[0] > 1
    ids = ids.view(-1, ids.shape[-1])
    return _next_token_nll(one_pass_logits(model, ids, policy), ids, batched)


@torch.no_grad()
def selection_nll(model, ids: torch.Tensor, policy: KVPolicy) -> torch.Tensor:
    """The fast path for selection policies: one forward over whole documents in which every query row attends only
    what the policy selects for it (see `one_pass_logits`).

    Args:
        ids (torch.Tensor): token ids `[T]` or a batch of equal-length documents `[B, T]`.

    Returns:
        torch.Tensor: NLL of tokens 1..T-1, `[T-1]` (or `[B, T-1]` for batched input), float64.
    """
    if not policy.is_selection:
        raise ValueError(f"{type(policy).__name__} is not a selection policy")
    batched = ids.dim() == 2 and ids.shape[0] > 1
    ids = ids.view(-1, ids.shape[-1])
    return _next_token_nll(one_pass_logits(model, ids, policy), ids, batched)


def policy_nll(model, ids: torch.Tensor, policy: KVPolicy, prefill: int = 1) -> torch.Tensor:
    """Per-token NLL under any policy by its fastest exact path: one masked pass for static policies, one selecting
    pass for selection policies, else the streaming loop (`prefill` tokens first: exact while `prefill <= budget`).

    Returns:
        torch.Tensor: `[T-1]` (or `[B, T-1]`), float64.
    """
    if policy.is_static:
        return masked_nll(model, ids, policy)
    if policy.is_selection:
        return selection_nll(model, ids, policy)
    return stream_nll(model, ids, policy, prefill=prefill).nll


@torch.no_grad()
def recompute_nll(model, ids: torch.Tensor, window: int, targets: list[int]) -> torch.Tensor:
    """Sliding window with re-computation: predict token t+1 from a fresh pass over the `window` tokens ending at t
    (positions 0..window-1, no cache). Quadratic per token, so only at the listed `targets` positions t, each
    `>= window - 1`; the windows go through the model as one batch.

    Args:
        ids (torch.Tensor): `[T]` or `[B, T]`.

    Returns:
        torch.Tensor: NLL of tokens t+1 for t in `targets`, `[len(targets)]` (or `[B, len(targets)]`), float64.
    """
    batched = ids.dim() == 2 and ids.shape[0] > 1
    ids = ids.view(-1, ids.shape[-1])
    if min(targets) < window - 1:
        raise ValueError(f"targets must be >= window - 1 = {window - 1}")
    ctx = torch.stack([ids[:, t + 1 - window : t + 1] for t in targets], dim=1)  # [B, N, W]
    logits = model(input_ids=ctx.flatten(0, 1)).logits[:, -1].view(*ctx.shape[:2], -1)  # [B, N, V]
    nxt = ids[:, [t + 1 for t in targets]]  # [B, N]
    nll = -torch.log_softmax(logits.double(), -1).gather(-1, nxt[..., None]).squeeze(-1)
    return nll if batched else nll[0]


@torch.no_grad()
def generate(model, ids: torch.Tensor, policy: KVPolicy, max_new_tokens: int, positions: str = "original",
             chunk: int = 64, eos: int | None = None) -> list[int]:  # fmt: skip
    """Greedy generation on a pruned cache: the prompt is read in chunks of `chunk` tokens, pruned after each.

    Returns:
        list[int]: the generated token ids.
    """
    ids = ids.view(1, -1)
    pc = PolicyCache(model, policy, positions)
    out = []
    with policy_attention(model, policy):
        for s in range(0, ids.shape[1], chunk):
            logits = pc.forward(ids[:, s : s + chunk])
        for _ in range(max_new_tokens):
            nxt = int(logits[0, -1].argmax())
            if nxt == eos:
                break
            out.append(nxt)
            logits = pc.forward(torch.tensor([[nxt]]))
    return out


def plant_fact(filler: list[int], fact: list[int], depth: float) -> list[int]:
    """Insert the `fact` tokens into `filler` at relative `depth` (0 = start, 1 = end)."""
    at = round(depth * len(filler))
    return filler[:at] + fact + filler[at:]


@torch.no_grad()
def decode_ms(model, context: int, policy: KVPolicy | None, new_tokens: int = 16, vocab: int = 1000, seed: int = 0,
              chunk: int = 256) -> tuple[float, int]:  # fmt: skip
    """Median milliseconds per decoded token after reading `context` random tokens, and the cache bytes then.

    The context is read in chunks (pruned after each), then `new_tokens` single-token steps are timed. `policy=None`
    is the baseline: transformers' own `DynamicCache` and attention, without this engine.
    """
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (1, context + new_tokens), generator=g)
    if policy is None:
        cache = DynamicCache(config=model.config)
        step = lambda x: model(input_ids=x, past_key_values=cache, use_cache=True)  # noqa: E731
        scope = nullcontext()
    else:
        pc = PolicyCache(model, policy)
        step, scope = pc.forward, policy_attention(model, policy)
    times = []
    with scope:
        for s in range(0, context, chunk):
            step(ids[:, s : min(s + chunk, context)])
        for t in range(context, context + new_tokens):
            t0 = time.perf_counter()
            step(ids[:, t : t + 1])
            times.append(time.perf_counter() - t0)
    held = cache if policy is None else pc.cache
    nbytes = sum(x.numel() * x.element_size() for lay in held.layers for x in (lay.keys, lay.values))
    return float(torch.tensor(times).median()) * 1e3, nbytes
