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
- EXSPEC's pool admits every prompt at once (no arrival process).
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
