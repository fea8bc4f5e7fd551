"""
When attention sinks emerge, after Gu, Pang, Du, Liu, Zhang, Du, Wang & Lin, "When Attention Sink Emerges in Language
Models: An Empirical View" (arXiv:2410.10781, ICLR 2025).

What this module adds to `shared.lm` and `shared.kvcache.attention`:
- the paper's sink metric `Sink_k^eps` for every position k (`importance`, `sink_metric`): the mean attention a key
  receives from the queries that can see it, thresholded per head, averaged over heads, layers and sequences;
- the paper's sizes for the shared model family (`make_model`): its attention operations (`shared.lm.family`:
  softmax, sigmoid without row normalisation, Sec. 7, and softmax with a learnable key bias and a zero value bias,
  an extra "sink slot" every query can see, Sec. 7) are the family's `attention` variants;
- batched attention extraction for pretrained models that keeps the model's own attention operation (the shared
  `attention_maps` switches to eager softmax, which would measure a different model);
- a `<bos>`-prefix wrapper for the shared trainer and a checkpoint cache keyed by the settings and the code. The
  bigram-backcopy data is `shared.lm.tasks.BigramBackcopy`.

Deviations from the paper, on purpose:
- Training claims are tested on an analogue task: tiny Llamas (2 layers, d = 64, ~150k parameters) learn a
  bigram-backcopy stream (`shared.lm.tasks.BigramBackcopy.stream`) built from the bigram statistics of the project corpus (its most
  frequent project-BPE tokens), with `<bos>` prepended to every window (`WithPrefix`). Trained on the raw corpus at
  CPU scale (~1M tokens) they develop no sink at all; the paper's 60M-1B LLaMAs see 5B Pile tokens.
- Learning rate 1e-2 with warmup and cosine decay (the shared trainer) instead of the paper's constant 4e-4: tiny
  models need a larger step to fit in a few hundred steps.
- The measurement follows the official evaluation (`pretrain/eval_sink_pretrain.py`): T = 64, eps = 0.3, the
  importance of key k averaged over the queries i >= k; for sigmoid attention the weights are row-normalised for the
  metric only, as there. Probes are held-out chains (trained models) and fortunes or random ids (pretrained models),
  not 100 Pile sequences.
- The key-bias slot is not rotated by RoPE and every query sees it (the official code prepends it after the rotation).
"""

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from shared.lm import family
from shared.lm.family import ModelSpec

VARIANTS = ("softmax", "sigmoid", "key_bias")  # the `shared.lm.family` attention variants this paper compares


def importance(attn: torch.Tensor) -> torch.Tensor:
    """The paper's alpha_h^l(k): mean attention key k receives from the queries that can see it (i >= k).

    Args:
        attn (torch.Tensor): causal attention probabilities `[..., T, T]` (rows are queries).

    Returns:
        torch.Tensor: `[..., T]`, entry k = sum_{i >= k} attn[i, k] / (T - k).
    """
    T = attn.shape[-1]
    seen_by = torch.arange(T, 0, -1, dtype=attn.dtype, device=attn.device)  # [T] queries i >= k
    return attn.sum(-2) / seen_by


def sink_metric(attn: torch.Tensor, eps: float = 0.3) -> torch.Tensor:
    """`Sink_k^eps` in percent for every position k: the share of heads (over layers, heads and sequences) whose
    importance for key k exceeds `eps`.

    Args:
        attn (torch.Tensor): `[N, L, H, T, T]` attention probabilities of N sequences.

    Returns:
        torch.Tensor: `[T]` percentages; entry 0 is the first-token sink metric Sink_1^eps of the paper.
    """
    return (importance(attn) > eps).float().mean(dim=(0, 1, 2)) * 100


def sink_per_sequence(attn: torch.Tensor, eps: float = 0.3, position: int = 0) -> torch.Tensor:
    """`Sink_k^eps` (percent) of each sequence separately, `[N]`: the samples behind an interval."""
    return (importance(attn)[..., position] > eps).float().mean(dim=(1, 2)) * 100


