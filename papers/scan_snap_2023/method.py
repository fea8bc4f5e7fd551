"""
Scan and snap, after Tian, Wang, Chen & Du, "Scan and Snap: Understanding Training Dynamics and Token Composition in
1-layer Transformer" (arXiv:2305.16380v4, NeurIPS 2023).

What this module adds to `shared.lm` (the model family, the trainer and the `KeyTokenModel` data of the paper's Sec. 3):
- the paper's starting point on a family model: attention logits Z(0) = 0 (the query projection zeroed, so every
  query attends uniformly at step 0) and fixed token embeddings (`paper_init`);
- the two learning rates of the paper, eta_Y for the decoder (everything but the query and key projections) and
  eta_Z for the attention logits (query and key projections), as the trainer's `lr_mult` (`lr_mult`);
- the quantities the paper tracks, read from the query token's attention over the context: the attention mass per
  token type (`type_mass`, the paper's c_{l|n}), its entropy (`type_entropy`), the attention per occurrence relative to
  uniform (`occurrence_gain`, which orders the distinct tokens), the shares on distinct and common tokens, and when
  the entropy stops moving (`snap_step`, `late_share`);
- a probe that records these along training (`Probe`) and one training run on the shared trainer (`train_run`),
  with the slimmer record the paper ships for its default run (`run_summary`).

Deviations from the paper, on purpose:
- The model is the shared Llama family (1 layer, 1 head, no positional encoding, RMSNorm, residual, SwiGLU MLP of
  width `mlp_ratio * hidden`) rather than the paper's attention + normalisation + linear decoder; Z is factorised as
  W_Q, W_K (the paper analyses Z directly). W_Q starts at zero and W_K at N(0, 1/d), so Z(0) = 0 as in the paper and
  its gradient is not suppressed by a small-init saddle.
- Token embeddings are random N(0, 1) and frozen (the paper assumes fixed, near-orthogonal embeddings); input and
  output embeddings are untied.
- Short contexts (`length` 32 tokens) instead of the paper's long-sequence limit: the empirical token counts of one
  sequence scatter around P(l | n); the attention statistics are averages over many probe sequences.
- Plain SGD at constant learning rates, no weight decay, no clipping (the paper's setting): the trainer's
  `optimizer="sgd"`, `momentum=0`, `schedule="constant"`, `warmup=0`.
"""

import math
from dataclasses import dataclass, field

import torch

from shared.lm.family import ModelSpec, attention_probs, make_model
from shared.lm.tasks import KeyTokenModel
from shared.lm.trainer import TrainConfig, TrainingDiverged, train

ATTENTION_PREFIXES = ("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj")


def paper_init(model) -> None:
    """Z(0) = 0 and fixed embeddings, in place: W_Q = 0 (every query attends uniformly), W_K ~ N(0, 1/d), the token
    embedding table frozen."""
    attn = model.model.layers[0].self_attn
    d = attn.k_proj.weight.shape[1]
    with torch.no_grad():
        attn.q_proj.weight.zero_()
        attn.k_proj.weight.normal_(0.0, d**-0.5)
        model.model.embed_tokens.weight.normal_(0.0, 1.0)
    model.model.embed_tokens.weight.requires_grad_(False)


def lr_mult(eta_y: float, eta_z: float) -> dict[str, float]:
    """The trainer's `lr_mult` when its `lr` is eta_Y: the query and key projections run at eta_Z."""
    return {prefix: eta_z / eta_y for prefix in ATTENTION_PREFIXES}


def query_attention(model, ids: torch.Tensor) -> torch.Tensor:
    """The last (query) token's attention over the context tokens before it, renormalised to sum to 1.

    Args:
        ids (torch.Tensor): `[N, T + 1]` sequences (context, then the query token).

    Returns:
        torch.Tensor: `[N, T]` (float64).
    """
    a = attention_probs(model, ids)[:, 0, :, -1, :-1].mean(1).double()  # [N, T], mean over heads
    return a / a.sum(-1, keepdim=True)


def type_mass(attn: torch.Tensor, ctx: torch.Tensor, vocab: int) -> torch.Tensor:
    """Attention mass per token type, `[N, V]`: the paper's c_{l|n} for one sequence (sums to 1 over types).

    Args:
        attn (torch.Tensor): `[N, T]` attention over the context positions.
        ctx (torch.Tensor): `[N, T]` context token ids.
    """
    return torch.zeros(attn.shape[0], vocab, dtype=attn.dtype).scatter_add_(1, ctx, attn)


