"""Structural in-context vs in-weights learning on a part-of-speech toy, with active and temporary embedding forgetting.

Paper: Anand, Lepori, Merullo & Pavlick, *Dual Process Learning: Controlling Use of In-Context vs. In-Weights
Strategies with Weight Forgetting*, arXiv:2406.00053 (v3). Its synthetic task (Sec. 3 of v1) has two parts of speech,
nouns and adjectives, each a Zipf-distributed vocabulary, and a copula token: in "cop adj noun" and "noun cop adj" the
token right after the copula is the adjective. Asked for the part of speech of a query token that occurred in the
frame, a model can answer from the token's embedding (in-weights learning, IWL) or from where it stood relative to the
copula (structural in-context learning, ICL), which works for any token, even one never seen in training. Active
forgetting (Chen et al. 2023) re-initialises the token embeddings every k steps; temporary forgetting stops doing so
after N steps.

What this module adds to the shared engine (`shared.lm`):
- `PosTask`: the task generator (training sampler, fixed probe sets with unseen, head-token conflict and tail tokens);
- `EmbeddingForgetting`: the reset schedule, run from the shared trainer's `callback` (see its docstring for exactly
  what is reset and how the optimiser state is reached);
- `Probe`: in-context accuracy on unseen tokens and IWL/ICL shares on conflicting head tokens, every `every` steps;
- `run_condition`: one (condition, seed) training run on `shared.lm.trainer.train`; `forced` (embeddings redrawn
  after every step) is the positive control that the model can learn structural ICL at all.

Deviations from the paper, on purpose:
- A causal decoder (`shared.lm.family`, 2 layers, d = 32, untied input/output embeddings) instead of a BERT masked LM
  (6 layers, d = 64), a few hundred steps instead of ~62k, lr 3e-3 instead of 5e-5: the default run must fit a minute
  on one core. The answer is a part-of-speech label token after the query (two output classes, chance 1/2) instead
  of the paper's three masked tokens that copy the adjective or the noun; the label decides the same thing.
- Only the input embedding matrix is re-initialised (the paper's BERT ties it to the output layer, whose rows are
  the answer tokens there; here the answer tokens are separate label rows of the untied output head).
- Unseen tokens get fixed random embeddings from the initial distribution, written into their rows before every
  probe (the paper restores their initial embeddings the same way), so weight decay never shrinks them.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from shared.lm.family import ModelSpec, make_model
from shared.lm.trainer import TrainConfig, train

IGNORE = -100
CONDITIONS = ("vanilla", "active", "temporary", "random_label", "forced")


# ---------------------------------------------------------------------------------------------------------- the task
@dataclass
class PosTask:
    """The part-of-speech frames. Ids: nouns `0..n-1`, adjectives `n..2n-1` (rank order: id n + r is the adjective of
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


# ------------------------------------------------------------------------------------------------------- forgetting
def _embedding(model) -> torch.nn.Parameter:
    return model.model.embed_tokens.weight


class EmbeddingForgetting:
    """Active forgetting from the shared trainer's `callback`: after optimiser step s (the trainer calls
    `callback(s, row)` right after `opt.step()`), if `every` divides s and s <= `stop` (None = never stop), the whole
    input embedding matrix `model.model.embed_tokens.weight` is redrawn from N(0, std^2) (the family's initial
    distribution, std = initializer_range 0.02) with a generator seeded by (seed, s), and the AdamW state of that one
    tensor (first and second moments, step counter) is zeroed, as the official AdamEF optimiser does, so the fresh
    embeddings are learned with fresh bias correction. Every other parameter and its optimiser state is untouched.

    The shared trainer builds its optimiser inside `train` and does not pass it to the callback, so `attach` registers
    torch's global optimiser step-post hook for the duration of training to keep a reference to the optimiser that
    steps this model's embedding (removed by `detach`).

    Args:
        every (int): k, steps between resets (0 = never).
        stop (int | None): last step at which a reset may happen (temporary forgetting), None for active forgetting.
        std (float): the initial embedding standard deviation.
    """

    def __init__(self, model, every: int, stop: int | None, seed: int, std: float = 0.02):
        self.model, self.every, self.stop, self.seed, self.std = model, every, stop, seed, std
        self.optimizer = None
        self.resets: list[int] = []
        self._handle = None

    def attach(self) -> EmbeddingForgetting:
        param = _embedding(self.model)

        def keep(opt, args, kwargs):
            if self.optimizer is None and any(p is param for g in opt.param_groups for p in g["params"]):
                self.optimizer = opt

        self._handle = register_optimizer_step_post_hook(keep)
        return self

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.optimizer = None
        gc.collect()

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0 and (self.stop is None or step <= self.stop)

    @torch.no_grad()
    def __call__(self, step: int, row: dict | None = None) -> None:
        if not self.due(step):
            return
        param = _embedding(self.model)
        gen = torch.Generator().manual_seed(1_000_003 * (self.seed + 1) + step)
        param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float32).to(param) * self.std)
        if self.optimizer is not None:
            state = self.optimizer.state.get(param, {})
            for value in state.values():
                if torch.is_tensor(value):
                    value.zero_()
        self.resets.append(step)