def make_model(variant: str, vocab_size: int, hidden_size: int = 64, layers: int = 2, heads: int = 4,
               context: int = 128, seed: int = 0):  # fmt: skip
    """A freshly initialised tiny family model (RMSNorm, RoPE, SwiGLU 4x wide, tied embeddings) running `variant`."""
    spec = ModelSpec(vocab_size=vocab_size, hidden_size=hidden_size, layers=layers, heads=heads, context=context,
                     attention=variant)  # fmt: skip
    return family.make_model(spec, seed=seed)


@torch.no_grad()
def attention_probs(model, ids: torch.Tensor) -> torch.Tensor:
    """All layers' attention probabilities of a batch under the model's own attention operation.

    Args:
        ids (torch.Tensor): `[N, T]` token ids.

    Returns:
        torch.Tensor: `[N, L, H, T, S]` float32; S = T, or 1 + T for `key_bias` (slot first).
    """
    was_training = model.training
    model.eval()
    # the decoder alone: attention weights do not need the output layer, the costliest part of a small-vocab-heavy LM
    out = getattr(model, "model", model)(input_ids=ids, output_attentions=True)
    model.train(was_training)
    return torch.stack([a.float() for a in out.attentions], dim=1)


def first_token_attention(attn: torch.Tensor) -> torch.Tensor:
    """Attention on the first real token only: drops the key-bias slot if there is one. `[N, L, H, T, T]`."""
    return attn[..., 1:] if attn.shape[-1] == attn.shape[-2] + 1 else attn


def slot_importance(attn: torch.Tensor) -> torch.Tensor:
    """Mean attention on the key-bias slot over all queries, `[N, L, H]`, from `[N, L, H, T, 1 + T]` probabilities."""
    return attn[..., 0].mean(-1)


def probe_windows(tokens: torch.Tensor, n: int, length: int, seed: int) -> torch.Tensor:
    """`[n, length]` windows at fixed random offsets of a token stream `[M]`: the probe set of the sink metric."""
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, tokens.numel() - length, (n,), generator=g)
    return torch.stack([tokens[s : s + length] for s in starts.tolist()])


def code_digest() -> str:
    """A hash of the code a trained checkpoint depends on: this module, the shared trainer, model family, tasks and
    configs, the torch and transformers versions and the CPU code path torch dispatches to
    (training drifts between them). Part of every cache key, so that a checkpoint trained by older code is never
    reused."""
    import transformers

    from shared.lm import configs, tasks, trainer

    versions = f"torch {torch.__version__} transformers {transformers.__version__}"
    h = hashlib.sha256(f"{versions} cpu {torch.backends.cpu.get_cpu_capability()}".encode())
    for source in (__file__, trainer.__file__, configs.__file__, family.__file__, tasks.__file__):
        h.update(Path(source).read_bytes())
    return h.hexdigest()


