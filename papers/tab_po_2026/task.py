"""The structured-annotation task of this replication (not the paper's method: that is `method.py`): a message with
planted label cues, annotated as a JSON-like record of one label per field; preference pairs whose rejected record
differs from the correct one in 1 to 3 label tokens.

A message is `MSG_LEN` tokens: filler words, and for each of `N_FIELDS` fields either nothing (the field is absent),
a cue word `cue(f, v, s)` (the field has value v; s one of `N_SYNONYMS` synonyms, the rarer ones seen less often in
training), or the negation word followed by a cue (`no cue(f, v, s)`: the value is explicitly denied, the field is
absent). The annotation is the record

    { name_0 : value_0 , name_1 : value_1 , name_2 : value_2 } EOS

whose value tokens are `label(f, v)` or `none`: `N_FIELDS` semantic tokens among `4 N_FIELDS + 2` tokens of JSON
scaffolding (the paper's "token-importance skew"). The chosen record is the correct one; the rejected copies it and
writes a wrong value in k in {1, 2, 3} fields (for a negated cue, the cue's own label: the confusion the negation
sets up; otherwise a random wrong value of the field), so a pair differs exactly in k label tokens at known positions,
and correctness comes from the generator, never from a model. Metric: micro-F1 over the fields whose value is a label
(`none` is the negative class): a true positive is a predicted label equal to the gold one.
"""

from dataclasses import dataclass

import torch

from shared.align.batches import collate_preferences
from shared.lm.tasks import IGNORE

N_FIELDS = 3  # fields per record
N_VALUES = 4  # label values per field (besides none)
N_SYNONYMS = 4  # cue words per (field, value), drawn with Zipf-like frequencies: the rare ones are learned last
ZIPF = 1.5  # synonym s is drawn with probability proportional to (s + 1) ** -ZIPF
N_FILLER = 12  # filler words
MSG_LEN = 10  # tokens per message
P_PRESENT, P_NEGATED = 0.5, 0.2  # a field is stated, denied ("no" + cue), or absent (the rest)
SYNONYM_P = torch.tensor([(s + 1) ** -ZIPF for s in range(N_SYNONYMS)], dtype=torch.float64)


@dataclass(frozen=True)
class Vocab:
    """The task's own token ids (the model is trained from scratch on them)."""

    pad: int = 0
    bos: int = 1
    eos: int = 2
    sep: int = 3  # ends the message: the record follows
    neg: int = 4
    lbrace: int = 5
    rbrace: int = 6
    colon: int = 7
    comma: int = 8

    def name(self, f: int) -> int:
        return 9 + f

    @property
    def none(self) -> int:
        return 9 + N_FIELDS

    def label(self, f: int, v: int) -> int:
        return 10 + N_FIELDS + f * N_VALUES + v

    def cue(self, f: int, v: int, s: int = 0) -> int:
        return 10 + N_FIELDS + N_FIELDS * N_VALUES + (f * N_VALUES + v) * N_SYNONYMS + s

    def filler(self, i: int) -> int:
        return 10 + N_FIELDS + N_FIELDS * N_VALUES * (1 + N_SYNONYMS) + i

    @property
    def size(self) -> int:
        return self.filler(N_FILLER - 1) + 1


def value_positions() -> list[int]:
    """Indices, in the response, of the value tokens: `{ n0 : v0 , n1 : v1 , ...`."""
    return [3 + 4 * f for f in range(N_FIELDS)]


def sample_example(gen: torch.Generator) -> dict:
    """One message and its annotation: `{"state": [F] in {"absent", "present", "negated"}, "value": [F] (the cue's
    value, -1 when absent), "message": [MSG_LEN] ids}`."""
    v = Vocab()
    state, value, segments = [], [], []
    for f in range(N_FIELDS):
        u = torch.rand(1, generator=gen).item()
        val = int(torch.randint(0, N_VALUES, (1,), generator=gen))
        syn = int(torch.multinomial(SYNONYM_P, 1, generator=gen))
        if u < P_PRESENT:
            state.append("present")
            value.append(val)
            segments.append([v.cue(f, val, syn)])
        elif u < P_PRESENT + P_NEGATED:
            state.append("negated")
            value.append(val)
            segments.append([v.neg, v.cue(f, val, syn)])
        else:
            state.append("absent")
            value.append(-1)
    n_fill = MSG_LEN - sum(len(s) for s in segments)
    fill = torch.randint(0, N_FILLER, (n_fill,), generator=gen).tolist()
    # cue segments at random slots among the filler words (the record's field order is fixed, the message's is not)
    order = torch.randperm(n_fill + len(segments), generator=gen).tolist()
    slots = sorted(order[: len(segments)])
    perm = torch.randperm(len(segments), generator=gen).tolist()
    msg, seg_i, fill_i = [], 0, 0
    for i in range(n_fill + len(segments)):
        if seg_i < len(slots) and i == slots[seg_i]:
            msg += segments[perm[seg_i]]
            seg_i += 1
        else:
            msg.append(v.filler(fill[fill_i]))
            fill_i += 1
    return {"state": state, "value": value, "message": msg}


def gold_values(ex: dict) -> list[int]:
    """The gold value token of each field: `label(f, v)` when stated, `none` otherwise."""
    v = Vocab()
    return [v.label(f, ex["value"][f]) if ex["state"][f] == "present" else v.none for f in range(N_FIELDS)]


