"""Synthetic tasks with known answers, for the papers about what small transformers learn and how.

Every generator is seeded through a `torch.Generator` (the trainer passes its own to a `batches(step, generator)`
sampler), so a task and a seed give the same data on every machine. Samplers return what `shared.lm.trainer` takes:
`[B, T + 1]` ids (next-token prediction everywhere) or `{"input_ids": [B, T], "targets": [B, T]}` with -100 where
there is no loss (the answer positions only).

| task | used for | known answer |
|---|---|---|
| `BigramBackcopy` | attention sinks, active-dormant heads | after a trigger the next token copies the one before it |
| `KeyTokenModel` | 1-layer dynamics (Scan and Snap) | the next token's class; the conditional probabilities P(l \\| n) |
| `FictitiousFacts` | the reversal curse | each name's description and back |
| `list_recall` | in-context recall | the value stored under the queried key |
| `parity`, `counting` | algorithmic probes | the parity of the bits; the count of a token |
| `zipfian_classification` | in-context vs in-weights learning | the exemplar's label (fixed per class, or remapped per sequence) |
| `min_nonneg_sum` | parallel search in chain of thought | the smallest non-negative signed sum |
"""

from dataclasses import dataclass

import torch

IGNORE = -100


def _answer_only(ids: torch.Tensor, answer_positions: torch.Tensor) -> dict:
    """`{"input_ids", "targets"}` from full sequences `[B, T + 1]`: loss only where `answer_positions` `[B, T]` is set."""
    targets = ids[:, 1:].clone()
    targets[~answer_positions] = IGNORE
    return {"input_ids": ids[:, :-1], "targets": targets}


