"""Speculative decoding of one sequence with real transformers models: a draft chain, one target call, and KV-cache
rollback with `DynamicCache.crop`. The fast path for pretrained draft/target pairs on CPU.

`HFSession` (`lm.py`) scores whole token trees with a hand-built 4-D attention mask and returns float64 distributions
at every node; a chain needs none of that. Here both models run with their own causal masks and position ids (the
cache length gives the positions), the draft computes logits for its last position only, and greedy decoding never
builds a distribution. Each model's cache holds a prefix of the committed sequence (prompt plus emitted tokens); a call
feeds whatever the cache lacks, so the prompt prefill, the draft's missing last token after a fully accepted chain, and
ordinary steps are one code path.

One step, with `seq` the committed tokens and `L` the draft length:
1. the draft proposes `d_1..d_L` one call at a time (greedy: argmax; sampling: a draw from its tempered distribution
   `q_i`), stopping early after a token whose draft probability is below `stop_below` (a confidence stop);
2. the target scores `seq[-1], d_1..d_L` in one call, giving `p_0..p_L`;
3. greedy: accept while `d_i == argmax p_{i-1}`, then emit `argmax p_n`; sampling: standard speculative sampling
   (`verify_chain_fast`), lossless for any draft;
4. both caches are cropped to the accepted prefix.
The optional adaptive length (`adaptive=True`) is transformers' "heuristic" schedule: `L += 2` after a fully accepted
chain, `L -= 1` (at least 1) otherwise.
"""

import time

import torch

from .decode import GenResult
from .rules import verify_chain_fast


def _feed(model, cache, seq: list[int], keep: int) -> torch.Tensor:
    """Run `model` on the tokens of `seq` its `cache` lacks; logits of the last `keep` positions `[keep, V]` (float32)."""
    start = cache.get_seq_length()
    ids = torch.tensor([seq[start:]])
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=keep)
    return out.logits[0].float()


def _crop(cache, length: int) -> None:
    # DynamicCache.crop takes the number of entries to remove (negative) in transformers 5
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def _stops(eos) -> set[int]:
    # `eos`: None, one id, or a collection of ids
    return set() if eos is None else {eos} if isinstance(eos, int) else set(eos)


def _cut(out: list[int], stop: set[int]) -> list[int]:
    # the tokens up to and including the first end-of-sequence id
    end = next((i for i, t in enumerate(out) if t in stop), None)
    return out if end is None else out[: end + 1]


def _new_cache(model):
    from transformers import DynamicCache

    return DynamicCache(config=model.config)


@torch.no_grad()
def plain_generate(model, prompt: list[int], max_new: int, temperature: float = 0.0, seed: int = 0,
                   eos=None) -> GenResult:  # fmt: skip
    """Plain autoregressive decoding with a KV cache, one model call per token: the baseline.

    Args:
        model: a transformers causal LM.
        prompt (list[int]): prompt token ids (at least one).
        max_new (int): tokens to generate (fewer if `eos` is emitted).
        temperature (float): 0 is greedy; otherwise sampling from the tempered distribution.
        seed (int): seeds the sampling.
        eos: end-of-sequence id or ids (None: none).
    """
    generator = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    cache, seq, out, stop = _new_cache(model), list(prompt), [], _stops(eos)
    while len(out) < max_new and not stop.intersection(out[-1:]):
        logits = _feed(model, cache, seq, 1)[0]
        token = _pick(logits, temperature, generator)
        seq.append(token)
        out.append(token)
    return GenResult(out, target_calls=len(out), seconds=time.perf_counter() - t0)


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> int:
    # one token from logits `[V]`: argmax (lowest id on ties) or a tempered draw
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits.double() / temperature, -1), 1, generator=generator))


@torch.no_grad()
def chain_generate(target, draft, prompt: list[int], max_new: int, draft_len: int = 4, stop_below: float = 0.0,
                   adaptive: bool = False, temperature: float = 0.0, seed: int = 0, eos=None) -> GenResult:  # fmt: skip
    """Speculative decoding with a draft chain (see the module docstring).

    Args:
        target, draft: transformers causal LMs over one vocabulary, with `DynamicCache`s (no sliding windows).
        prompt (list[int]): prompt token ids (at least one).
        max_new (int): tokens to generate (fewer if an `eos` id is emitted; the output is cut after it).
        draft_len (int): draft tokens per step `L` (the starting value when `adaptive`).
        stop_below (float): stop drafting after a token whose draft probability is below this (0: never).
        adaptive (bool): adapt `L` with transformers' heuristic schedule.
        temperature (float): 0 is greedy (output identical to `plain_generate`); otherwise speculative sampling at
            this temperature for both models (output distributed as the target's tempered samples).
        seed (int): seeds the draft draws and the verification uniforms.
        eos: end-of-sequence id or ids (None: none).

    Returns:
        GenResult: tokens, target and draft calls, accepted and proposed draft tokens per target call, seconds.
    """
    generator = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    t_cache, d_cache = _new_cache(target), _new_cache(draft)
    seq, out, stop = list(prompt), [], _stops(eos)
    res = GenResult([], 0)
    L, done = draft_len, False
    while len(out) < max_new and not done:
        # 1. draft chain; never draft past max_new (the target's own token comes on top)
        budget = min(L, max_new - len(out) - 1)
        d, q = [], []
        while len(d) < budget:
            logits = _feed(draft, d_cache, seq + d, 1)[0]
            res.draft_calls += 1
            if temperature == 0:
                token = int(logits.argmax())
                conf = float(torch.softmax(logits, -1)[token]) if stop_below > 0 else 1.0
            else:
                qi = torch.softmax(logits.double() / temperature, -1)
                token = int(torch.multinomial(qi, 1, generator=generator))
                q.append(qi)
                conf = float(qi[token])
            d.append(token)
            if conf < stop_below:
                break
        # 2. one target call over the last committed token and the chain
        logits = _feed(target, t_cache, seq + d, len(d) + 1)  # [len(d) + 1, V]
        res.target_calls += 1
        # 3. verification
        if temperature == 0:
            greedy = logits.argmax(-1).tolist()
            n = 0
            while n < len(d) and d[n] == greedy[n]:
                n += 1
            nxt = greedy[n]
        else:
            p = torch.softmax(logits.double() / temperature, -1)
            u = torch.rand(len(d) + 1, generator=generator, dtype=torch.float64)
            qs = torch.stack(q) if q else p[:0]
            n, nxt = verify_chain_fast(p, qs, torch.tensor(d, dtype=torch.long), u[:-1], u[-1])
        emitted = d[:n] + [nxt]
        res.accepted.append(n)
        res.tree_sizes.append(len(d))
        if adaptive and d:
            L = L + 2 if n == len(d) else max(1, L - 1)
        # 4. rollback: each cache keeps what is still a prefix of the new sequence, minus its unscored last token
        seq += emitted
        out += emitted
        done = bool(stop.intersection(emitted))
        _crop(t_cache, len(seq) - 1)
        _crop(d_cache, len(seq) - 1)
    res.tokens = _cut(out, stop)[:max_new]
    res.seconds = time.perf_counter() - t0
    return res