def cache_key(**settings) -> str:
    """A short stable hash of the settings a trained checkpoint depends on, and of the code that trains it."""
    blob = json.dumps({"settings": settings, "code": code_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_checkpoint(path: Path, model, log: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": model.state_dict(), "log": log}, path)


def load_checkpoint(path: Path, model) -> dict:
    blob = torch.load(path, weights_only=False)
    model.load_state_dict(blob["state"])
    return blob["log"]


class WithPrefix(nn.Module):
    """Wraps a causal LM so that every input starts with a fixed token (e.g. `<bos>`): `forward(input_ids [B, T])`
    runs the model on `[B, 1 + T]` and returns the logits of the T real positions, so the shared trainer's loss
    (next token of each real position) is unchanged. The prefix is never a target."""

    def __init__(self, model, prefix_id: int):
        super().__init__()
        self.model = model
        self.prefix_id = prefix_id

    def forward(self, input_ids: torch.Tensor, **kwargs):
        prefix = torch.full_like(input_ids[:, :1], self.prefix_id)
        out = self.model(input_ids=torch.cat([prefix, input_ids], dim=1), **kwargs)
        out.logits = out.logits[:, 1:]
        return out


def measure(model, probe: torch.Tensor, eps: float = 0.3) -> dict:
    """Sink statistics of `model` on `probe` `[N, T]`: Sink_1 and max_{2<=k<=10} Sink_k (percent), and for the
    key-bias variant the share of heads (percent) whose mean attention on the slot exceeds `eps`."""
    attn = attention_probs(model, probe)
    sink = sink_metric(first_token_attention(attn), eps)
    row = {"sink1": float(sink[0]), "sink_next": float(sink[1:10].max())}
    if attn.shape[-1] == attn.shape[-2] + 1:
        row["slot"] = float((slot_importance(attn) > eps).float().mean() * 100)
    return row


def train_variant(variant: str, stream: torch.Tensor, val: torch.Tensor, probe: torch.Tensor, cfg, size: dict,
                  vocab_size: int, bos_id: int, measure_every: int, cache_dir: Path | None = None):  # fmt: skip
    """Train one `<bos>`-prefixed tiny LM with the shared trainer, measuring the sink every `measure_every` steps.

    Args:
        variant (str): a key of `VARIANTS`.
        stream, val (torch.Tensor): training and validation token streams `[M]`.
        probe (torch.Tensor): `[N, T]` sequences the sink is measured on (they start with `bos_id`).
        cfg (TrainConfig): the shared trainer's settings (seed included).
        size (dict): `hidden_size`, `layers`, `heads`, `context` of `make_model`.
        cache_dir (Path, Optional): where a finished run is stored and looked up, keyed by every setting above (the
            thread count of `cfg` included) and by the code (`code_digest`).

    Returns:
        tuple: the trained model (unwrapped) and its log `{"curve": [{"step", "loss", "sink1", ...}], "val_loss"}`.
    """
    from dataclasses import asdict

    from shared.lm.trainer import train

    model = make_model(variant, vocab_size, seed=cfg.seed, **size)
    key = cache_key(variant=variant, cfg=asdict(cfg), size=size, vocab=vocab_size, bos=bos_id, every=measure_every,
                    data=[stream.numel(), int(stream[:4096].sum()), int(val[:4096].sum()), int(probe.sum())])  # fmt: skip
    path = cache_dir / f"{variant}-{key}.pt" if cache_dir else None
    if path is not None and path.exists():
        return model, load_checkpoint(path, model)
    curve = [{"step": 0, "loss": float("nan"), **measure(model, probe)}]

    def record(step, row):
        if step % measure_every == 0 or step == cfg.steps:
            curve.append({"step": step, "loss": row["loss"], **measure(model, probe)})

    result = train(WithPrefix(model, bos_id), stream, cfg, val_tokens=val, callback=record, log=None)
    log = {"curve": curve, "val_loss": result.final_val_loss}
    if path is not None:
        save_checkpoint(path, model, log)
    return model, log


def ratio_of_means(pairs) -> float:
    """`mean(a) / mean(b)` over units given as `(a, b)` pairs (a seed's key-bias and softmax Sink_1, say): the
    statistic a bootstrap over whole units resamples. NaN when the denominator's mean is 0 (the resample is dropped)."""
    a = sum(p[0] for p in pairs) / len(pairs)
    b = sum(p[1] for p in pairs) / len(pairs)
    return a / b if b else float("nan")


def first_token_margin(units) -> float:
    """min over models of (mean Sink_1 - max_{k >= 2} mean Sink_k), from units that each hold one probe sequence per
    model: `units[i][m]` is the per-position Sink_k (percent, k = 1..K) of sequence i under model m."""
    n, models = len(units), len(units[0])
    margins = []
    for m in range(models):
        means = [sum(u[m][k] for u in units) / n for k in range(len(units[0][m]))]
        margins.append(means[0] - max(means[1:]))
    return min(margins)


def _train_job(job: dict) -> dict:
    """One `train_variant` call in a worker process, configured as the project kernel configures itself (warnings to
    its log file, deterministic algorithms); returns the log only (the notebook needs no weights)."""
    from shared import kernel_init

    kernel_init.configure()
    return train_variant(**job)[1]


def train_all(jobs: list[dict], workers: int = 1) -> list[dict]:
    """Run `train_variant(**job)` for every job and return their logs, in order.

    With `workers > 1` the jobs run in that many spawned processes at once (each model trains alone, at its
    `cfg.threads`), so a 2-core run trains two models at a time instead of leaving a core idle; the numbers are the
    same as training the models one after the other in this process (a test checks it).
    """
    if workers <= 1 or len(jobs) <= 1:
        return [train_variant(**job)[1] for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_train_job, jobs))
