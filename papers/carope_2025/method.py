"""
Context-aware rotary phases, after Veisi, Fartoot & Amirzadeh, "Context-aware Rotary Position Embedding"
(CARoPE, arXiv:2507.23083v1), and the length-generalisation evaluation of its Table 1.

The models (RoPE, CARoPE, learned absolute, ALiBi, NoPE) come from `shared.lm.family` and train with
`shared.lm.trainer`; this module holds only what the paper adds: the reference formula of the CARoPE phase, in plain
PyTorch (fp64-safe), against which the engine's `carope` position is checked, and the paper's evaluation (perplexity of
the same held-out tokens in windows of 1x, 2x and 4x the training length).

The paper's formula (Sec. 2): for head h, rotary pair i and position m,
    phi_i^(h)(m) = sum_{t <= m} f(x_t)_h ** i,   f(x_t) = 1 / (softplus(x_t W) + 1) in (0, 1),   W in R^{d x H},
which is RoPE's phi_i(m) = m * theta_1 ** i with the fixed base frequency theta_1 = 10000^(-2/d) replaced by a
per-token, per-head one. The query and key of head h at position m are rotated by phi^(h)(m) as in RoPE.

Deviations from the paper, on purpose:
- the pair index i runs over 1..D/2, so the fastest pair turns by f per token (the paper's theta_i = theta_1^i with
  theta_1 the "base frequency" of the first pair; it does not say whether i starts at 0 or 1). The shared engine
  makes the same choice; `first_power=0` gives the other reading.
- a small held-out vocabulary: the project BPE's `VOCAB_KEEP` most frequent tokens, every other token one shared id
  (the output layer dominates a tiny model's compute); perplexities are over that vocabulary.
"""

import math

import torch
import torch.nn.functional as F


