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

The task itself (vocabulary, problems, SFT batches, decoding, the exact check) is the engine's shared verifiable task,
`shared.align.arith`, which started here; this module keeps what only this paper needs: corrupted pairs, the
per-token implicit rewards of held-out pairs, and the localisation scores.

Deviations from the paper, on purpose:
- a 2.1M-parameter tiny LM (`tiny-lm-small`) SFT'd here on a synthetic arithmetic task, instead of Pythia-2.8B / a
  7B model DPO'd on Reddit TL;DR and UltraFeedback: the task makes the erroneous token and the correct answer
  checkable, so "the implicit reward highlights the error" and "search raises quality" are counted, not eyeballed;
- localisation is measured on held-out pairs (not seen in DPO), over many pairs, instead of the paper's one
  hand-edited summary (Fig. 2);
- beam search is scored by exact-answer accuracy (the task's verifiable outcome) instead of a GPT-4 win rate;
- DPO pairs are synthetic corruptions of correct traces (the paper: human preference data).
"""

import torch

from shared.align.arith import MAX_SUM, Vocab, prompt_ids, response_ids, running_sums
from shared.align.batches import collate_preferences
from shared.align.losses import implicit_rewards, shift_mask, token_logps


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
