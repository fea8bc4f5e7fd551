"""The alignment wave's shared verifiable task: running sums, with an exact reward and checkable traces.

A prompt is " a1 + a2 + ... + aK =" (terms 0..max_term) and the correct response is the trace of running sums
" s2 s3 ... sK" followed by EOS. A response is correct when every running sum is right and it stops there: the reward
is exact and every step is checkable, so "the erroneous token", "the base is middling" and "RL raised accuracy" are
counted, never judged by a model. Every number 0..MAX_SUM is one token of the project BPE (`Vocab.from_tokenizer`
checks it), so the task runs on the project's pretrained tiny LMs (`tiny-lm-small`, 2.1M parameters).

The SFT recipe (`sft_base`, 32 fresh problems a step at lr 2e-3 from `tiny-lm-small`, K = 5) is steep in its step
count, and its accuracy varies by seed: 100 steps give about 0.8 greedy accuracy (r_to_q_2024's 24 seeds: 0.79
[0.75, 0.82]), 70 steps a middling 0.4 on average with single seeds from 0.24 to 0.69 (critical_tokens_2024,
sparse_critical_2025, d3s_2025), 50 steps about 0.1. The RL claims need a middling base (30-60%), so each paper
measures its own bases as a precondition.

Sampling for RL and pass@k uses the engine's KV-cached sampler (`shared.align.loops.sample_completions`); the
rewards go straight into `shared.align.loops.grpo_train` / `rollout_batch` through `reward_fn`.
"""

import itertools
from dataclasses import dataclass
from math import comb

import torch

from shared.align.loops import sample_completions
from shared.lm.tasks import IGNORE
from shared.lm.trainer import TrainConfig, TrainResult, train

MAX_SUM = 20  # " 0" ... " 20" are single tokens of the project BPE (checked by `Vocab.from_tokenizer`)


@dataclass(frozen=True)
class Vocab:
    """Token ids of the task: the numbers 0..MAX_SUM, " +", " =", BOS and EOS."""

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


def _check_range(k: int, max_term: int) -> None:
    if k < 2:
        raise ValueError(f"a problem needs at least 2 terms, got k={k}")
    if k * max_term > MAX_SUM:
        raise ValueError(f"{k} terms up to {max_term} can exceed {MAX_SUM}")


def all_problems(k: int, max_term: int = 4) -> list[tuple[int, ...]]:
    """Every problem of `k` terms in 0..max_term (the task's whole input space), in a fixed order."""
    _check_range(k, max_term)
    return list(itertools.product(range(max_term + 1), repeat=k))


def split_problems(k: int, n_test: int, gen: torch.Generator, max_term: int = 4) -> tuple[list, list]:
    """A seeded split of the input space: `n_test` held-out problems and the rest (the training pool)."""
    space = all_problems(k, max_term)
    if not 0 < n_test < len(space):
        raise ValueError(f"n_test={n_test} must be between 1 and {len(space) - 1} (the space has {len(space)})")
    order = torch.randperm(len(space), generator=gen).tolist()
    return [space[i] for i in order[:n_test]], [space[i] for i in order[n_test:]]


def make_problems(n: int, k: int, gen: torch.Generator, max_term: int = 4) -> list[tuple[int, ...]]:
    """`n` random problems of `k` terms in 0..max_term (every running sum <= MAX_SUM): SFT's task stream."""
    _check_range(k, max_term)
    terms = torch.randint(0, max_term + 1, (n, k), generator=gen)
    return [tuple(row) for row in terms.tolist()]


def running_sums(terms) -> list[int]:
    """The trace: s2, ..., sK (the sums after each addition)."""
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


def terms_of(ids: list[int], v: Vocab) -> tuple[int, ...]:
    """The terms of a prompt made by `prompt_ids` (left padding, if any, is skipped)."""
    index = {t: n for n, t in enumerate(v.num)}
    start = ids.index(v.bos) + 1 if v.bos in ids else 0
    body = ids[start:]
    if not body or body[-1] != v.eq:
        raise ValueError("not a task prompt: it must end with ' ='")
    terms = body[0:-1:2]
    if any(t not in index for t in terms) or any(p != v.plus for p in body[1:-1:2]):
        raise ValueError("not a task prompt: expected 'a1 + a2 + ... + aK ='")
    return tuple(index[t] for t in terms)


def response_ids(sums, v: Vocab) -> list[int]:
    return [v.num[s] for s in sums] + [v.eos]


