"""The shared trainer for small causal LMs: random windows from a token stream, AdamW, warmup + cosine, clipping.

Papers about training dynamics call `train` with their own model and data and a `callback` that records whatever they
study (gradient norms, per-token losses, checkpoints); the tiny-LM DVC stage calls it with `shared.lm.configs`.
The hooks, for papers whose data or objective is not "next token of a text stream":
- `batches(step, generator)`: a task sampler (`shared.lm.tasks`) returning `[B, T + 1]` ids or a dict with
  `input_ids [B, T]` and `targets [B, T]` (-100 = no loss there); replaces the windows of `train_tokens`;
- `loss_fn(model, batch)`: another objective (mask denoising, a loss on some positions only);
- `TrainConfig.optimizer` (`adamw` or `sgd` with `momentum`), `schedule` (`cosine`, `constant` or `linear`: constant,
  then a linear decay from `decay_start`), `grad_clip=None` (no clipping) and `lr_mult` (a learning-rate factor per
  parameter-name prefix: two layers trained at different rates).

Batches need not be tokens: a dict without `input_ids` (regression prompts, say) counts its first tensor's rows as the
units of `tokens` and `tokens_per_s`, and a `loss_fn` gives the objective.
"""

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: training stops at that step instead of spending the rest of the budget on a
    model whose numbers mean nothing. `step` and `history` (the rows logged so far) say where and how it went."""

    def __init__(self, step: int, loss: float, history: list[dict]):
        self.step, self.loss, self.history = step, loss, history
        last = f"; last logged loss {history[-1]['loss']:.3f} at step {history[-1]['step']}" if history else ""
        super().__init__(
            f"training diverged at step {step}: loss {loss}{last}. Lower TrainConfig.lr, raise warmup, or check the "
            f"model's numerics (a variant without normalisation can overflow)"
        )


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # cosine and linear decay to lr * min_lr_ratio
    warmup: int = 50
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0  # None: no clipping (the gradient norm is still logged)
    seed: int = 0
    eval_every: int = 100
    eval_batches: int = 8
    log_every: int = 50
    threads: int | None = None  # torch.set_num_threads; None leaves torch's default (all cores)
    device: str = "cpu"  # "cpu", "cuda" or "auto" (cuda when available); the model is returned on the CPU either way
    optimizer: str = "adamw"  # "adamw" or "sgd" (with `momentum`)
    momentum: float = 0.9  # sgd only
    schedule: str = "cosine"  # "cosine" (warmup, then cosine to lr * min_lr_ratio), "constant" (warmup, then lr) or
    # "linear" (warmup, lr until decay_start * steps, then linear to lr * min_lr_ratio at the last step)
    decay_start: float = 0.0  # linear only: the fraction of the steps after which the decay starts
    lr_mult: dict[str, float] = field(default_factory=dict)  # parameter-name prefix -> factor on the learning rate


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per logged step: step, loss, lr, tokens_per_s
    evals: list[dict] = field(default_factory=list)  # step, val_loss
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def final_val_loss(self) -> float | None:
        return self.evals[-1]["val_loss"] if self.evals else None

    def to_dict(self) -> dict:
        return {"history": self.history, "evals": self.evals, "tokens": self.tokens, "seconds": self.seconds,
                "tokens_per_s": self.tokens_per_s, "final_val_loss": self.final_val_loss}  # fmt: skip


SCHEDULES = ("cosine", "constant", "linear")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to `cfg.lr`, then cosine decay to `cfg.lr * cfg.min_lr_ratio` at `cfg.steps`, or constant, or
    (`linear`) constant until step `int(cfg.decay_start * cfg.steps)` and then a linear decay that reaches
    `cfg.lr * cfg.min_lr_ratio` one step after the last (step `s` gets the factor `(steps - s) / (steps - start)`)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "linear":
        start = max(int(cfg.decay_start * cfg.steps), cfg.warmup)
        if step < start:
            return cfg.lr
        left = (cfg.steps - step) / max(1, cfg.steps - start)
        return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * left)
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def sample_batch(tokens: torch.Tensor, batch_size: int, seq_len: int, gen: torch.Generator) -> torch.Tensor:
    """`[B, seq_len + 1]` windows at random offsets of a 1-D token stream `[N]` (inputs and shifted targets)."""
    starts = torch.randint(0, tokens.numel() - seq_len - 1, (batch_size,), generator=gen)
    return torch.stack([tokens[s : s + seq_len + 1] for s in starts.tolist()])


def loss_on(model, batch: torch.Tensor | dict) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of `model` on `batch` `[B, T + 1]`, or on a dict with `input_ids [B, T]`
    and `targets [B, T]` (the target of each input position; -100 = no loss there)."""
    if isinstance(batch, dict):
        logits = model(input_ids=batch["input_ids"]).logits
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), batch["targets"].flatten(),
                                                 ignore_index=-100)  # fmt: skip
    logits = model(input_ids=batch[:, :-1]).logits  # [B, T, V]
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())


