"""
Ragged batched speculative decoding, after "Batch Speculative Decoding Done Right" (catalog id 120; code:
https://github.com/eBay/spec_dec).

The batched decoders live in the shared engine (`shared.speculative.batch`): `batch_generate` with `mode="realign"`
(EQSPEC: drop rejected cache entries and re-pad every row to a common right edge), two naive modes that reproduce the
ragged-tensor bugs (position ids taken from cache columns; rejected entries left visible), and `exspec_generate`
(EXSPEC: a pool of per-sequence caches batched only in groups of equal length). This module holds the paper's
workload: chat prompts for SmolLM2-135M-Instruct and an int8 copy of it as the draft.

Deviations from the paper, on purpose:
- target SmolLM2-135M-Instruct (fp32) with its dynamically int8-quantised copy as the draft (a cheap, same-tokenizer
  draft that agrees with the target most of the time), instead of Vicuna-7B/68M, Qwen3-8B/0.6B or GLM-4-9B/0.6B;
- CPU instead of GPU, greedy decoding, a handful of hand-written prompts instead of SpecBench;
- EXSPEC's pool admits every prompt at once (no arrival process);
- the realignment overhead is judged on a deterministic count, not on wall clock (`realign_copies`, `regroup_copies`):
  the KV-cache positions each design copies to keep its rows aligned (EQSPEC's gather that re-pads every row after
  every step; EXSPEC's concatenation of per-sequence caches into a group). A 135M model on a shared CPU makes the two
  timings small and noisy (one run moved the ratio from 0.87 to 1.13 between machines).
"""

import copy

import torch

PROMPTS = [
    "Write a Python function that reverses a string.",
    "What is the capital of France?",
    "Explain recursion in one sentence.",
    "List three prime numbers and say why they are prime.",
    "Give a short tip for writing clear code.",
    "What does HTTP stand for?",
    "Name two uses of a hash table.",
    "Describe the water cycle briefly.",
]


def int8_draft(model):
    """A copy of `model` whose linear layers run dynamically quantised int8 matmuls (weights shared nowhere)."""
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def chat_prompts(tok, n: int) -> list[list[int]]:
    """The first `n` of `PROMPTS` as chat-formatted token ids (with the assistant turn opened)."""
    out = []
    for text in PROMPTS[:n]:
        ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        out.append(list(ids["input_ids"] if hasattr(ids, "keys") else ids))
    return out


def equivalence(outputs: list[list[int]], references: list[list[int]]) -> float:
    """Fraction of rows whose tokens equal the unbatched reference exactly."""
    return sum(a == b for a, b in zip(outputs, references)) / len(references)


def realign_copies(prompts: list[list[int]], accepted: list[int]) -> int:
    """KV-cache positions (per layer and model) that EQSPEC's realignment gathers over a run of `batch_generate(...,
    mode="realign")` on `prompts`, from the run's `accepted` (one entry per row per step, in step order).

    After the prefill row `b` holds `len(prompt) - 1` entries (its last token is the pending root); each step appends
    `L + 1` and keeps `1 + n_b`; the gather then copies `B x width` positions, `width` the longest row.
    """
    B = len(prompts)
    if len(accepted) % B:
        raise ValueError(f"{len(accepted)} acceptances do not fill whole steps of {B} rows")
    valid = [len(p) - 1 for p in prompts]
    copies = 0
    for s in range(len(accepted) // B):
        for b in range(B):
            valid[b] += 1 + accepted[s * B + b]
        copies += B * max(valid)
    return copies


def regroup_copies(prompts: list[list[int]], accepted: list[int], max_new: int, batch_size: int) -> int:
    """KV-cache positions (per layer and model) that EXSPEC's regrouping copies over a run of `exspec_generate` on
    `prompts`, from the run's `accepted` (one entry per grouped row per step, in step order).

    Replays the engine's grouping (the largest group of live rows of equal length, first rows first, at most
    `batch_size`) and counts what forming each group concatenates: every member's cache, `len - 1` positions. Splitting
    a group again takes views, which copy nothing.
    """
    lens = [len(p) for p in prompts]
    done = [0] * len(prompts)
    copies, k = 0, 0
    while True:
        live = [i for i in range(len(prompts)) if done[i] < max_new]
        if not live:
            break
        by_len: dict[int, list[int]] = {}
        for i in live:
            by_len.setdefault(lens[i], []).append(i)
        group = max(by_len.values(), key=len)[:batch_size]
        copies += sum(lens[i] - 1 for i in group)
        for i in group:
            if k >= len(accepted):
                raise ValueError("the acceptances end before the run does: not a run of these prompts")
            done[i] += 1 + accepted[k]
            lens[i] += 1 + accepted[k]
            k += 1
    if k != len(accepted):
        raise ValueError(f"{len(accepted) - k} acceptances left over: not a run of these prompts")
    return copies