def is_correct(terms, response: list[int], v: Vocab) -> bool:
    """The exact-answer check: the whole trace right, then EOS, nothing after it."""
    return list(response) == response_ids(running_sums(terms), v)


def reward_fn(v: Vocab):
    """`(prompt_ids, completion_ids) -> 1.0 | 0.0`: the exact-answer reward that `grpo_train` and `rollout_batch`
    take (the completion is cut after its first EOS by the sampler)."""

    def reward(prompt: list[int], completion: list[int]) -> float:
        return float(is_correct(terms_of(list(prompt), v), list(completion), v))

    return reward


def sft_batch(problems, v: Vocab) -> dict:
    """`{"input_ids", "targets"}` for the trainer: loss on the response tokens only (all rows have one length)."""
    rows = [prompt_ids(p, v) + response_ids(running_sums(p), v) for p in problems]
    n_prompt = len(prompt_ids(problems[0], v))
    ids = torch.tensor(rows)
    targets = ids[:, 1:].clone()
    targets[:, : n_prompt - 1] = IGNORE
    return {"input_ids": ids[:, :-1], "targets": targets}


def sft_sampler(k: int, batch: int, v: Vocab, max_term: int = 4):
    """`batches(step, gen)` for the shared trainer: fresh problems each step (the task generator)."""
    return lambda step, gen: sft_batch(make_problems(batch, k, gen, max_term), v)


def sft_base(model, v: Vocab, k: int, steps: int = 100, batch: int = 32, lr: float = 2e-3, seed: int = 0,
             max_term: int = 4, threads: int | None = None) -> TrainResult:  # fmt: skip
    """SFT `model` in place on fresh problems with the shared trainer (cosine schedule, 10 warmup steps): the recipe
    that turns `tiny-lm-small` into a middling base for the RL claims."""
    model.requires_grad_(True)
    cfg = TrainConfig(steps=steps, lr=lr, warmup=min(10, steps), seed=seed, log_every=10**9, threads=threads)
    return train(model, None, cfg, batches=sft_sampler(k, batch, v, max_term), log=None)


@torch.no_grad()
def decode(model, problems, v: Vocab, num_beams: int = 1, chunk: int = 128) -> list[list[int]]:
    """Greedy (num_beams=1) or beam-search responses (HF `generate`, no sampling, length penalty 1): token ids up to
    and including the first EOS. All prompts of one K have one length, so no padding is needed."""
    k = len(problems[0])
    outs = []
    model.eval()
    for s in range(0, len(problems), chunk):
        ids = torch.tensor([prompt_ids(p, v) for p in problems[s : s + chunk]])
        beam = {"early_stopping": True, "length_penalty": 1.0} if num_beams > 1 else {}  # greedy: no beam options
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=k, do_sample=False,
                             num_beams=num_beams, num_return_sequences=1, eos_token_id=v.eos, pad_token_id=v.pad,
                             **beam)  # fmt: skip
        for row in gen[:, ids.shape[1] :].tolist():
            outs.append(row[: row.index(v.eos) + 1] if v.eos in row else row)
    return outs


def accuracy_vector(model, problems, v: Vocab, num_beams: int = 1) -> list[int]:
    """1/0 per problem: the decoded response is the exact correct trace."""
    return [int(is_correct(p, r, v)) for p, r in zip(problems, decode(model, problems, v, num_beams))]


@torch.no_grad()
def sample_correct(model, problems, v: Vocab, n: int, gen: torch.Generator, temperature: float = 1.0) -> list[int]:
    """How many of `n` sampled responses (the engine's KV-cached sampler, draws from `gen`) are correct, per
    problem: the counts that `pass_at_k` turns into pass@k."""
    was_training = model.training
    model.eval()
    out = []
    for terms in problems:
        comp, mask = sample_completions(model, prompt_ids(terms, v), n, len(terms), gen, v.eos, temperature)
        out.append(sum(is_correct(terms, row[m.bool()].tolist(), v) for row, m in zip(comp, mask)))
    model.train(was_training)
    return out


def pass_at_k(c: int, n: int, k: int) -> float:
    """The unbiased pass@k estimate from `c` correct among `n` samples (Chen et al. 2021, arXiv:2107.03374, Eq. 1):
    1 - C(n - c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got c={c}, n={n}, k={k}")
    return 1.0 - comb(n - c, k) / comb(n, k)
