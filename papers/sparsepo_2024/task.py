"""The preference task of this replication (not the paper's method: that is `method.py`): running sums whose
dispreferred trace differs from the correct one in 1 to 3 known critical tokens.

A prompt " a1 + a2 + ... + aK =" (terms 0..MAX_TERM, every number one token of the project BPE) and the trace
" s2 s3 ... sK" of running sums, then EOS (K - 1 sums and EOS: the response). The chosen response is the correct
trace; the rejected one copies it and writes a wrong sum (off by 1 or 2) at `k` in {1, 2, 3} distinct steps, every
other step correct (no propagation): the pair differs exactly in the `k` critical tokens, at known positions, and the
labels come from the arithmetic. The same construction as `papers/r_to_q_2024` (its `corrupt(..., propagate=False)`,
one error), extended to 1-3 errors; a candidate for `shared/align/tasks.py` (see the README).
"""

import itertools
from dataclasses import dataclass

import torch

from shared.align.batches import collate_preferences
from shared.lm.tasks import IGNORE

MAX_SUM = 20  # " 0" ... " 20" are single tokens of the project BPE (checked by `Vocab.from_tokenizer`)


@dataclass(frozen=True)
class Vocab:
    """Token ids of the task: the numbers 0..MAX_SUM, " +", " =", BOS, EOS and padding."""

    num: tuple[int, ...]
    plus: int
    eq: int
    bos: int
    eos: int
    pad: int

    @classmethod
    def from_tokenizer(cls, tok) -> "Vocab":
        nums = []
        for n in range(MAX_SUM + 1):
            ids = tok(f" {n}", add_special_tokens=False)["input_ids"]
            if len(ids) != 1:
                raise ValueError(f"' {n}' is {len(ids)} tokens: the task needs single-token numbers")
            nums.append(ids[0])
        (plus,), (eq,) = (tok(s, add_special_tokens=False)["input_ids"] for s in (" +", " ="))
        return cls(tuple(nums), plus, eq, tok.bos_token_id, tok.eos_token_id, tok.pad_token_id or 0)

    @classmethod
    def compact(cls) -> "Vocab":
        """The task's own vocabulary for a model trained from scratch: the numbers 0..MAX_SUM are ids 0..MAX_SUM,
        then " +", " =", BOS, EOS and padding (`size` ids in all)."""
        n = MAX_SUM + 1
        return cls(tuple(range(n)), n, n + 1, n + 2, n + 3, n + 4)

    @property
    def size(self) -> int:
        return max(max(self.num), self.plus, self.eq, self.bos, self.eos, self.pad) + 1


def all_problems(k: int, max_term: int) -> list[tuple[int, ...]]:
    """Every problem of `k` terms in 0..max_term, in a fixed order."""
    if k * max_term > MAX_SUM:
        raise ValueError(f"{k} terms up to {max_term} can exceed {MAX_SUM}")
    return list(itertools.product(range(max_term + 1), repeat=k))


def split_problems(k: int, max_term: int, n_test: int, gen: torch.Generator) -> tuple[list, list]:
    """A seeded split of the input space: `n_test` held-out problems and the rest (the preference-training pool)."""
    space = all_problems(k, max_term)
    order = torch.randperm(len(space), generator=gen).tolist()
    return [space[i] for i in order[:n_test]], [space[i] for i in order[n_test:]]


def running_sums(terms) -> list[int]:
    out, s = [], terms[0]
    for t in terms[1:]:
        s += t
        out.append(s)
    return out


def prompt_ids(terms, v: Vocab) -> list[int]:
    ids = [v.bos, v.num[terms[0]]]
    for t in terms[1:]:
        ids += [v.plus, v.num[t]]
    return ids + [v.eq]


def response_ids(sums, v: Vocab) -> list[int]:
    return [v.num[s] for s in sums] + [v.eos]


def corrupt(terms, gen: torch.Generator, max_errors: int = 3) -> tuple[list[int], list[int]]:
    """A dispreferred trace and its critical steps: `k` (uniform in 1..max_errors) distinct steps get a wrong sum
    (off by 1 or 2, the sign chosen so the number stays in 0..MAX_SUM), every other step stays correct."""
    sums = running_sums(terms)
    k = int(torch.randint(1, min(max_errors, len(sums)) + 1, (1,), generator=gen))
    steps = sorted(torch.randperm(len(sums), generator=gen)[:k].tolist())
    wrong = list(sums)
    for j in steps:
        d = int(torch.randint(1, 3, (1,), generator=gen))
        sign = 1 if torch.rand(1, generator=gen).item() < 0.5 else -1
        if sums[j] + sign * d > MAX_SUM:
            sign = -1
        if sums[j] + sign * d < 0:
            sign = 1
        wrong[j] = sums[j] + sign * d
    return wrong, steps


def make_pairs(problems, v: Vocab, gen: torch.Generator, max_errors: int = 3) -> list[dict]:
    """One preference pair per problem: `collate_preferences` fields plus `critical` (the indices, in the response,
    of the tokens where chosen and rejected differ) and `terms`."""
    pairs = []
    for terms in problems:
        wrong, steps = corrupt(terms, gen, max_errors)
        pairs.append({"prompt_ids": prompt_ids(terms, v), "chosen_ids": response_ids(running_sums(terms), v),
                      "rejected_ids": response_ids(wrong, v), "critical": steps, "terms": terms})  # fmt: skip
    return pairs


def critical_mask(pairs: list[dict], batch: dict) -> torch.Tensor:
    """`[2B, T - 1]` 0/1, aligned with `token_logps` of `collate_preferences(pairs)`: 1 at the critical tokens of both
    the chosen and the rejected response (chosen rows first)."""
    out = torch.zeros_like(batch["completion_mask"][:, 1:], dtype=torch.float32)
    n = len(pairs)
    for side in range(2):
        for i, p in enumerate(pairs):
            start = len(p["prompt_ids"])  # the first response token is input index `start`: target column start - 1
            for j in p["critical"]:
                out[side * n + i, start - 1 + j] = 1.0
    return out


def sft_batch(problems, v: Vocab) -> dict:
    """`{"input_ids", "targets"}` for the shared trainer: loss on the response tokens only (one length per batch)."""
    rows = [prompt_ids(p, v) + response_ids(running_sums(p), v) for p in problems]
    n_prompt = len(prompt_ids(problems[0], v))
    ids = torch.tensor(rows)
    targets = ids[:, 1:].clone()
    targets[:, : n_prompt - 1] = IGNORE
    return {"input_ids": ids[:, :-1], "targets": targets}


def sft_sampler(k: int, max_term: int, batch: int, v: Vocab):
    """`batches(step, gen)` for the shared trainer: fresh random problems each step."""

    def batches(step, gen):
        terms = torch.randint(0, max_term + 1, (batch, k), generator=gen).tolist()
        return sft_batch([tuple(t) for t in terms], v)

    return batches


def pair_sampler(pairs: list[dict], batch: int, pad: int):
    """`batches(step, gen)`: `batch` pairs drawn from the fixed training set, collated, with their `index` and the
    `critical` mask (for masks that need it: the random control's placement, diagnostics)."""

    def batches(step, gen):
        idx = torch.randint(0, len(pairs), (batch,), generator=gen).tolist()
        part = [pairs[i] for i in idx]
        b = collate_preferences(part, pad)
        b["index"] = torch.tensor(idx)
        b["critical"] = critical_mask(part, b)
        return b

    return batches