def carope_frequencies(x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """The paper's bounded per-token, per-head base frequency f(x_t) = 1 / (softplus(x_t W) + 1).

    Args:
        x (torch.Tensor): token representations `[B, T, d]`.
        W (torch.Tensor): projection `[d, H]`, one scalar per head.

    Returns:
        torch.Tensor: `[B, T, H]`, every value in (0, 1).
    """
    return 1.0 / (F.softplus(x @ W) + 1.0)


def carope_phases(freqs: torch.Tensor, head_dim: int, first_power: int = 1) -> torch.Tensor:
    """Accumulated phases phi_i^(h)(m) = sum_{t <= m} f_{t,h} ** i for the D/2 pairs i = first_power, first_power + 1, ...

    Args:
        freqs (torch.Tensor): `[B, T, H]` per-token, per-head base frequencies in (0, 1).
        head_dim (int): D, even.
        first_power (int, Optional): the exponent of the first pair: 1 (the paper's theta_1^i read with i = 1..D/2, as
            the shared engine does) or 0. Default: `1`.

    Returns:
        torch.Tensor: `[B, H, T, D/2]` phases.
    """
    i = torch.arange(first_power, first_power + head_dim // 2, dtype=freqs.dtype, device=freqs.device)
    powers = freqs.transpose(1, 2).unsqueeze(-1) ** i  # [B, H, T, D/2]
    return powers.cumsum(dim=2)


def rope_phases(T: int, head_dim: int, base: float = 10000.0, dtype=torch.float64) -> torch.Tensor:
    """RoPE's phases m * theta_i, theta_i = base^(-2i/D), for positions m = 0..T-1: `[T, D/2]`."""
    i = torch.arange(head_dim // 2, dtype=dtype)
    return torch.arange(T, dtype=dtype)[:, None] * base ** (-2 * i / head_dim)


def rotate(x: torch.Tensor, phases: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x_j, x_{j + D/2}) of `x` `[..., T, D]` by `phases` `[..., T, D/2]` (the half-split layout of
    transformers' Llama, which the shared engine uses)."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = phases.cos(), phases.sin()
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def carope_scores(
    q: torch.Tensor, k: torch.Tensor, x: torch.Tensor, W: torch.Tensor, first_power: int = 1
) -> torch.Tensor:
    """Pre-softmax attention logits q_m . k_n / sqrt(D) after CARoPE rotation: the reference the engine is checked
    against.

    Args:
        q, k (torch.Tensor): `[B, H, T, D]` queries and keys before rotation.
        x (torch.Tensor): `[B, T, d]` the representations the frequencies are computed from.
        W (torch.Tensor): `[d, H]`.

    Returns:
        torch.Tensor: `[B, H, T, T]` (no causal mask).
    """
    phases = carope_phases(carope_frequencies(x, W), q.shape[-1], first_power)
    qr, kr = rotate(q, phases), rotate(k, phases)
    return qr @ kr.transpose(-1, -2) / math.sqrt(q.shape[-1])


def eval_windows(stream: torch.Tensor, n: int, length: int) -> torch.Tensor:
    """`n` consecutive, non-overlapping windows of `length + 1` tokens from the start of `stream` `[M]`:
    `[n, length + 1]` (inputs and next-token targets)."""
    if n * length + 1 > stream.numel():
        raise ValueError(
            f"{n} windows of {length} tokens need {n * length + 1} tokens, the stream has {stream.numel()}"
        )
    return torch.stack([stream[i * length : (i + 1) * length + 1] for i in range(n)])


@torch.no_grad()
def token_losses(model, windows: torch.Tensor, length: int, batch_size: int = 16) -> torch.Tensor:
    """Next-token losses of every token of `windows` `[N, Lmax + 1]`, each window cut into chunks of `length` tokens
    that are scored independently (the model sees only its own chunk): `[N, Lmax]`. The scored tokens are the same
    for every `length` that divides Lmax; only how much context, at which positions, changes.
    """
    was_training = model.training
    model.eval()
    N, Lmax = windows.shape[0], windows.shape[1] - 1
    if Lmax % length:
        raise ValueError(f"length {length} does not divide the window length {Lmax}")
    chunks = Lmax // length
    inputs = windows[:, :-1].reshape(N * chunks, length)
    targets = windows[:, 1:].reshape(N * chunks, length)
    out = []
    for s in range(0, inputs.shape[0], batch_size):
        logits = model(input_ids=inputs[s : s + batch_size]).logits.float()
        out.append(F.cross_entropy(logits.transpose(1, 2), targets[s : s + batch_size], reduction="none"))
    model.train(was_training)
    return torch.cat(out).reshape(N, Lmax)


def log_ratio_margin(base_long, method_long, base_train, method_train) -> list[float]:
    """Per-unit control margin of a length claim: log(base/method) at the longer length minus the same at the training
    length (positive: the method's advantage grows beyond the training length). Inputs are per-unit perplexities."""
    return [math.log(bl / ml) - math.log(bt / mt)
            for bl, ml, bt, mt in zip(base_long, method_long, base_train, method_train)]  # fmt: skip


def settings_key(**settings) -> str:
    """A short stable hash of what a trained checkpoint depends on: the settings given (sizes, data, schedule, seed,
    position) and the family's code (`family.code_version()`), so an engine fix retrains instead of reusing weights."""
    import hashlib
    import json

    from shared.lm.family import code_version

    blob = json.dumps({**settings, "code": code_version()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def train_or_load(spec, cfg, stream: torch.Tensor, path):
    """The model of `spec` trained by the shared trainer with `cfg` on `stream`, stored at `path` (fp16 weights and the
    training log) and evaluated from there: a stored checkpoint is loaded instead of retrained, and a fresh one is
    round-tripped through fp16 first, so that the recorded run and every rerun evaluate the same weights.

    Returns:
        tuple: the model (fp32, eval mode) and its log `{"tokens_per_s", "seconds", "final_loss", "trained_here"}`.
    """
    from pathlib import Path

    from shared.lm.family import make_model
    from shared.lm.trainer import train

    path = Path(path)
    model = make_model(spec, seed=cfg.seed)
    trained_here = not path.exists()
    if trained_here:
        result = train(model, stream, cfg, log=None)
        log = {"tokens_per_s": result.tokens_per_s, "seconds": result.seconds,
               "final_loss": result.history[-1]["loss"]}  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        torch.save({"state": state, "log": log}, path)
    blob = torch.load(path, weights_only=False)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    model.eval()
    return model, {**blob["log"], "trained_here": trained_here}


def timed_steps(spec, cfg) -> float:
    """Training throughput (tokens/s, the shared trainer's clock, evaluation excluded) of a fresh model of `spec`
    trained for `cfg.steps` steps on random token windows: the repeat unit of the throughput claim."""
    from shared.lm.family import make_model
    from shared.lm.trainer import train

    g = torch.Generator().manual_seed(cfg.seed)
    stream = torch.randint(0, spec.vocab_size, (cfg.batch_size * (cfg.seq_len + 1) * 4,), generator=g)
    return train(make_model(spec, seed=cfg.seed), stream, cfg, log=None).tokens_per_s