def type_counts(ctx: torch.Tensor, vocab: int) -> torch.Tensor:
    """How often each token type occurs in each context, `[N, V]` (float64)."""
    return torch.zeros(ctx.shape[0], vocab, dtype=torch.float64).scatter_add_(1, ctx, torch.ones_like(ctx, dtype=torch.float64))


def type_entropy(mass: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of the attention over token types, `[N]`."""
    p = mass.clamp_min(1e-300)
    return -(mass * p.log()).sum(-1)


def occurrence_gain(mass: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Attention per occurrence of each type relative to uniform attention, `[N, V]` (NaN where the type is absent):
    1 everywhere at Z = 0; exp(z_l) / mean exp(z) in the paper's notation."""
    T = counts.sum(-1, keepdim=True)
    return torch.where(counts > 0, mass / counts * T, torch.full_like(mass, float("nan")))


def spearman(x, y) -> float:
    """Spearman's rank correlation of two short sequences (average ranks for ties), over the pairs where both are
    finite; 0 when either is constant or fewer than two pairs remain."""
    x, y = torch.tensor(list(x), dtype=torch.float64), torch.tensor(list(y), dtype=torch.float64)
    keep = x.isfinite() & y.isfinite()
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return 0.0

    def ranks(v):
        order = v.argsort()
        r = torch.empty_like(v)
        r[order] = torch.arange(len(v), dtype=torch.float64)
        for val in v.unique():  # average ranks over ties
            tie = v == val
            r[tie] = r[tie].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / den) if den > 0 else 0.0


def snap_step(steps, entropy, frac: float = 0.1, interpolate: bool = False) -> float:
    """The first probed step at which the entropy is within `frac` of its total change from its final value: when the
    attention stopped moving (the end of the run if it never settled). With `interpolate`, the step at which the
    distance to the final value crosses `frac` of the total change, linear between the two probes around the crossing
    (a continuous value, finer than the probe spacing)."""
    h = list(entropy)
    steps = [float(s) for s in steps]
    total = abs(h[0] - h[-1])
    for i, (s, v) in enumerate(zip(steps, h)):
        d = abs(v - h[-1])
        if d <= frac * total:
            if not interpolate or i == 0:
                return s
            d0 = abs(h[i - 1] - h[-1])  # > frac * total (the previous probe had not settled)
            w = (d0 - frac * total) / (d0 - d) if d0 > d else 1.0
            return steps[i - 1] + w * (s - steps[i - 1])
    return steps[-1]


def slope(x, y) -> float:
    """Least-squares slope of `y` on `x` (one seed's points, e.g. log snap step against log learning-rate ratio); 0
    when `x` is constant."""
    x, y = torch.tensor(list(x), dtype=torch.float64), torch.tensor(list(y), dtype=torch.float64)
    xc = x - x.mean()
    den = float((xc * xc).sum())
    return float((xc * (y - y.mean())).sum()) / den if den > 0 else 0.0


def late_share(steps, entropy) -> float:
    """The share of the entropy's total drop that happens in the second half of training: near 0 once it has frozen,
    about 0.5 for a steady decline; 1 when it did not drop at all (nothing froze: the null)."""
    steps, h = list(steps), list(entropy)
    half = min(range(len(steps)), key=lambda i: abs(steps[i] - steps[-1] / 2))
    total = h[0] - h[-1]
    return (h[half] - h[-1]) / total if total > 0 else 1.0


class _Diverged(Exception):
    def __init__(self, step: int):
        super().__init__(f"SGD diverged at step {step}")
        self.step = step


@dataclass
class Probe:
    """Records the query token's attention on fixed probe sequences every `every` steps (and at step 0).

    `rows` gets one dict per probed step: `step`, `entropy` (mean type entropy over probe sequences), `distinct` and
    `common` (mean attention share on the sequence class's own distinct tokens and on the common tokens), `mass`
    `[K, d]` (mean attention share per distinct token of each class, in the order of `distinct_probs`) and `gain`
    `[K, d]` (mean attention per occurrence relative to uniform, same layout).
    """

    task: KeyTokenModel
    ids: torch.Tensor  # [N, T + 1] probe sequences
    classes: torch.Tensor  # [N] their classes
    every: int
    rows: list = field(default_factory=list)

    def __call__(self, model, step: int) -> None:
        if step % self.every:
            return
        ctx = self.ids[:, :-1]
        V = self.task.vocab
        mass = type_mass(query_attention(model, self.ids), ctx, V)
        gain = occurrence_gain(mass, type_counts(ctx, V))
        K = self.task.classes
        distinct = torch.tensor([self.task.distinct_ids(n) for n in range(K)])  # [K, d]
        own = distinct[self.classes]  # [N, d]
        per_mass = torch.stack([mass[self.classes == n][:, distinct[n]].mean(0) for n in range(K)])
        per_gain = torch.stack([gain[self.classes == n][:, distinct[n]].nanmean(0) for n in range(K)])
        self.rows.append({
            "step": step,
            "entropy": float(type_entropy(mass).mean()),
            "distinct": float(mass.gather(1, own).sum(-1).mean()),
            "common": float(mass[:, self.task.common_ids()].sum(-1).mean()),
            "mass": per_mass.tolist(),
            "gain": per_gain.tolist(),
        })  # fmt: skip