def to_device(batch: torch.Tensor | dict, device) -> torch.Tensor | dict:
    if isinstance(batch, dict):
        return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return batch.to(device)


def batch_units(batch: torch.Tensor | dict) -> int:
    """What a batch counts towards `tokens`: its input ids (`[B, T + 1]` ids count `B * T`), or, for a dict without
    `input_ids`, the rows of its first tensor (prompts, examples)."""
    if not isinstance(batch, dict):
        return batch[:, :-1].numel()
    if "input_ids" in batch:
        return batch["input_ids"].numel()
    first = next((v for v in batch.values() if torch.is_tensor(v)), None)
    if first is None:
        raise ValueError("a batch dict needs input_ids or at least one tensor")
    return first.shape[0]


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or SGD over the trainable parameters, in groups: weight decay only on >= 2-D tensors (not on norms and
    biases, the usual GPT recipe), and one group per `cfg.lr_mult` prefix with its factor (`group["lr_mult"]`)."""
    if cfg.optimizer not in ("adamw", "sgd"):
        raise ValueError(f"TrainConfig.optimizer={cfg.optimizer!r}; choose 'adamw' or 'sgd'")
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"TrainConfig.schedule={cfg.schedule!r}; choose one of {SCHEDULES}")
    if not 0.0 <= cfg.decay_start <= 1.0:
        raise ValueError(f"TrainConfig.decay_start={cfg.decay_start}; a fraction of the steps, in [0, 1]")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    unmatched = [prefix for prefix in cfg.lr_mult if not any(n.startswith(prefix) for n, _ in named)]
    if unmatched:
        raise ValueError(f"lr_mult prefixes {unmatched} match no parameter; names look like {named[0][0]!r}")
    groups: dict[tuple, list] = {}
    for name, p in named:
        mult = next((f for prefix, f in cfg.lr_mult.items() if name.startswith(prefix)), 1.0)
        decay = cfg.weight_decay if p.dim() >= 2 else 0.0
        groups.setdefault((decay, mult), []).append(p)
    params = [{"params": ps, "weight_decay": d, "lr_mult": m} for (d, m), ps in groups.items()]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas)


@torch.no_grad()
def evaluate(model, tokens: torch.Tensor, cfg: TrainConfig) -> float:
    """Mean loss over `cfg.eval_batches` fixed windows of `tokens` (same windows at every call)."""
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    device = next(model.parameters()).device
    losses = [loss_on(model, sample_batch(tokens, cfg.batch_size, cfg.seq_len, gen).to(device)).item()
              for _ in range(cfg.eval_batches)]  # fmt: skip
    model.train(was_training)
    return sum(losses) / len(losses)


def resolve_device(name: str) -> torch.device:
    """`"auto"` is cuda when a GPU is visible, else cpu; asking for cuda without one is an error, not a silent fallback."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"TrainConfig.device={name!r} but torch {torch.__version__} sees no GPU; use 'cpu' or 'auto'"
        )
    return torch.device(name)


