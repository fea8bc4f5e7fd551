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
- the task generator `PosTask` (training sampler, fixed probe sets with unseen, head-token conflict and tail tokens)
  is in `shared.lm.tasks`, re-exported here;
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
from shared.lm.tasks import PosTask  # noqa: F401 (the task lives in shared.lm.tasks; used as method.PosTask)
from shared.lm.trainer import TrainConfig, train

IGNORE = -100
CONDITIONS = ("vanilla", "active", "temporary", "random_label", "forced")


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
