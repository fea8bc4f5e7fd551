"""Extreme-token statistics of Bigram-Backcopy transformers, on the shared model family and trainer.

Guo, Pai, Bai, Jiao, Jordan & Mei, *Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token
Phenomena in LLMs* (arXiv:2410.13835). A Bigram-Backcopy (BB) sequence starts with a BOS token and follows a fixed
character-bigram Markov chain, except right after one of the `k` most frequent characters (the *triggers*), where the
next token is a copy of the token before the trigger. A transformer trained on it learns an attention head that is
*active* after triggers (it attends to the previous token and copies it) and *dormant* otherwise, by attending to BOS,
whose value state shrinks towards zero (the value-state drain) while the BOS residual state grows (the residual peak).

What this module adds to `shared.lm` (the task is `shared.lm.tasks.BigramBackcopy`, the models are
`shared.lm.family` models, the training is `shared.lm.trainer.train`):
- `extreme_token_stats`: the paper's statistics of one head per layer (attention sink, active copy, value-state drain,
  residual-state peak, BOS logit gap), computed from `shared.lm.family.trace`;
- `split_loss`: the loss at trigger (copy) and other (bigram) positions next to the Bayes-optimal bigram loss;
- `make_model` / `train_bb`: the paper's small transformer as a `ModelSpec` (one head per layer, learned absolute
  positions, pre-norm LayerNorm blocks with a 4x ReLU MLP, an untied readout; softmax or the paper's ReLU attention
  `relu(logits) / #visible keys`) trained on fresh BB batches, with the probe statistics logged during training.

Deviations from the paper, on purpose:
- the bigram chain is estimated from the King James Bible (`data/text/kjv`), not from tiny-Shakespeare: the offline
  corpus we have; triggers are again its `k` most frequent characters (space, e, t for k = 3);
- much smaller scale for a CPU: width 32 (paper 256), sequences of 32 tokens (paper 256), batches of 32 (paper 512),
  hundreds to a few thousand steps (paper 10,000-100,000) with a larger Adam learning rate (paper 3e-4);
- the model is a `shared.lm.family` model (a transformers Llama with LayerNorm, a ReLU MLP and learned positions), so
  it initialises like Llama: attention projections, token and position embeddings and the readout are normal with
  std 0.02 (this paper's own model before issue 18 used PyTorch's defaults: N(0, 1) for the embedding tables,
  uniform with std about 0.1 at width 32 for the linear layers; the official code's initialisation could not be read
  offline); since the family fix of 2026-12-06 the ReLU MLP too. The shared trainer puts the weight decay only on tensors with >= 2
  dimensions (not on LayerNorm weights and biases). The same seeds therefore give other numbers than the records made
  before issue 18; the optimiser (AdamW, betas (0.9, 0.999), or SGD with momentum 0.9), constant step size without
  warmup or clipping are as before; since issue 14 the fresh batches are drawn 50 steps at a time (`BBStream`), so
  the data of a seed differ from the records made before.

The `mutual-reinforcement` intervention (issue 14): `clamp_value_norm`, applied by the trainer's callback after every
optimiser step, holds the BOS value-state norm at the mean of the other tokens' (so the value state cannot drain);
the same surgery on a placebo token is the trivial control.
"""

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from shared.lm import family
from shared.lm.family import ModelSpec
from shared.lm.tasks import BigramBackcopy
from shared.lm.trainer import TrainConfig, train