def train(model, train_tokens: torch.Tensor | None, cfg: TrainConfig, val_tokens: torch.Tensor | None = None,
          callback: Callable[[int, dict], None] | None = None, log: Callable[[str], None] | None = print,
          batches: Callable[[int, torch.Generator], torch.Tensor | dict] | None = None,
          loss_fn: Callable[[object, torch.Tensor | dict], torch.Tensor] | None = None) -> TrainResult:  # fmt: skip
    """Train `model` (any causal LM returning `.logits`) on random windows of `train_tokens` `[N]` (int64), or on the
    batches of a task sampler.

    Args:
        cfg (TrainConfig): steps, batch, schedule, optimizer, seed. Deterministic for a given seed and thread count.
        val_tokens (torch.Tensor, Optional): held-out stream; evaluated every `cfg.eval_every` steps and at the end.
        callback: called as `callback(step, row)` after every optimiser step, with `row = {"loss", "lr", ...}`.
        batches: `batches(step, generator)` -> `[B, T + 1]` ids or `{"input_ids", "targets"}`; the generator is the
            trainer's, seeded by `cfg.seed`. Given, `train_tokens` may be None.
        loss_fn: `loss_fn(model, batch)` -> scalar loss; default `loss_on` (next-token cross-entropy).

    Returns:
        TrainResult: logged losses, evals, tokens seen and wall time (throughput excludes evaluation).

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the step and the history so far are on the exception).
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    if batches is None and train_tokens is None:
        raise ValueError("train() needs train_tokens or a batches= sampler")
    opt = make_optimizer(model, cfg)
    loss_fn = loss_fn or loss_on
    result = TrainResult()
    model.train()
    t_train = 0.0
    window_tokens, window_t0 = 0, time.perf_counter()
    for step in range(cfg.steps):
        t0 = time.perf_counter()
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr * group["lr_mult"]
        if batches is None:
            batch = sample_batch(train_tokens, cfg.batch_size, cfg.seq_len, gen).to(device)
            n = cfg.batch_size * cfg.seq_len
        else:
            batch = to_device(batches(step, gen), device)
            n = batch_units(batch)
        loss = loss_fn(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is None:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            grad_norm = torch.nn.utils.get_total_norm(grads).item()
        else:
            grad_norm = torch.nn.utils.clip_grad_norm_(
                model.parameters(), cfg.grad_clip
            ).item()  # .item() syncs the GPU
        opt.step()
        t_train += time.perf_counter() - t0
        result.tokens += n
        window_tokens += n
        row = {"step": step + 1, "loss": loss.item(), "lr": lr, "grad_norm": grad_norm}
        if not math.isfinite(row["loss"]):
            model.to("cpu")
            raise TrainingDiverged(step + 1, row["loss"], result.history)
        if callback:
            callback(step + 1, row)
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            now = time.perf_counter()
            row["tokens_per_s"] = window_tokens / (now - window_t0)
            window_tokens, window_t0 = 0, now
            result.history.append(row)
            if log:
                log(f"step {step + 1:5d}/{cfg.steps}  loss {row['loss']:.3f}  lr {lr:.2e}  "
                    f"{row['tokens_per_s']:,.0f} tok/s")  # fmt: skip
        if val_tokens is not None and ((step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps):
            t_eval = time.perf_counter()
            val = evaluate(model, val_tokens, cfg)
            result.evals.append({"step": step + 1, "val_loss": val})
            if log:
                log(f"step {step + 1:5d}  val_loss {val:.3f}")
            window_t0 += time.perf_counter() - t_eval  # evaluation time does not count against throughput
    result.seconds = t_train
    model.to("cpu")
    model.eval()
    return result


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
