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
| `min_nonneg_sum`, `MNNS` | parallel search in (continuous) chain of thought | the smallest non-negative signed sum, the reachable partial sums |
| `SlotFacts` | the reversal curse with BICO | as `FictitiousFacts`, one syllable pool per slot |
| `PosTask` | structural in-context vs in-weights learning | the part of speech read from the frame, for any token |
| `SegmentRecall` | meta and pause tokens, long-range recall | the queried item of the queried list |

`insert_after` injects extra tokens (meta or pause tokens) after marked positions, targets kept with their tokens.
"""

import itertools
from dataclasses import dataclass, field

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
    """Random instances of `MNNS(m=n, high=high)`: integers `a [B, n]` in `1..high` and their answers `[B]`."""
    a = torch.randint(1, high + 1, (batch, n), generator=gen)
    return a, MNNS(m=n, high=high).answers(a)


@dataclass
class MNNS:
    """The minimum non-negative sum task (Gozeten et al. 2025) with `m` digits in `1..high`, as token ids: the
    answer is the smallest non-negative value of sum_i s_i d_i over signs s in {-1, +1}^m (exhaustive over the 2^m
    sign patterns, so m stays small). Used for parallel search in continuous chain of thought (cot2_2025): the
    reachable partial sums after t digits are the traces a continuous CoT can hold at once.

    Ids: 0 = BOS, 1 = SEP (also the no-CoT filler), `1 + d` = digit d, then the sums `-m*high .. m*high`.
    """

    m: int = 4
    high: int = 9
    signs: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        # every sign pattern, +1 before -1 in each place (itertools order): [2^m, m]
        self.signs = torch.tensor(list(itertools.product((1, -1), repeat=self.m)))

    @property
    def bos(self) -> int:
        return 0

    @property
    def sep(self) -> int:
        return 1

    @property
    def max_sum(self) -> int:
        return self.m * self.high

    @property
    def vocab(self) -> int:
        return 2 + self.high + 2 * self.max_sum + 1

    @property
    def prompt_len(self) -> int:
        return self.m + 2

    @property
    def seq_len(self) -> int:
        """Input positions of every method: the prompt plus m-1 fed-back steps."""
        return self.prompt_len + self.m - 1

    def digit_id(self, d):
        return 1 + d

    def sum_id(self, s):
        return 2 + self.high + self.max_sum + s

    def id_sum(self, i):
        return i - (2 + self.high + self.max_sum)

    def instances(self) -> torch.Tensor:
        """Every digit sequence `[high^m, m]` (lexicographic)."""
        return torch.tensor(list(itertools.product(range(1, self.high + 1), repeat=self.m)))

    def split(self, a: torch.Tensor, train_frac: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices of train and held-out instances; all orderings of one multiset of digits fall on the same side, so
        the held-out instances are digit multisets never seen in training."""
        keys = [tuple(sorted(row)) for row in a.tolist()]
        groups = sorted(set(keys))
        perm = torch.randperm(len(groups), generator=torch.Generator().manual_seed(seed)).tolist()
        train_groups = {groups[i] for i in perm[: int(round(train_frac * len(groups)))]}
        is_train = torch.tensor([k in train_groups for k in keys])
        return is_train.nonzero().flatten(), (~is_train).nonzero().flatten()

    def partial_sums(self, a: torch.Tensor) -> torch.Tensor:
        """`[B, 2^m, m]`: the partial sums of every sign pattern (trace) after 1..m digits."""
        return torch.cumsum(a.unsqueeze(1) * self.signs.unsqueeze(0), dim=-1)

    def answers(self, a: torch.Tensor) -> torch.Tensor:
        """`[B]`: the smallest non-negative signed sum (one always exists: flipping every sign flips the sum)."""
        final = self.partial_sums(a)[..., -1]
        return final.masked_fill(final < 0, torch.iinfo(final.dtype).max).min(-1).values

    def trace(self, a: torch.Tensor) -> torch.Tensor:
        """`[B, m]`: the partial sums of the first optimal sign pattern (+ before -): the discrete CoT's target."""
        ps = self.partial_sums(a)
        final = ps[..., -1]
        best = (final == self.answers(a).unsqueeze(-1)).float().argmax(-1)  # first optimal pattern
        return ps[torch.arange(len(a)), best]

    def reachable(self, a: torch.Tensor) -> torch.Tensor:
        """`[B, m, V]`: at step t (after t digits) the share of the 2^m sign patterns whose partial sum is each value
        (= the 2^t prefixes, each counted 2^(m-t) times): the CSFT targets of the first m-1 steps."""
        ps = self.partial_sums(a)  # [B, 2^m, m]
        out = torch.zeros(len(a), self.m, self.vocab, dtype=torch.float64)
        out.scatter_add_(2, self.sum_id(ps).transpose(1, 2), torch.ones(ps.transpose(1, 2).shape, dtype=torch.float64))
        return out / ps.shape[1]

    def prompts(self, a: torch.Tensor) -> torch.Tensor:
        """`[B, m + 2]`: BOS, the digits, SEP."""
        B = len(a)
        return torch.cat([torch.full((B, 1), self.bos), self.digit_id(a), torch.full((B, 1), self.sep)], dim=1)