@torch.no_grad()
def extreme_token_stats(model, task: BigramBackcopy, tokens: torch.Tensor, head: int = 0) -> list[dict]:
    """Per-layer extreme-token statistics of one head on BB inputs `tokens` `[B, T]` (position 0 is BOS).

    Query positions 1..T-1 are split into *trigger* positions (the head should be active and copy) and *non-trigger*
    positions (dormant). Returns, per layer:
        sink_nontrigger: mean attention weight on BOS from non-trigger queries (the attention sink);
        sink_trigger: the same from trigger queries;
        prev_trigger: mean attention weight on the previous token from trigger queries (the active copy);
        sink_share_nontrigger: BOS share of the attention mass from non-trigger queries (equals sink_nontrigger for
            softmax; for ReLU attention, whose rows need not sum to 1, the ratio of the row sums);
        logit_gap: mean over non-trigger queries of the BOS logit minus the mean logit of the other visible keys;
        value_ratio: norm of the BOS value state over the mean norm of the other value states (the drain);
        residual_ratio: norm of the BOS residual state after the block over the median norm of the others (the peak).
    """
    records = family.trace(model, tokens)
    mask = task.is_trigger(tokens)[:, 1:]  # [B, T-1], query positions 1..T-1
    rows = []
    for layer, tr in enumerate(records):
        w = tr["weights"][:, head, 1:].float()  # [B, T-1, T]
        lg = tr["logits"][:, head, 1:].float()  # [B, T-1, T], NaN above the diagonal
        to_bos = w[..., 0]
        to_prev = w[..., :-1].diagonal(dim1=1, dim2=2)  # query i (position i+1) -> key i
        others = lg[..., 1:].nanmean(-1)
        others = torch.where(torch.isnan(others), lg[..., 0], others)  # position 1 sees only BOS and itself
        vnorm = tr["values"][:, head].float().norm(dim=-1)  # [B, T]
        rnorm = tr["residual"].float().norm(dim=-1)  # [B, T]
        rows.append({
            "layer": layer,
            "sink_nontrigger": to_bos[~mask].mean().item(),
            "sink_trigger": to_bos[mask].mean().item(),
            "prev_trigger": to_prev[mask].mean().item(),
            "sink_share_nontrigger": (to_bos[~mask].sum() / w.sum(-1)[~mask].sum().clamp_min(1e-12)).item(),
            "logit_gap": (lg[..., 0] - others)[~mask].mean().item(),
            "value_ratio": (vnorm[:, 0].mean() / vnorm[:, 1:].mean()).item(),
            "residual_ratio": (rnorm[:, 0].mean() / rnorm[:, 1:].median()).item(),
        })  # fmt: skip
    return rows


@torch.no_grad()
def split_loss(model, task: BigramBackcopy, batch: torch.Tensor) -> dict:
    """Mean cross-entropy (nats) at trigger positions (copy) and at the others (bigram), next to the Bayes-optimal
    bigram loss on those positions (the copy positions' optimum is 0). `batch` `[B, T + 1]` as `task.sample` draws."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    was_training = model.training
    model.eval()
    logits = model(input_ids=inputs).logits.float()
    model.train(was_training)
    ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
    mask = task.is_trigger(inputs)
    # position 0 predicts the first character from BOS: its optimum is the trigger-free marginal, not a bigram row
    body = ~mask
    body[:, 0] = False
    optimal = -task.transition[inputs[:, 1:], targets[:, 1:]].log()  # [B, T-1]
    return {"copy_loss": ce[mask].mean().item(), "bigram_loss": ce[body].mean().item(),
            "bigram_optimum": optimal[body[:, 1:]].mean().item()}  # fmt: skip


@dataclass
class BBConfig:
    """The paper's knobs for one BB training run (everything else is fixed in `make_model` and `train_bb`)."""

    layers: int = 1
    dim: int = 64
    length: int = 64  # tokens after BOS
    batch: int = 64
    steps: int = 600
    lr: float = 3e-3
    optimizer: str = "adamw"  # "adamw" or "sgd" (momentum 0.9, as in the paper's code)
    attention: str = "softmax"  # or "relu": relu(logits) / number of visible keys
    weight_decay: float = 1e-4
    log_every: int = 20
    clamp: str = "none"  # "bos": hold the BOS value-state norm at the others' mean after every step (layer 0);
    # "placebo": the same surgery on a placebo token (`placebo_token` at position 1); "none": plain training