# ------------------------------------------------------------------------------------------------------------ probes
@torch.no_grad()
def label_choice(model, batch: dict, task: PosTask) -> torch.Tensor:
    """`[B]` True where the model prefers `ADJ` over `NOUN` at the query (the two label logits only)."""
    was = model.training
    model.eval()
    logits = model(input_ids=batch["input_ids"]).logits[:, -1]  # [B, V]
    model.train(was)
    return logits[:, task.adj_label] > logits[:, task.noun_label]


class Probe:
    """Measures a model on fixed probe sets every `every` steps (and at step 0 when called so), writing the fixed
    unseen-token embeddings into their rows first. Rows: step, unseen_acc (structural ICL), conflict_iwl (share of
    conflict queries answered by the token's own class), head_acc, tail_acc, and the counts behind them."""

    def __init__(self, model, task: PosTask, sets: dict, every: int, seed: int, std: float = 0.02):
        self.model, self.task, self.sets, self.every = model, task, sets, every
        gen = torch.Generator().manual_seed(20_000 + seed)
        self.unseen_rows = torch.randn(task.unseen, model.spec.hidden_size, generator=gen) * std
        self.rows: list[dict] = []

    @torch.no_grad()
    def measure(self, step: int) -> dict:
        _embedding(self.model)[self.task.unseen_ids] = self.unseen_rows.to(_embedding(self.model))
        row = {"step": step}
        for name in ("unseen", "head", "tail", "conflict"):
            batch = self.sets[name]
            says_adj = label_choice(self.model, batch, self.task)
            structural = batch["query_is_adj_slot"]
            follows_context = (says_adj == structural).sum().item()
            n = len(structural)
            row[f"{name}_n"] = n
            if name == "conflict":
                row["conflict_icl_k"] = follows_context
                row["conflict_iwl_k"] = n - follows_context  # the class of the token is the other answer here
                row["conflict_iwl"] = (n - follows_context) / n
            else:
                row[f"{name}_k"] = follows_context
                row[f"{name}_acc"] = follows_context / n
        self.rows.append(row)
        return row

    def __call__(self, step: int, row: dict | None = None) -> None:
        if step % self.every == 0:
            self.measure(step)


# ------------------------------------------------------------------------------------------------------- one run
@dataclass
class RunConfig:
    steps: int = 300
    batch: int = 64
    lr: float = 3e-3
    warmup: int = 20
    weight_decay: float = 0.01
    forget_every: int = 3
    temporary_stop: int = 100
    probe_every: int = 20
    probe_n: int = 256
    hidden: int = 32
    layers: int = 2
    heads: int = 2
    position: str = "rope"
    qk_source: str = "hidden"
    task: PosTask = field(default_factory=PosTask)


def make_spec(cfg: RunConfig) -> ModelSpec:
    return ModelSpec(vocab_size=cfg.task.vocab, hidden_size=cfg.hidden, layers=cfg.layers, heads=cfg.heads,
                     mlp_ratio=2, context=8, tie_embeddings=False,
                     position=cfg.position, qk_source=cfg.qk_source)  # fmt: skip


def run_condition(condition: str, seed: int, cfg: RunConfig, threads: int | None = 1) -> dict:
    """Train one model of `condition` (vanilla, active, temporary, random_label, forced) from seed `seed`, probe it.

    Returns:
        dict: `probes` (list of probe rows, step 0 included), `resets` (steps at which embeddings were reset),
        `final_loss`.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition={condition!r}; choose one of {CONDITIONS}")
    task = cfg.task
    model = make_model(make_spec(cfg), seed=seed)
    probe = Probe(model, task, task.probe_sets(cfg.probe_n, seed), cfg.probe_every, seed)
    probe.measure(0)
    # forced: the embeddings redrawn after every step, so only a structural solution can lower the loss (the positive
    # control that this model and budget can learn structural ICL at all)
    every = {"active": cfg.forget_every, "temporary": cfg.forget_every, "forced": 1}.get(condition, 0)
    stop = cfg.temporary_stop if condition == "temporary" else None
    forget = EmbeddingForgetting(model, every, stop, seed).attach()
    labels = "random" if condition == "random_label" else "structure"

    def batches(step, gen):
        return task.sample(cfg.batch, gen, labels=labels)

    def callback(step, row):
        # probe first, then reset (as the official loop evaluates before it forgets): a probe sees the embeddings
        # learned since the last reset, never freshly drawn ones
        probe(step, row)
        forget(step, row)

    tc = TrainConfig(steps=cfg.steps, batch_size=cfg.batch, seq_len=4, lr=cfg.lr, warmup=cfg.warmup,
                     weight_decay=cfg.weight_decay, seed=seed, threads=threads, schedule="constant",
                     log_every=10**9, eval_every=10**9)  # fmt: skip
    try:
        result = train(model, None, tc, batches=batches, callback=callback, log=None)
    finally:
        forget.detach()
    return {"probes": probe.rows, "resets": forget.resets, "final_loss": result.history[-1]["loss"]}
