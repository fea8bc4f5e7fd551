"""What "From r to Q*" (Rafailov, Hejna, Park, Finn 2024, arXiv:2404.12358v2) needs beyond `shared/align`: a
templated verifiable task with checkable traces (running sums), preference pairs that differ from the first erroneous
step on, SFT and DPO on the tiny LM, the per-token implicit reward's localisation of the error, and greedy vs beam
decoding.

The task: a prompt " a1 + a2 + ... + aK =" (terms 0..4, K = 5, so every number is one token of the project BPE) and
the trace " s2 s3 ... sK" of running sums, then EOS. A response is correct when every running sum is right and it ends
there. A dispreferred response copies the correct trace up to an error step j, writes a wrong sum there (the correct
one +- 1 or 2) and continues *consistently* from the wrong value (each later step adds the right term to the wrong
running sum): the one erroneous token is the first divergence, the later ones are locally correct arithmetic. The
labels come from the arithmetic, never from a model.

Deviations from the paper, on purpose:
- a 2.1M-parameter tiny LM (`tiny-lm-small`) SFT'd here on a synthetic arithmetic task, instead of Pythia-2.8B / a
  7B model DPO'd on Reddit TL;DR and UltraFeedback: the task makes the erroneous token and the correct answer
  checkable, so "the implicit reward highlights the error" and "search raises quality" are counted, not eyeballed;
- localisation is measured on held-out pairs (not seen in DPO), over many pairs, instead of the paper's one
  hand-edited summary (Fig. 2);
- beam search is scored by exact-answer accuracy (the task's verifiable outcome) instead of a GPT-4 win rate;
- DPO pairs are synthetic corruptions of correct traces (the paper: human preference data).
"""

import itertools
from dataclasses import dataclass

import torch

from shared.align.batches import collate_preferences
from shared.align.losses import implicit_rewards, shift_mask, token_logps
from shared.lm.tasks import IGNORE

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


def all_problems(k: int, max_term: int = 4) -> list[tuple[int, ...]]:
    """Every problem of `k` terms in 0..max_term (the task's whole input space), in a fixed order."""
    if k * max_term > MAX_SUM:
        raise ValueError(f"{k} terms up to {max_term} can exceed {MAX_SUM}")
    return list(itertools.product(range(max_term + 1), repeat=k))


def split_problems(k: int, n_test: int, gen: torch.Generator, max_term: int = 4) -> tuple[list, list]:
    """A seeded split of the input space: `n_test` held-out problems (never in a DPO pair) and the rest (the DPO
    training pool)."""
    space = all_problems(k, max_term)
    order = torch.randperm(len(space), generator=gen).tolist()
    return [space[i] for i in order[:n_test]], [space[i] for i in order[n_test:]]


def make_problems(n: int, k: int, gen: torch.Generator, max_term: int = 4) -> list[tuple[int, ...]]:
    """`n` random problems of `k` terms in 0..max_term (every running sum <= MAX_SUM): SFT's task stream."""
    if k * max_term > MAX_SUM:
        raise ValueError(f"{k} terms up to {max_term} can exceed {MAX_SUM}")
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


def response_ids(sums, v: Vocab) -> list[int]:
    return [v.num[s] for s in sums] + [v.eos]


def corrupt(terms, gen: torch.Generator, propagate: bool = True) -> tuple[list[int], int]:
    """A dispreferred trace and its error step j (index into the trace): the sum at j is off by +-1 or +-2; with
    `propagate` the later steps continue from the wrong value, else they are the correct sums (the pair then differs
    in the one token). The sign keeps every number in 0..MAX_SUM."""
    sums = running_sums(terms)
    j = int(torch.randint(0, len(sums), (1,), generator=gen))
    d = int(torch.randint(1, 3, (1,), generator=gen))
    sign = 1 if torch.rand(1, generator=gen).item() < 0.5 else -1
    if sums[-1] + d > MAX_SUM:
        sign = -1
    if sums[j] - d < 0:
        sign = 1
    wrong = [s + sign * d if (i >= j if propagate else i == j) else s for i, s in enumerate(sums)]
    return wrong, j


def make_pairs(problems, v: Vocab, gen: torch.Generator, propagate: bool = True) -> list[dict]:
    """One preference pair per problem (`collate_preferences` fields plus `error`: the erroneous token's index in
    the rejected response)."""
    pairs = []
    for terms in problems:
        wrong, j = corrupt(terms, gen, propagate)
        pairs.append({"prompt_ids": prompt_ids(terms, v), "chosen_ids": response_ids(running_sums(terms), v),
                      "rejected_ids": response_ids(wrong, v), "error": j, "terms": terms})  # fmt: skip
    return pairs


