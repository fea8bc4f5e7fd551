"""
TokenSelect, after Wu, Pan, Fu, Wang, Chen, Bai, Wang, Wang & Xiong, "TokenSelect: Efficient Long-Context Inference
and Length Extrapolation for LLMs via Dynamic Token-Level KV Cache Selection" (arXiv:2411.02886, EMNLP 2025).

The selection itself (`TokenSelect`: per-head query-key criticality, head-wise soft vote, top-k per layer, sinks and
recent tokens always read, the Selection Cache) and the evaluation paths (`selection_nll`, `stream_nll`) live in the
shared engine `shared.kvcache`; this module holds only what this replication adds: the policies compared at one
budget, the planted-passkey task and its score.

Deviations from the paper, on purpose:
- The model is SmolLM2-135M-Instruct (Llama architecture, 9 query / 3 key-value heads), not Qwen2-7B / Llama-3-8B /
  Yi-1.5-6B; quality is streaming perplexity on KJV books and a planted passkey, not InfiniteBench / RULER / LongBench.
- Budgets are scaled down with the contexts: BUDGET = 1/8 of the document (paper: 128 initial + 512 local + 2K
  selected tokens over 128K-1M contexts).
- Criticality is the softmax of the model's own scaled logits (rotated queries and keys at their original positions),
  over the candidate tokens. The official code scores un-rotated keys against the query rotated at a fixed position
  and does not scale the dot products; that scheme belongs to its length-extrapolation mode (positions assigned inside
  the selection), which is not replicated.
- Every query row selects for itself, prefill included (the official code selects once per 512-token prefill chunk
  with the chunk's mean query), so the one-pass evaluation equals token-by-token decoding.
- Gemma-3-270M is not used: 5 of its 6 layers use sliding-window attention, which the engine refuses (a selection over
  a 512-token window is not TokenSelect's setting).
- A trivial control the paper does not run: `RandomSelect`, TokenSelect's budget, sinks and recent window with the
  other tokens drawn at random instead of chosen by criticality (does the query-aware choice matter, or only reading
  some tokens outside the window?).
"""

from dataclasses import dataclass, field

import torch

from shared.kvcache import HeavyHitter, KVPolicy, SinkWindow, TokenSelect, plant_fact


@dataclass
class RandomSelect(TokenSelect):
    """Control: TokenSelect's budget, sinks and recent window, with the `budget - n_sink - n_recent` other tokens drawn
    uniformly at random from the candidates, afresh for every query row and layer (one draw shared by the layer's
    heads, as TokenSelect's vote is), instead of chosen by query-key criticality. Seeded at `reset`, so runs repeat.
    No Selection Cache (`threshold` is ignored)."""

    seed: int = 0
    gen: torch.Generator | None = field(default=None, repr=False)

    def reset(self):
        super().reset()
        self.gen = torch.Generator().manual_seed(self.seed)

    def select_mask(self, layer, query, keys, scaling):
        """What each of this step's `Q` queries may attend, `[B, Q, T]` bool (the last `Q` of `T` positions)."""
        B, Q, T = query.shape[0], query.shape[2], keys.shape[2]
        t = torch.arange(T - Q, T)[:, None]  # [Q, 1] row positions
        pos = torch.arange(T)[None, :]  # [1, T]
        causal = (pos <= t).expand(B, Q, T)
        budget = self.layer_budget(layer)
        if budget is None or T - 1 <= budget:
            return causal.clone()
        candidates = (pos >= self.n_sink) & (pos < t - self.n_recent)  # [Q, T]
        scores = torch.rand(B, Q, T, generator=self.gen).masked_fill(~candidates, -1.0)
        top = scores.topk(min(self._topk(layer), T), dim=-1).indices  # [B, Q, k]
        forced = (pos < self.n_sink) | ((pos >= t - self.n_recent) & (pos <= t))
        mask = forced.expand(B, Q, T).clone()
        mask.scatter_(2, top, True)
        selecting = (t[:, 0] > budget)[None, :, None]  # rows whose past exceeds the budget
        return torch.where(selecting, mask & causal, causal)

    def select_slots(self, layer, query, keys, scaling):
        """One decoding query: the slots `select_mask` draws (not TokenSelect's criticality fast path)."""
        return KVPolicy.select_slots(self, layer, query, keys, scaling)


def compared_policies(budget: int, n_sink: int, n_recent: int) -> dict:
    """The policies compared at one budget, each reading `budget` past tokens per query: TokenSelect, StreamingLLM
    (4 sinks + window) and H2O (half heavy hitters, half recent). The Selection Cache is read per document apart.

    Args:
        budget (int): past tokens attended per query and layer (cache size for the evicting policies).
        n_sink, n_recent (int): TokenSelect's always-read initial and recent tokens.
    """
    return {
        "TokenSelect": TokenSelect(budget=budget, n_sink=n_sink, n_recent=n_recent),
        "StreamingLLM": SinkWindow(budget=budget, n_sink=4),
        "H2O": HeavyHitter(budget=budget, n_recent=budget // 2),
    }


def passkey_batch(tok, filler: list[int], keys: list[int], depths: list[float], n_filler: int) -> torch.Tensor:
    """Passkey prompts: `n_filler` filler tokens with "The pass key is K. Remember it. K is the pass key." planted at
    each depth, then the question and the answer "The pass key is K" (5 digits, one token each).

    Args:
        tok: the model's tokenizer.
        filler (list[int]): filler token ids (a long text); sample i starts `i * 97` tokens in, so fillers differ.
        keys (list[int]): 5-digit passkeys, one per sample.
        depths (list[float]): where the fact goes, 0 = start, 1 = end of the filler.

    Returns:
        torch.Tensor: `[N, T]` token ids, equal lengths; the last 5 tokens are the answer digits.
    """
    question = tok(" What is the pass key? The pass key is", add_special_tokens=False).input_ids
    rows = []
    for i, (key, depth) in enumerate(zip(keys, depths)):
        if not 10000 <= key <= 99999:
            raise ValueError(f"passkeys have 5 digits, got {key}")
        fact = tok(f" The pass key is {key}. Remember it. {key} is the pass key.", add_special_tokens=False).input_ids
        answer = tok(f" {key}", add_special_tokens=False).input_ids
        if tok.decode(answer[-5:]) != str(key):
            raise ValueError("the tokenizer does not split the passkey into one token per digit")
        start = i * 97
        if start + n_filler > len(filler):
            raise ValueError(f"filler too short: {len(filler)} tokens")
        rows.append(plant_fact(filler[start : start + n_filler], fact, depth) + question + answer)
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"prompts differ in length: {sorted(lengths)}")
    return torch.tensor(rows)


def digit_accuracy(logits: torch.Tensor, ids: torch.Tensor, n_answer: int = 5) -> torch.Tensor:
    """Per-sample share of the answer digits that are the model's top token, each given the previous ones (teacher
    forcing, so one pass scores the whole answer).

    Args:
        logits (torch.Tensor): `[N, T, V]`, position t predicts token t+1.
        ids (torch.Tensor): `[N, T]`; the last `n_answer` tokens are the answer.

    Returns:
        torch.Tensor: `[N]` float.
    """
    top = logits[:, -n_answer - 1 : -1].argmax(-1)  # [N, n_answer]
    return (top == ids[:, -n_answer:]).float().mean(-1)


def ppl_after(nll: torch.Tensor, start: int) -> torch.Tensor:
    """Per-document perplexity over predictions from query position `start` on, `[B]` float64 (`nll`: `[B, T-1]`)."""
    return nll[:, start:].double().mean(-1).exp()
