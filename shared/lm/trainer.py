"""The shared trainer for small causal LMs: random windows from a token stream, AdamW, warmup + cosine, clipping.

Papers about training dynamics call `train` with their own model and data and a `callback` that records whatever they
study (gradient norms, per-token losses, checkpoints); the tiny-LM DVC stage calls it with `shared.lm.configs`.
"""

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup: int = 50
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 100
    eval_batches: int = 8
    log_every: int = 50
    threads: int | None = None  # torch.set_num_threads; None leaves torch's default (all cores)
    device: str = "cpu"  # "cpu", "cuda" or "auto" (cuda when available); the model is returned on the CPU either way


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


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to `cfg.lr`, then cosine decay to `cfg.lr * cfg.min_lr_ratio` at `cfg.steps`."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def sample_batch(tokens: torch.Tensor, batch_size: int, seq_len: int, gen: torch.Generator) -> torch.Tensor:
    """`[B, seq_len + 1]` windows at random offsets of a 1-D token stream `[N]` (inputs and shifted targets)."""
    starts = torch.randint(0, tokens.numel() - seq_len - 1, (batch_size,), generator=gen)
    return torch.stack([tokens[s : s + seq_len + 1] for s in starts.tolist()])


def loss_on(model, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of `model` on `batch` `[B, T + 1]`."""
    logits = model(input_ids=batch[:, :-1]).logits  # [B, T, V]
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())


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


def train(model, train_tokens: torch.Tensor, cfg: TrainConfig, val_tokens: torch.Tensor | None = None,
          callback: Callable[[int, dict], None] | None = None, log: Callable[[str], None] | None = print) -> TrainResult:  # fmt: skip
    """Train `model` (any causal LM returning `.logits`) on random windows of `train_tokens` `[N]` (int64).

    Args:
        cfg (TrainConfig): steps, batch, schedule, seed. The run is deterministic for a given seed and thread count.
        val_tokens (torch.Tensor, Optional): held-out stream; evaluated every `cfg.eval_every` steps and at the end.
        callback: called as `callback(step, row)` after every optimiser step, with `row = {"loss", "lr", ...}`.

    Returns:
        TrainResult: logged losses, evals, tokens seen and wall time (throughput excludes evaluation).
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    # no weight decay on norms and biases (1-D tensors), the usual GPT recipe
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)  # fmt: skip
    result = TrainResult()
    model.train()
    t_train = 0.0
    window_tokens, window_t0 = 0, time.perf_counter()
    for step in range(cfg.steps):
        t0 = time.perf_counter()
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        batch = sample_batch(train_tokens, cfg.batch_size, cfg.seq_len, gen).to(device)
        loss = loss_on(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip).item()  # .item() syncs the GPU
        opt.step()
        t_train += time.perf_counter() - t0
        n = cfg.batch_size * cfg.seq_len
        result.tokens += n
        window_tokens += n
        row = {"step": step + 1, "loss": loss.item(), "lr": lr, "grad_norm": grad_norm}
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