class BBStream:
    """The training batches of one seed: `[batch, length + 1]` BB sequences for step `s`, drawn `CHUNK` steps at a
    time (one `task.sample` call per chunk: a tenth of the per-step sampling cost) from a generator seeded by
    `(seed, chunk)`. Batch `s` does not depend on how many steps a run takes, so a shorter run sees a prefix of a
    longer run's data: with the constant step size and no warmup the first `K` steps of every run of a seed are the
    same run."""

    CHUNK = 50

    def __init__(self, task: BigramBackcopy, batch: int, length: int, seed: int):
        self.task, self.batch, self.length, self.seed = task, batch, length, seed
        self._chunks: dict[int, torch.Tensor] = {}

    def __getitem__(self, step: int) -> torch.Tensor:
        c, i = divmod(step, self.CHUNK)
        if c not in self._chunks:
            self._chunks = {c: self.task.sample(self.CHUNK * self.batch, self.length,
                                                torch.Generator().manual_seed(1_000_003 * self.seed + c))}  # fmt: skip
        return self._chunks[c][i * self.batch : (i + 1) * self.batch]


def make_model(task: BigramBackcopy, cfg: BBConfig, seed: int):
    """The paper's BB transformer as a family model: `cfg.layers` pre-norm LayerNorm blocks with one head and a 4x ReLU
    MLP, learned absolute positions for BOS + `cfg.length` tokens, an untied readout; ids are the task's characters
    and BOS (`task.bos`)."""
    spec = ModelSpec(vocab_size=task.vocab + 1, hidden_size=cfg.dim, layers=cfg.layers, heads=1, mlp_ratio=4,
                     context=cfg.length + 1, attention=cfg.attention, position="learned", norm="layer", mlp="relu",
                     tie_embeddings=False)  # fmt: skip
    return family.make_model(spec, seed=seed)


@torch.no_grad()
def _probe_row(model, task: BigramBackcopy, probe: torch.Tensor, step: int) -> dict:
    """The probe loss and the layer-0 head's statistics of `model` at `step` (eval mode, restored after)."""
    was_training = model.training
    model.eval()
    logits = model(input_ids=probe[:, :-1]).logits.float()
    loss = F.cross_entropy(logits.flatten(0, 1), probe[:, 1:].flatten()).item()
    row = {"step": step, "loss": loss, **extreme_token_stats(model, task, probe[:, :-1])[0]}
    model.train(was_training)
    return row


def _value_inputs(model, tokens: torch.Tensor) -> torch.Tensor:
    """Layer 0's value-projection inputs `[B, T, d]` (the normed embeddings plus learned positions) of ids `[B, T]`."""
    h = model.model.embed_tokens(tokens) + model.position_table(torch.arange(tokens.shape[1]))
    return model.model.layers[0].input_layernorm(h)


@torch.no_grad()
def clamp_value_norm(model, probe_inputs: torch.Tensor, x: torch.Tensor) -> float:
    """Rescale layer 0's value projection along the input `x` `[d]` so that the value state `W_v x` gets the mean
    norm of the value states of `probe_inputs` `[B, T]` at positions 1.. (a rank-one edit of `W_v`:
    `W_v += (c - 1) (W_v x) x^T / |x|^2`; inputs orthogonal to `x` keep their values). Returns the factor `c`.

    The intervention of the `mutual-reinforcement` claim: applied to BOS's input after every optimiser step it holds
    the BOS value norm at the others' mean (value ratio about 1), so the value state cannot drain."""
    w = model.model.layers[0].self_attn.v_proj.weight  # [d_out, d_in]
    target = (_value_inputs(model, probe_inputs)[:, 1:] @ w.T).norm(dim=-1).mean()
    v = w @ x
    c = (target / v.norm().clamp_min(1e-12)).item()
    w += (c - 1.0) * torch.outer(v, x) / x.dot(x)
    return c