def sft_batch(problems, v: Vocab) -> dict:
    """`{"input_ids", "targets"}` for the trainer: loss on the response tokens only (all rows have one length)."""
    rows = [prompt_ids(p, v) + response_ids(running_sums(p), v) for p in problems]
    n_prompt = len(prompt_ids(problems[0], v))
    ids = torch.tensor(rows)
    targets = ids[:, 1:].clone()
    targets[:, : n_prompt - 1] = IGNORE
    return {"input_ids": ids[:, :-1], "targets": targets}


def sft_sampler(k: int, batch: int, v: Vocab):
    """`batches(step, gen)` for the shared trainer: fresh problems each step (the task generator)."""
    return lambda step, gen: sft_batch(make_problems(batch, k, gen), v)


def dpo_sampler(pairs: list[dict], batch: int, pad: int):
    """`batches(step, gen)` for `dpo_train`: `batch` pairs drawn from the fixed training set."""

    def batches(step, gen):
        idx = torch.randint(0, len(pairs), (batch,), generator=gen).tolist()
        return collate_preferences([pairs[i] for i in idx], pad)

    return batches


@torch.no_grad()
def pair_token_rewards(policy, ref, pairs: list[dict], beta: float, pad: int, chunk: int = 256) -> dict:
    """Per-token implicit rewards beta * log(pi/pi_ref) on the response tokens of each pair.

    Returns:
        dict of lists (one entry per pair): `chosen` and `rejected` per-token rewards (lists, response order),
        `ref_rejected` (the reference's log-probabilities of the rejected tokens), `chosen_seq`, `rejected_seq`
        (sequence rewards).
    """
    out = {"chosen": [], "rejected": [], "ref_rejected": [], "chosen_seq": [], "rejected_seq": []}
    for s in range(0, len(pairs), chunk):
        part = pairs[s : s + chunk]
        b = collate_preferences(part, pad)
        lp = token_logps(policy, b["input_ids"], b["attention_mask"])
        lr = token_logps(ref, b["input_ids"], b["attention_mask"])
        mask = shift_mask(b["completion_mask"])
        per_tok, per_seq = implicit_rewards(lp, lr, mask, beta)
        n = len(part)
        for i in range(2 * n):
            m = mask[i].bool()
            side = "chosen" if i < n else "rejected"
            out[side].append(per_tok[i][m].tolist())
            out[f"{side}_seq"].append(float(per_seq[i]))
            if side == "rejected":
                out["ref_rejected"].append(lr[i][m].tolist())
    return out


def argmin_hit(values: list[float], error: int) -> float:
    """1 when the lowest value sits at the erroneous token (ties share the credit: 1/number of tied minima)."""
    lo = min(values)
    tied = [i for i, x in enumerate(values) if x == lo]
    return (1.0 / len(tied)) if error in tied else 0.0


def auroc_error(values: list[float], error: int) -> float:
    """The erroneous token's rank among the response's tokens: the share of other tokens whose value is higher (ties
    count half); 1 = the lowest, 0.5 = chance."""
    e = values[error]
    others = [x for i, x in enumerate(values) if i != error]
    return sum(1.0 if x > e else 0.5 if x == e else 0.0 for x in others) / len(others)


@torch.no_grad()
def decode(model, problems, v: Vocab, num_beams: int = 1, chunk: int = 128) -> list[list[int]]:
    """Greedy (num_beams=1) or beam-search responses (HF `generate`, no sampling, length penalty 1): token ids up to
    and including the first EOS. All prompts of one K have one length, so no padding is needed."""
    k = len(problems[0])
    outs = []
    model.eval()
    for s in range(0, len(problems), chunk):
        ids = torch.tensor([prompt_ids(p, v) for p in problems[s : s + chunk]])
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=k,
                             do_sample=False, num_beams=num_beams, num_return_sequences=1, early_stopping=True,
                             length_penalty=1.0, eos_token_id=v.eos, pad_token_id=v.pad)  # fmt: skip
        for row in gen[:, ids.shape[1] :].tolist():
            outs.append(row[: row.index(v.eos) + 1] if v.eos in row else row)
    return outs


def is_correct(terms, response: list[int], v: Vocab) -> bool:
    return response == response_ids(running_sums(terms), v)


def accuracy_vector(model, problems, v: Vocab, num_beams: int = 1) -> list[int]:
    """1/0 per problem: the decoded response is the exact correct trace."""
    return [int(is_correct(p, r, v)) for p, r in zip(problems, decode(model, problems, v, num_beams))]