def make_spec(task: KeyTokenModel, hidden: int, mlp_ratio: int, length: int) -> ModelSpec:
    """The paper's 1-layer, 1-head model without positional encoding, on the family."""
    return ModelSpec(vocab_size=task.vocab, hidden_size=hidden, layers=1, heads=1, mlp_ratio=mlp_ratio,
                     context=length + 1, position="nope", tie_embeddings=False)  # fmt: skip


def train_run(task: KeyTokenModel, *, eta_y: float, eta_z: float, steps: int, batch: int, length: int, seed: int,
              hidden: int = 32, mlp_ratio: int = 1, shuffle_labels: bool = False, probe_seqs: int = 256,
              every: int = 10, final_probe_seqs: int = 0, threads: int | None = 1) -> dict:  # fmt: skip
    """Train one model by SGD (eta_Y on the decoder, eta_Z on Q/K) on the key-token task; probe its attention.

    Returns:
        dict: `rows` (the probe's records), `final` (the same record at the end of training on `final_probe_seqs`
        other fixed sequences; None when `final_probe_seqs` is 0), `final_loss` (training loss of the last finite step), `accuracy` (argmax
        at the query on the probe sequences against their true class), `diverged` (the step at which the loss or the
        attention became non-finite, training stopped there; None if it never did).
    """
    model = make_model(make_spec(task, hidden, mlp_ratio, length), seed)
    paper_init(model)
    # probe sequences: their own seed, the same for every run of a seed (shuffled labels too: the same contexts)
    probe_data = task.sample(probe_seqs, length, torch.Generator().manual_seed(1_000_003 + seed))
    probe = Probe(task, probe_data["input_ids"], probe_data["classes"], every)
    cfg = TrainConfig(steps=steps, batch_size=batch, seq_len=length, lr=eta_y, warmup=0, weight_decay=0.0,
                      grad_clip=float("inf"), seed=seed, optimizer="sgd", momentum=0.0, schedule="constant",
                      lr_mult=lr_mult(eta_y, eta_z), log_every=steps, threads=threads)  # fmt: skip
    last = {}

    def sample(step, gen):
        b = task.sample(batch, length, gen, shuffle_labels=shuffle_labels)
        return {"input_ids": b["input_ids"], "targets": b["targets"]}

    def callback(step, row):  # a non-finite loss stops the trainer itself (TrainingDiverged)
        last.update(row)
        probe(model, step)
        if probe.rows and not math.isfinite(probe.rows[-1]["entropy"]):
            probe.rows.pop()
            raise _Diverged(step)

    probe(model, 0)
    diverged = None
    try:
        train(model, None, cfg, batches=sample, callback=callback, log=None)
    except (TrainingDiverged, _Diverged) as stop:  # SGD blew up: keep the record up to the last finite probe
        diverged = stop.step
        model.eval()
    with torch.no_grad():
        pred = model(input_ids=probe_data["input_ids"]).logits[:, -1].argmax(-1)
    accuracy = float((pred == 1 + probe_data["classes"]).float().mean())
    final = None
    if final_probe_seqs:  # a larger fixed probe set for the end-of-training statistics (seeded apart from the first)
        big = task.sample(final_probe_seqs, length, torch.Generator().manual_seed(2_000_003 + seed))
        end = Probe(task, big["input_ids"], big["classes"], 1)
        with torch.no_grad():
            end(model, 0)
        final = end.rows[0] if end.rows and math.isfinite(end.rows[0]["entropy"]) else None
    return {"rows": probe.rows, "final": final, "final_loss": last.get("loss", float("nan")), "accuracy": accuracy,
            "diverged": diverged}


def run_summary(**job) -> dict:
    """`train_run(**job)` without the per-probe attention mass and gain of the curve (the claims read the curve's
    entropy and distinct share, and the end-of-training record whole): what the paper ships in its run-log store
    (`shared.lm.runlogs`), about 40 times smaller than the full output."""
    out = train_run(**job)  # the last row stays whole: a diverged run (no `final`) stands in with it
    out["rows"] = [{k: r[k] for k in ("step", "entropy", "distinct", "common")} for r in out["rows"][:-1]] + out["rows"][-1:]
    return out