def clamp_input(model, task: BigramBackcopy, cfg: "BBConfig", placebo_token: int) -> torch.Tensor:
    """The layer-0 value input whose value norm `cfg.clamp` holds: BOS at position 0, or the placebo token at
    position 1 (a real character whose value the model needs: its norm has no reason to drain)."""
    ids = torch.tensor([[task.bos] if cfg.clamp == "bos" else [task.bos, placebo_token]])
    with torch.no_grad():
        return _value_inputs(model, ids)[0, -1]


def train_bb(task: BigramBackcopy, cfg: BBConfig, seed: int, probe: torch.Tensor | None = None,
             placebo_token: int | None = None):
    """Train `make_model(task, cfg, seed)` with `shared.lm.trainer.train` on fresh BB batches (`BBStream`: drawn by
    `task.sample` in chunks of 50 steps from generators seeded by `seed`): AdamW (betas 0.9, 0.999) or SGD with momentum 0.9, constant step size,
    no warmup, no clipping, one thread. At step 0, every `cfg.log_every` steps and at the end, record the loss and the
    layer-0 head's `extreme_token_stats` on `probe` `[B, T + 1]` (a fixed batch): the dynamics the paper analyses.
    With `cfg.clamp` = "bos" or "placebo", the same callback first applies `clamp_value_norm` after every optimiser
    step (and once before the first), to BOS's value input or to `placebo_token`'s at position 1; the target norm is
    the mean of the other value states on `probe` (needed then).

    Returns:
        (FamilyLM, list[dict]): the trained model (eval mode) and the logged rows (step, loss, stats of layer 0).
    """
    if cfg.optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be adamw or sgd, got {cfg.optimizer!r}")
    model = make_model(task, cfg, seed)
    tc = TrainConfig(steps=cfg.steps, batch_size=cfg.batch, seq_len=cfg.length, lr=cfg.lr, optimizer=cfg.optimizer,
                     momentum=0.9, schedule="constant", warmup=0, grad_clip=float("inf"), betas=(0.9, 0.999),
                     weight_decay=cfg.weight_decay, seed=seed, threads=1, log_every=max(cfg.steps, 1))  # fmt: skip
    if cfg.clamp not in ("none", "bos", "placebo"):
        raise ValueError(f"clamp must be none, bos or placebo, got {cfg.clamp!r}")
    if cfg.clamp != "none" and (probe is None or (cfg.clamp == "placebo" and placebo_token is None)):
        raise ValueError("a clamped run needs the probe batch (and a placebo_token for the placebo)")
    history = []

    def clamp() -> None:
        with torch.no_grad():
            clamp_value_norm(model, probe[:, :-1], clamp_input(model, task, cfg, placebo_token))

    def log_probe(step: int, row: dict) -> None:
        if cfg.clamp != "none":
            clamp()
        if step % cfg.log_every == 0 or step == cfg.steps:
            history.append(_probe_row(model, task, probe, step))

    if probe is not None:
        if cfg.clamp != "none":
            clamp()
        history.append(_probe_row(model, task, probe, 0))
    stream = BBStream(task, cfg.batch, cfg.length, seed)
    train(model, None, tc, batches=lambda step, g: stream[step], callback=log_probe if probe is not None else None,
          log=None)  # fmt: skip
    return model.eval(), history


def ratio_of_means(pairs) -> float:
    """`mean(a) / mean(b)` over units given as `(a, b)` pairs (a seed's clamped and plain mean BOS logit gap): the
    share of the sink's growth left, as a statistic a bootstrap over whole seeds resamples. Defined for a seed whose
    clamped gap is zero or negative (the clamp removed all growth), which a per-seed log ratio is not. NaN when the
    denominator's mean is not positive (the resample is dropped)."""
    a = sum(p[0] for p in pairs) / len(pairs)
    b = sum(p[1] for p in pairs) / len(pairs)
    return a / b if b > 0 else float("nan")
