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
import random

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


# the chat workload: reasoning_gym questions (data/tasks/reasoning_gym), short ones, five task templates so that
# prompt lengths differ inside a batch (SpecBench mixes tasks the same way)
TASKS = ("letter_counting", "spell_backward", "basic_arithmetic", "chain_sum", "gsm_symbolic")
MAX_CHARS = 240


def task_prompts(tok, n: int, seed: int) -> tuple[list[list[int]], list[str]]:
    """`n` prompts (token ids; chat-formatted with the assistant turn opened where the tokenizer has a chat template)
    drawn with `seed` from the short questions of `TASKS`, round-robin over the tasks; returns the ids and the
    questions. Another seed draws other questions."""
    from shared.data.loaders import data_path, read_jsonl

    rng = random.Random(seed)
    pools = []
    for task in TASKS:
        rows = read_jsonl(data_path(f"tasks/reasoning_gym/{task}.jsonl"))
        qs = [r["question"] for r in rows if len(r["question"]) <= MAX_CHARS]
        pools.append(rng.sample(qs, min(len(qs), n)))
    questions = [pools[i % len(pools)][i // len(pools)] for i in range(n)]
    ids = []
    for q in questions:
        if getattr(tok, "chat_template", None):
            out = tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True)
        else:  # a base LM (the tiny-LM pair): the question as plain text
            out = tok(q)["input_ids"]
        ids.append(list(out["input_ids"] if hasattr(out, "keys") else out))
    return ids, questions


def load_pair(target_name: str, draft_name: str):
    """`(target, draft, tokenizer)` from the zoo; `draft_name="int8"` is the target's own int8 copy."""
    from shared.models import load

    target, tok = load(target_name)
    draft = int8_draft(target) if draft_name == "int8" else load(draft_name)[0]
    return target.eval(), draft.eval(), tok


@torch.no_grad()
def is_greedy(model, prompt: list[int], output: list[int]) -> bool:
    """Whether `output` is the model's own greedy continuation of `prompt`, checked unbatched in one forward pass over
    `prompt + output` (every output token the argmax of the logits before it). One call instead of `len(output)`:
    the output-equivalence check of a batched run (our deviation from decoding the reference token by token)."""
    if not output:
        return True
    logits = model(input_ids=torch.tensor([prompt + output])).logits[0]
    pred = logits[len(prompt) - 1 : len(prompt) - 1 + len(output)].argmax(-1)
    return pred.tolist() == list(output)


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