# ---------------------------------------------------------------------------------------------- bigram-backcopy
@dataclass
class BigramBackcopy:
    """The bigram-backcopy task (Guo et al. 2024): a Markov chain over `V` tokens, except that right after a trigger
    the next token copies the token before the trigger. Predicting it needs a head that attends to the previous token
    after triggers and to nothing otherwise; under softmax "nothing" must still be somewhere (the attention sink).

    Args:
        transition (torch.Tensor): row-stochastic next-token matrix `[V, V]` (float64).
        marginal (torch.Tensor): unigram frequencies `[V]`.
        triggers (list[int]): the trigger ids.
        itos (list[str] | None): display strings of the ids (character tasks).
    """

    transition: torch.Tensor
    marginal: torch.Tensor
    triggers: list[int]
    itos: list[str] | None = None

    @classmethod
    def from_text(cls, text: str, k: int = 3) -> "BigramBackcopy":
        """The chain of the characters of `text`; its `k` most frequent characters are the triggers."""
        itos = sorted(set(text))
        stoi = {c: i for i, c in enumerate(itos)}
        ids = torch.tensor([stoi[c] for c in text])
        v = len(itos)
        counts = torch.zeros(v * v, dtype=torch.float64).index_add_(0, ids[:-1] * v + ids[1:],
                                                                     torch.ones(len(ids) - 1, dtype=torch.float64))  # fmt: skip
        counts = counts.view(v, v)
        counts[counts.sum(1) == 0] = 1.0  # a character seen only at the very end continues uniformly
        marginal = torch.bincount(ids, minlength=v).double()
        marginal /= marginal.sum()
        triggers = marginal.argsort(descending=True)[:k].tolist()
        return cls(counts / counts.sum(1, keepdim=True), marginal, sorted(triggers), itos)

    @classmethod
    def from_tokens(cls, tokens: torch.Tensor, vocab: int, triggers: list[int], smoothing: float = 0.1):
        """The add-`smoothing` bigram chain of a token stream (ids < vocab), with the given triggers."""
        return cls(bigram_matrix(tokens, vocab, smoothing), torch.bincount(tokens, minlength=vocab).double(), triggers)

    @property
    def vocab(self) -> int:
        return self.transition.shape[0]

    @property
    def bos(self) -> int:
        """The id after the chain's own (`sample` starts every sequence with it)."""
        return self.vocab

    def is_trigger(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.isin(tokens, torch.tensor(self.triggers, device=tokens.device))

    def sample(self, batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
        """`[batch, length + 1]` sequences: `bos`, then `length` tokens; the first from the trigger-free marginal."""
        first = self.marginal.clone()
        first[self.triggers] = 0
        cdf_first = first.cumsum(0) / first.sum()
        cdf = self.transition.cumsum(1)
        cdf[:, -1] = 1.0  # guards against rounding leaving the last bucket short
        seq = torch.empty(batch, length + 1, dtype=torch.long)
        seq[:, 0] = self.bos
        seq[:, 1] = torch.searchsorted(cdf_first, torch.rand(batch, 1, generator=gen, dtype=torch.float64)).squeeze(1)
        for t in range(2, length + 1):
            x, prev = seq[:, t - 1], seq[:, t - 2]
            u = torch.rand(batch, 1, generator=gen, dtype=torch.float64)
            nxt = torch.searchsorted(cdf[x], u).squeeze(1).clamp_max(self.vocab - 1)
            seq[:, t] = torch.where(self.is_trigger(x), prev, nxt)
        return seq

    def stream(self, chains: int, length: int, seed: int) -> torch.Tensor:
        """`[chains * length]`: `chains` chains without `bos`, concatenated (a token stream for window sampling); the
        first token of a chain from the column sums of the transition matrix."""
        P = self.transition
        g = torch.Generator().manual_seed(seed)
        is_trigger = torch.zeros(P.shape[0], dtype=torch.bool)
        is_trigger[self.triggers] = True
        x = torch.empty(chains, length, dtype=torch.long)
        x[:, 0] = torch.multinomial(P.sum(0), chains, replacement=True, generator=g)
        x[:, 1] = torch.multinomial(P[x[:, 0]], 1, generator=g).squeeze(1)
        for t in range(2, length):
            nxt = torch.multinomial(P[x[:, t - 1]], 1, generator=g).squeeze(1)
            x[:, t] = torch.where(is_trigger[x[:, t - 1]], x[:, t - 2], nxt)
        return x.flatten()


def bigram_matrix(tokens: torch.Tensor, vocab: int, smoothing: float = 0.1) -> torch.Tensor:
    """Row-stochastic next-token matrix `[vocab, vocab]` of a token stream (ids < vocab), add-`smoothing`."""
    counts = torch.zeros(vocab, vocab, dtype=torch.float64)
    counts.index_put_((tokens[:-1], tokens[1:]), torch.ones(tokens.numel() - 1, dtype=torch.float64), accumulate=True)
    counts += smoothing
    return counts / counts.sum(-1, keepdim=True)


# ---------------------------------------------------------------------------------------------- key-token model
@dataclass
class KeyTokenModel:
    """The data model of Tian et al. 2023 (Scan and Snap, Sec. 3): K classes (next tokens); a sequence of class n is
    `length` context tokens drawn i.i.d. from P(l | n), then one query token, and the target is n. P(l | n) puts
    mass `1 - common_mass` on n's own *distinct* tokens (probabilities `distinct_probs`, decreasing) and
    `common_mass` uniformly on *common* tokens shared by every class.

    Ids: 0 = the query token, 1..K = the classes (next tokens), then K * d distinct tokens (class-major), then the
    common ones.
    """

    classes: int = 4
    distinct_probs: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    common: int = 8
    common_mass: float = 0.5

    @property
    def distinct(self) -> int:
        return len(self.distinct_probs)

    @property
    def vocab(self) -> int:
        return 1 + self.classes + self.classes * self.distinct + self.common

    def distinct_ids(self, n: int) -> list[int]:
        """The distinct token ids of class `n` (0-based), in the order of `distinct_probs`."""
        base = 1 + self.classes + n * self.distinct
        return list(range(base, base + self.distinct))

    def common_ids(self) -> list[int]:
        start = 1 + self.classes + self.classes * self.distinct
        return list(range(start, start + self.common))

    def conditional(self) -> torch.Tensor:
        """P(l | n) `[K, V]` (float64): the known answer attention is compared with."""
        p = torch.zeros(self.classes, self.vocab, dtype=torch.float64)
        w = torch.tensor(self.distinct_probs, dtype=torch.float64)
        for n in range(self.classes):
            p[n, self.distinct_ids(n)] = (1 - self.common_mass) * w / w.sum()
            p[n, self.common_ids()] = self.common_mass / self.common
        return p

    def sample(self, batch: int, length: int, gen: torch.Generator, shuffle_labels: bool = False) -> dict:
        """`{"input_ids": [B, length + 1], "targets": [B, length + 1], "classes": [B]}`: context, then the query token
        (id 0), whose target is the class token `1 + n`. `shuffle_labels` draws the target class independently of the
        context (the control with no structure to learn)."""
        n = torch.randint(0, self.classes, (batch,), generator=gen)
        ctx = torch.multinomial(self.conditional()[n], length, replacement=True, generator=gen)  # [B, length]
        ids = torch.cat([ctx, torch.zeros(batch, 1, dtype=torch.long)], dim=1)
        label = torch.randint(0, self.classes, (batch,), generator=gen) if shuffle_labels else n
        targets = torch.full_like(ids, IGNORE)
        targets[:, -1] = 1 + label
        return {"input_ids": ids, "targets": targets, "classes": n}


# ---------------------------------------------------------------------------------------------- fictitious facts
@dataclass
class FictitiousFacts:
    """Facts "A is B" between made-up names A and descriptions B, each a tuple of syllable tokens, for the reversal
    curse (Berglund et al. 2023; Lv et al. 2023). Ids: 0 pad, 1 bos, 2 eos, 3 the relation token, 4 mask, then
    `syllables` name syllables and `syllables` description syllables. Names and descriptions are distinct.
    """

    facts: int = 200
    name_len: int = 2
    desc_len: int = 3
    syllables: int = 64
    seed: int = 0
    PAD, BOS, EOS, IS, MASK = 0, 1, 2, 3, 4

    def __post_init__(self):
        g = torch.Generator().manual_seed(self.seed)
        self.names = self._distinct(self.name_len, 5, g)
        self.descriptions = self._distinct(self.desc_len, 5 + self.syllables, g)

    def _distinct(self, length: int, offset: int, g: torch.Generator) -> torch.Tensor:
        if self.syllables**length < 2 * self.facts:
            raise ValueError(f"{self.syllables}^{length} tuples are too few for {self.facts} distinct entities")
        seen, rows = set(), []
        while len(rows) < self.facts:
            row = tuple((torch.randint(0, self.syllables, (length,), generator=g) + offset).tolist())
            if row not in seen:
                seen.add(row)
                rows.append(row)
        return torch.tensor(rows)

    @property
    def vocab(self) -> int:
        return 5 + 2 * self.syllables

    def statement(self, i: int, reverse: bool = False) -> list[int]:
        """`bos A is B eos` (or `bos B is A eos` reversed) as ids."""
        a, b = self.names[i].tolist(), self.descriptions[i].tolist()
        first, second = (b, a) if reverse else (a, b)
        return [self.BOS, *first, self.IS, *second, self.EOS]

    def statements(self, idx=None, reverse: bool = False) -> torch.Tensor:
        """`[n, 3 + name_len + desc_len]` statements of facts `idx` (default all)."""
        idx = range(self.facts) if idx is None else idx
        return torch.tensor([self.statement(i, reverse) for i in idx])

    def answer_span(self, reverse: bool = False) -> slice:
        """The positions of the second entity in a statement (the answer of a query made of the rest)."""
        start = 2 + (self.desc_len if reverse else self.name_len)
        return slice(start, start + (self.name_len if reverse else self.desc_len))


# ---------------------------------------------------------------------------------------------- small probes
def list_recall(batch: int, pairs: int, keys: int, values: int, gen: torch.Generator) -> dict:
    """Associative recall: `k1 v1 k2 v2 ... kP vP q` with distinct keys; the target after the query `q` (one of the
    keys) is its value. Ids: keys `0..keys-1`, values `keys..keys+values-1`.

    Returns:
        dict: `input_ids [B, 2P + 1]`, `targets [B, 2P + 1]` (the value at the last position, -100 elsewhere).
    """
    if pairs > keys:
        raise ValueError(f"{pairs} distinct keys asked from {keys}")
    k = torch.rand(batch, keys, generator=gen).argsort(-1)[:, :pairs]  # [B, P] distinct keys
    v = torch.randint(0, values, (batch, pairs), generator=gen) + keys
    which = torch.randint(0, pairs, (batch,), generator=gen)
    ids = torch.stack([k, v], dim=-1).flatten(1)
    query = k.gather(1, which[:, None])
    ids = torch.cat([ids, query], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, -1] = v.gather(1, which[:, None]).squeeze(1)
    return {"input_ids": ids, "targets": targets}


def parity(batch: int, bits: int, gen: torch.Generator) -> dict:
    """`b1 .. bn =`: ids 0/1 for bits, 2 for `=`; the target at `=` is the parity (0 or 1)."""
    x = torch.randint(0, 2, (batch, bits), generator=gen)
    ids = torch.cat([x, torch.full((batch, 1), 2)], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, -1] = x.sum(1) % 2
    return {"input_ids": ids, "targets": targets}


def counting(batch: int, length: int, symbols: int, gen: torch.Generator) -> dict:
    """`x1 .. xn q`: symbols `0..symbols-1`, then a query symbol q + symbols (which symbol to count); the target is the
    count of q, as the id `2 * symbols + count`."""
    x = torch.randint(0, symbols, (batch, length), generator=gen)
    q = torch.randint(0, symbols, (batch,), generator=gen)
    ids = torch.cat([x, (q + symbols)[:, None]], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, -1] = 2 * symbols + (x == q[:, None]).sum(1)
    return {"input_ids": ids, "targets": targets}


def zipfian_classification(batch: int, classes: int, exemplars: int, gen: torch.Generator, alpha: float = 1.0,
                           in_context: bool = False, labels: int = 2) -> dict:  # fmt: skip
    """In-context vs in-weights classification (Chan et al. 2022): `exemplars` (item, label) pairs, then a query item;
    items are drawn from a Zipf(alpha) distribution over `classes`. The label of a class is fixed (`class % labels`:
    solvable in weights) or, with `in_context`, remapped per sequence (solvable only from the pairs in context, which
    always include the query's class). Ids: items `0..classes-1`, labels `classes..classes+labels-1`."""
    p = 1.0 / torch.arange(1, classes + 1, dtype=torch.float64) ** alpha
    items = torch.multinomial(p / p.sum(), batch * exemplars, replacement=True, generator=gen).view(batch, exemplars)
    query = items[torch.arange(batch), torch.randint(0, exemplars, (batch,), generator=gen)]
    if in_context:
        mapping = torch.randint(0, labels, (batch, classes), generator=gen)
    else:
        mapping = (torch.arange(classes) % labels).expand(batch, classes)
    lab = mapping.gather(1, items) + classes
    ids = torch.cat([torch.stack([items, lab], -1).flatten(1), query[:, None]], dim=1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, -1] = mapping.gather(1, query[:, None]).squeeze(1) + classes
    return {"input_ids": ids, "targets": targets}


def min_nonneg_sum(batch: int, n: int, high: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The minimum non-negative sum task (Gozeten et al. 2025): integers `a [B, n]` in `1..high`; the answer is the
    smallest non-negative value of sum_i s_i a_i over signs s in {-1, +1}^n (exhaustive, so n stays small).

    Returns:
        tuple: `a [B, n]`, answers `[B]`.
    """
    a = torch.randint(1, high + 1, (batch, n), generator=gen)
    signs = torch.tensor([[1 if (m >> i) & 1 else -1 for i in range(n)] for m in range(2**n)])  # [2^n, n]
    sums = a @ signs.t()  # [B, 2^n]
    best = sums.masked_fill(sums < 0, torch.iinfo(sums.dtype).max).min(1).values
    return a, best