# ---------------------------------------------------------------------------------------------- slot facts
@dataclass
class SlotFacts(FictitiousFacts):
    """`FictitiousFacts` whose every slot has its own syllable pool: name syllable s of slot k is token
    `5 + k * syllables + s`, description slot k follows the `name_len` name pools. As in real names and descriptions
    (a first name is not a surname, "composer" is not "Melodies"), a token says which slot of which entity it fills.
    The facts (which syllables, in which order) are those of `FictitiousFacts` with the same arguments."""

    def __post_init__(self):
        super().__post_init__()
        S = self.syllables
        self.names = self.names + torch.arange(self.name_len) * S
        self.descriptions = self.descriptions - S + (self.name_len + torch.arange(self.desc_len)) * S

    @property
    def vocab(self) -> int:
        return 5 + (self.name_len + self.desc_len) * self.syllables


# ---------------------------------------------------------------------------------------------- parts of speech
@dataclass
class PosTask:
    """The part-of-speech frames of Anand et al. 2024 (dual process learning, arXiv:2406.00053, Sec. 3): two
    Zipf-distributed classes, nouns and adjectives, and a copula; the token right after the copula is the adjective.
    Ids: nouns `0..n-1`, adjectives `n..2n-1` (rank order: id n + r is the adjective of
    Zipf rank r), unseen tokens `2n..2n+u-1` (never in training), then `cop`, `NOUN`, `ADJ`.

    A sequence is `[cop, a, m, q]` or `[m, cop, a, q]` (a = adjective, m = noun, each frame with probability 1/2) and
    the query q is a or m (probability 1/2); the target at the query is `ADJ` if q stood right after `cop`, else
    `NOUN`. A share `ambiguous` of each class (every tenth rank from the first) may stand in the other role: drawn, it
    is swapped half the time for an ambiguous token of the other class, as in the official generator, so some tokens
    can only be read from context.

    Args:
        per_class (int): nouns (= adjectives).
        unseen (int): token ids kept out of training (even).
        alpha (float): Zipf exponent of the ranks (p(r) ~ 1 / r^alpha, r = 1..per_class).
        ambiguous (float): share of each class that is ambiguous.
    """

    per_class: int = 64
    unseen: int = 32
    alpha: float = 1.5
    ambiguous: float = 0.1

    @property
    def cop(self) -> int:
        return 2 * self.per_class + self.unseen

    @property
    def noun_label(self) -> int:
        return self.cop + 1

    @property
    def adj_label(self) -> int:
        return self.cop + 2

    @property
    def vocab(self) -> int:
        return self.cop + 3

    @property
    def unseen_ids(self) -> torch.Tensor:
        return torch.arange(2 * self.per_class, 2 * self.per_class + self.unseen)

    def rank_probs(self) -> torch.Tensor:
        """Zipf probabilities of ranks `[per_class]` (float64)."""
        p = 1.0 / torch.arange(1, self.per_class + 1, dtype=torch.float64) ** self.alpha
        return p / p.sum()

    def ambiguous_ranks(self) -> torch.Tensor:
        """Ranks whose tokens may take the other role: every `round(1 / ambiguous)`-th rank, from rank 0."""
        if self.ambiguous <= 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.arange(0, self.per_class, max(1, round(1 / self.ambiguous)))

    def frames(self, adj: torch.Tensor, noun: torch.Tensor, gen: torch.Generator, query_adj: torch.Tensor | None = None,
               labels: str = "structure") -> dict:  # fmt: skip
        """`{"input_ids" [B, 4], "targets" [B, 4], "query_is_adj_slot" [B]}` from the adjective-slot and noun-slot tokens
        `[B]`; `labels="random"` draws the target label by a coin (the random-label control)."""
        B = adj.shape[0]
        frame_b = torch.rand(B, generator=gen) < 0.5
        if query_adj is None:
            query_adj = torch.rand(B, generator=gen) < 0.5
        cop = torch.full((B,), self.cop)
        first = torch.where(frame_b, noun, cop)
        second = torch.where(frame_b, cop, adj)
        third = torch.where(frame_b, adj, noun)
        query = torch.where(query_adj, adj, noun)
        ids = torch.stack([first, second, third, query], dim=1)
        answer = torch.where(query_adj, self.adj_label, self.noun_label)
        if labels == "random":
            answer = torch.where(torch.rand(B, generator=gen) < 0.5, self.adj_label, self.noun_label)
        targets = torch.full_like(ids, IGNORE)
        targets[:, -1] = answer
        return {"input_ids": ids, "targets": targets, "query_is_adj_slot": query_adj}

    def draw_ranks(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.multinomial(self.rank_probs(), n, replacement=True, generator=gen)

    def sample(self, batch: int, gen: torch.Generator, labels: str = "structure") -> dict:
        """A training batch: Zipf ranks for both slots, ambiguous tokens swapped role half the time."""
        adj = self.per_class + self.draw_ranks(batch, gen)
        noun = self.draw_ranks(batch, gen)
        amb = self.ambiguous_ranks()
        if amb.numel():
            # an ambiguous noun in the noun slot becomes an ambiguous adjective half the time, and vice versa
            amb_p = self.rank_probs()[amb]
            drawn_noun, drawn_adj = noun.clone(), adj.clone()
            for slot, other_offset in ((noun, self.per_class), (adj, 0)):
                is_amb = torch.isin(slot % self.per_class, amb)
                flip = is_amb & (torch.rand(batch, generator=gen) < 0.5)
                repl = amb[torch.multinomial(amb_p, batch, replacement=True, generator=gen)] + other_offset
                slot.copy_(torch.where(flip, repl, slot))
            # the same token in both slots would leave the query's slot undefined: keep the drawn pair there
            same = noun == adj
            noun.copy_(torch.where(same, drawn_noun, noun))
            adj.copy_(torch.where(same, drawn_adj, adj))
        out = self.frames(adj, noun, gen, labels=labels)
        return {"input_ids": out["input_ids"], "targets": out["targets"]}

    def probe_sets(self, n: int, seed: int, head: int = 8, tail_share: float = 0.1) -> dict[str, dict]:
        """Fixed probe sequences (the same for every model of a seed), `n` each:
        - `unseen`: both slots hold distinct unseen tokens: only structure can answer (structural ICL);
        - `conflict`: a head noun (rank < `head`, not ambiguous) in the adjective slot and a head adjective in the noun
          slot: the structural answer and the token's class disagree on every sequence;
        - `tail`: ordinary frames with tokens of the last `tail_share` of ranks (rare in training);
        - `head`: ordinary frames with head tokens (in-distribution, both strategies agree)."""
        gen = torch.Generator().manual_seed(10_000 + seed)
        sets = {}
        perm = torch.stack([torch.randperm(self.unseen, generator=gen)[:2] for _ in range(n)])
        u = self.unseen_ids[perm]
        sets["unseen"] = self.frames(u[:, 0], u[:, 1], gen)
        amb = set(self.ambiguous_ranks().tolist())
        head_ranks = torch.tensor([r for r in range(self.per_class) if r not in amb][:head])
        pick = lambda: head_ranks[torch.randint(0, len(head_ranks), (n,), generator=gen)]  # noqa: E731
        sets["conflict"] = self.frames(
            pick(), self.per_class + pick(), gen
        )  # noun in the adj slot, adj in the noun slot
        sets["head"] = self.frames(self.per_class + pick(), pick(), gen)
        lo = self.per_class - max(1, round(tail_share * self.per_class))
        tail = lambda: torch.randint(lo, self.per_class, (n,), generator=gen)  # noqa: E731
        sets["tail"] = self.frames(self.per_class + tail(), tail(), gen)
        return sets


# ---------------------------------------------------------------------------------------------- extra tokens
def insert_after(ids: torch.Tensor, targets: torch.Tensor, after: torch.Tensor, token: int) -> tuple:
    """Insert `token` right after every position where `after` `[B, T]` is set (the same count in every row).

    Returns:
        tuple: ids `[B, T + n]` and targets `[B, T + n]`: every original token keeps its target, an inserted token
        gets none (-100), as the paper removes meta-token positions from the loss.
    """
    counts = after.sum(1)
    if not bool((counts == counts[0]).all()):
        raise ValueError("insert_after needs the same number of insertions in every row")
    B, T = ids.shape
    n = int(counts[0])
    shift = torch.cumsum(after.long(), dim=1) - after.long()  # insertions strictly before each position
    new_pos = torch.arange(T).unsqueeze(0) + shift  # [B, T]
    out_ids = torch.full((B, T + n), token, dtype=ids.dtype)
    out_tg = torch.full((B, T + n), IGNORE, dtype=targets.dtype)
    out_ids.scatter_(1, new_pos, ids)
    out_tg.scatter_(1, new_pos, targets)
    return out_ids, out_tg


# ---------------------------------------------------------------------------------------------- segment recall
@dataclass(frozen=True)
class SegmentRecall:
    """Named lists, then a query: `n1 a b c  n2 d e f  ...  Q n2 #2` -> `e` (item 2 of list n2); an analogue of the
    List Recall task of Shah et al. 2025 (meta-tokens, arXiv:2509.16278).

    Ids: items `0..items-1`, list names `items..items+names-1`, index tokens `#1..#size` next, then the query token
    `Q` and the meta token `M`. A sequence has `lists` lists with distinct names, each of `size` items drawn uniformly;
    the query names one of them and an index; the target (at the last position) is that item. With `meta=True` a meta
    token closes every list (after its last item).
    """

    items: int = 16
    names: int = 24
    size: int = 3

    @property
    def query_id(self) -> int:
        return self.items + self.names + self.size

    @property
    def meta_id(self) -> int:
        return self.query_id + 1

    @property
    def vocab(self) -> int:
        return self.meta_id + 1

    def sample(self, batch: int, lists: int, gen: torch.Generator, meta: bool = False) -> dict:
        """`{"input_ids" [B, T], "targets" [B, T]}` with the answer at the last position (-100 elsewhere)."""
        if lists > self.names:
            raise ValueError(f"{lists} distinct list names asked from {self.names}")
        names = torch.rand(batch, self.names, generator=gen).argsort(-1)[:, :lists] + self.items  # [B, L]
        vals = torch.randint(0, self.items, (batch, lists, self.size), generator=gen)  # [B, L, K]
        which = torch.randint(0, lists, (batch,), generator=gen)
        index = torch.randint(0, self.size, (batch,), generator=gen)
        body = torch.cat([names.unsqueeze(-1), vals], dim=-1).flatten(1)  # [B, L * (K + 1)]
        query = torch.stack([torch.full((batch,), self.query_id), names[torch.arange(batch), which],
                             self.items + self.names + index], dim=1)  # fmt: skip
        ids = torch.cat([body, query], dim=1)
        targets = torch.full_like(ids, IGNORE)
        targets[:, -1] = vals[torch.arange(batch), which, index]
        if meta:
            after = torch.zeros_like(ids, dtype=torch.bool)
            after[:, : body.shape[1]] = (torch.arange(body.shape[1]) % (self.size + 1) == self.size).unsqueeze(0)
            ids, targets = insert_after(ids, targets, after, self.meta_id)
        return {"input_ids": ids, "targets": targets}