def prompt_ids(ex: dict) -> list[int]:
    v = Vocab()
    return [v.bos] + list(ex["message"]) + [v.sep]


def record_ids(values: list[int]) -> list[int]:
    """The response: the JSON-like record with these value tokens, then EOS."""
    v = Vocab()
    out = [v.lbrace]
    for f, val in enumerate(values):
        out += [v.name(f), v.colon, val, v.comma if f < N_FIELDS - 1 else v.rbrace]
    return out + [v.eos]


def parse_record(ids: list[int]) -> list[int] | None:
    """The value tokens of a generated record, or None when its scaffolding is not the schema's."""
    n = 4 * N_FIELDS + 2
    if len(ids) < n:
        return None
    vals = [ids[p] for p in value_positions()]
    return vals if ids[:n] == record_ids(vals) else None


def micro_counts(pred: list[int] | None, gold: list[int]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one record; a malformed record predicts nothing."""
    v = Vocab()
    tp = fp = fn = 0
    for f, g in enumerate(gold):
        p = v.none if pred is None else pred[f]
        if p != v.none and p == g:
            tp += 1
        else:
            fp += int(p != v.none)
            fn += int(g != v.none)
    return tp, fp, fn


def micro_f1(counts) -> float:
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    return 2 * tp / max(2 * tp + fp + fn, 1)


def corrupt(ex: dict, gen: torch.Generator, max_errors: int = 3) -> tuple[list[int], list[int]]:
    """A rejected record's values and the fields it gets wrong: k (uniform in 1..max_errors) distinct fields get a
    wrong value (a denied cue's own label, else a uniformly random wrong value of the field)."""
    v = Vocab()
    gold = gold_values(ex)
    k = int(torch.randint(1, min(max_errors, N_FIELDS) + 1, (1,), generator=gen))
    fields = sorted(torch.randperm(N_FIELDS, generator=gen)[:k].tolist())
    wrong = list(gold)
    for f in fields:
        if ex["state"][f] == "negated":
            wrong[f] = v.label(f, ex["value"][f])
        else:
            options = [x for x in [v.none] + [v.label(f, j) for j in range(N_VALUES)] if x != gold[f]]
            wrong[f] = options[int(torch.randint(0, len(options), (1,), generator=gen))]
    return wrong, fields


def make_pairs(examples: list[dict], gen: torch.Generator, max_errors: int = 3) -> list[dict]:
    """One preference pair per example: `collate_preferences` fields, `critical` (response indices where chosen and
    rejected differ) and `semantic` (response indices of every value token)."""
    pairs = []
    for ex in examples:
        wrong, fields = corrupt(ex, gen, max_errors)
        pos = value_positions()
        pairs.append({"prompt_ids": prompt_ids(ex), "chosen_ids": record_ids(gold_values(ex)),
                      "rejected_ids": record_ids(wrong), "critical": [pos[f] for f in fields], "semantic": pos,
                      "example": ex})  # fmt: skip
    return pairs


def response_mask(pairs: list[dict], batch: dict, key: str) -> torch.Tensor:
    """`[2B, T - 1]` 0/1 aligned with `token_logps` of `collate_preferences(pairs)`: 1 at the response indices
    `pair[key]` of both the chosen and the rejected response (chosen rows first)."""
    out = torch.zeros_like(batch["completion_mask"][:, 1:], dtype=torch.float32)
    n = len(pairs)
    for side in range(2):
        for i, p in enumerate(pairs):
            start = len(p["prompt_ids"])  # response token j is input index start + j: target column start + j - 1
            for j in p[key]:
                out[side * n + i, start - 1 + j] = 1.0
    return out


def sft_batch(examples: list[dict]) -> dict:
    """`{"input_ids", "targets"}` for the shared trainer: loss on the response tokens only (one length per batch)."""
    rows = [prompt_ids(e) + record_ids(gold_values(e)) for e in examples]
    n_prompt = len(prompt_ids(examples[0]))
    ids = torch.tensor(rows)
    targets = ids[:, 1:].clone()
    targets[:, : n_prompt - 1] = IGNORE
    return {"input_ids": ids[:, :-1], "targets": targets}


def sft_sampler(batch: int):
    """`batches(step, gen)` for the shared trainer: fresh random messages each step."""

    def batches(step, gen):
        return sft_batch([sample_example(gen) for _ in range(batch)])

    return batches


def pair_sampler(pairs: list[dict], batch: int, weights: list[tuple[list[float], list[float]]] | None = None):
    """`batches(step, gen)`: `batch` pairs drawn from the fixed training set, collated (with per-token weights for
    the response tokens when `weights` is given, one (chosen, rejected) pair of lists per training pair), with their
    `index`."""
    v = Vocab()

    def batches(step, gen):
        idx = torch.randint(0, len(pairs), (batch,), generator=gen).tolist()
        part = [pairs[i] for i in idx]
        if weights is not None:
            part = [
                {**p, "chosen_weights": weights[i][0], "rejected_weights": weights[i][1]} for p, i in zip(part, idx)
            ]
        b = collate_preferences(part, v.pad)
        b["index"] = torch.tensor(idx)
        return b

    return batches
