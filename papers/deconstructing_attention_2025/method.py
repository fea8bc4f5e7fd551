"""
Deconstructed attention, after Xue, Moosavi & Aletras, "Deconstructing Attention: Investigating Design Principles for
Effective Language Modeling" (arXiv:2510.11602v1).

What is new in this paper, and only that: its *Non-approximate* attention (Sec. 3.3, Eqs. 7-8), uniform and hybrid
layer patterns over the shared model family (`shared.lm.family`), fp16 checkpoints of the trained models (the pipeline
stage the default run evaluates), a repeated-sequence copy probe, and the statistics the claims read. Models and
trainer are the shared ones.

Deviations from the paper, on purpose:
- Models: 2-layer, d = 32 Llamas (RoPE, SwiGLU, RMSNorm, tied embeddings) from `shared.lm.family`, trained for a few
  hundred steps on project-corpus windows, not 500M Qwen2.5 models on 15B SlimPajama tokens; a hybrid is
  (variant, softmax): the paper's "variant in odd layers, standard in even layers" with one layer of each.
- MLP-only is the family's `none` (the attention sublayer outputs zeros, the layer's own MLP stays); the paper puts
  a parameter-matched gated MLP in its place. Both remove every path between positions.
- Sequence-independent mixing is the family's `static` (one learned causal [context, context] softmax per layer);
  the paper's RndEmbQK / FixedSeqQK take Q and K from a fixed input (random embeddings or a fixed text) run through
  the stack, giving fixed maps per head. Same principle (attention weights that do not depend on the input), other
  parameterisation.
- "Approximate" (a second-order Taylor feature map, after Arora et al. 2024) is the family's `linear` ((1 + elu)
  feature maps, Katharopoulos et al. 2020): both keep a pairwise similarity and drop the exact softmax.
- Non-approximate follows Eqs. 7-8: Q = SiLU(H W_Q), a score per token s_j = sum_d (q_j * k_j)_d / sqrt(d_h) from the
  token's own query and key, weights softmax over the visible keys j <= i. RoPE rotates q_j and k_j by the same angle,
  which the sum over d (a dot product) ignores; we undo the rotation before the SiLU so that the score is the paper's.
- In-context use is probed by copying a repeated random sequence, not by list recall (`shared.lm.tasks.list_recall`):
  in a pilot, 2-layer models (d = 32 and 64) trained 1,000-1,500 steps on list recall stayed at ~0.31 accuracy
  (guessing among the listed values), so list recall could not separate the variants at this budget.
- Q/K from input embeddings (StaticEmbQK) is not trained: in a 2-layer model its first layer equals standard attention
  and the family's `qk_source` is model-wide, so a hybrid cannot be built (see the README).
"""

import hashlib
import json

import torch
from torch.nn import functional as F
from transformers import AttentionInterface

from shared.lm import family, trainer
from shared.lm.checkpoints import load_checkpoint, save_checkpoint  # noqa: F401 (used as method.*)

NONAPX = "nonapx"
IMPLEMENTATION = "deconstructed_attention"


def _rotate_back(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The inverse of Llama's rotary rotation (`x * cos + rotate_half(x) * sin`): rotate by the opposite angle."""
    a, b = x.chunk(2, dim=-1)
    return x * cos - torch.cat([-b, a], dim=-1) * sin


def nonapx_weights(query: torch.Tensor, key: torch.Tensor, scaling: float, visible: torch.Tensor) -> torch.Tensor:
    """Non-approximate attention weights (Eqs. 7-8): s_j = sum_d SiLU(q_j)_d k_j,d * scaling, one score per key from
    its own position's query and key (no pairwise similarity); A_ij = softmax over the visible j of s_j.

    Args:
        query, key (torch.Tensor): `[B, H, S, D]` un-rotated projections of the same S positions.
        visible (torch.Tensor): `[T, S]` bool, which keys each of the last T queries sees.

    Returns:
        torch.Tensor: `[B, H, T, S]` weights, rows summing to one.
    """
    s = (F.silu(query) * key).sum(-1) * scaling  # [B, H, S]
    T = visible.shape[0]
    logits = s.unsqueeze(-2).expand(*s.shape[:2], T, s.shape[-1])  # [B, H, T, S]: the same scores for every query
    return logits.masked_fill(~visible, float("-inf")).softmax(-1)


def deconstructed_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """The family's dispatcher plus the paper's Non-approximate operation on layers whose `variant` is `nonapx`.

    Returns:
        tuple: output `[B, T, H, D]` and the weights `[B, H, T, S]`.
    """
    if module.variant != NONAPX:
        return family.family_attention(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
    T, S = query.shape[-2], key.shape[-2]
    pos = torch.arange(S, device=query.device).unsqueeze(0)
    cos, sin = (t.unsqueeze(1).to(query.dtype) for t in module.nonapx_rotary(value, pos))  # [1, 1, S, D]
    # queries and keys here are the positions' own (no cache): undo RoPE, then the paper's SiLU on Q
    q, k = _rotate_back(query, cos[..., -T:, :], sin[..., -T:, :]), _rotate_back(key, cos, sin)
    weights = nonapx_weights(q, k, scaling, family.visible_keys(T, S, query.device))
    return (weights @ value).transpose(1, 2), weights


AttentionInterface.register(IMPLEMENTATION, deconstructed_attention)


def make_model(layers: tuple[str, ...], vocab_size: int, seed: int, hidden_size: int = 32, heads: int = 2,
               context: int = 64, mlp_ratio: int = 4):  # fmt: skip
    """A `shared.lm.family` model with one attention variant per layer; `nonapx` layers run Non-approximate attention
    (built as softmax layers of the family, then switched, so parameters and initialisation are the family's)."""
    spec = family.ModelSpec(vocab_size=vocab_size, hidden_size=hidden_size, layers=len(layers), heads=heads,
                            mlp_ratio=mlp_ratio, context=context,
                            attention=tuple("softmax" if a == NONAPX else a for a in layers))  # fmt: skip
    model = family.make_model(spec, seed=seed)
    if NONAPX in layers:
        for layer, variant in zip(model.model.layers, layers):
            if variant == NONAPX:
                layer.self_attn.variant = NONAPX
                # a reference to the model's rotary embedding, not a second submodule
                object.__setattr__(layer.self_attn, "nonapx_rotary", model.model.rotary_emb)
        model.config._attn_implementation = IMPLEMENTATION
    return model


def architectures(variants: list[str], layers: int = 2) -> dict[str, tuple[str, ...]]:
    """The model set: `standard` (softmax everywhere), and per variant `uniform-<v>` (every layer) and `hybrid-<v>`
    (the variant in odd layers 1, 3, ..., softmax in even layers 2, 4, ..., as the paper's hybrid configuration)."""
    archs = {"standard": ("softmax",) * layers}
    for v in variants:
        archs[f"uniform-{v}"] = (v,) * layers
        archs[f"hybrid-{v}"] = tuple(v if i % 2 == 0 else "softmax" for i in range(layers))
    return archs


# data


def fixed_windows(tokens: torch.Tensor, n: int, length: int, seed: int) -> torch.Tensor:
    """`[n, length + 1]` windows at seeded random offsets of a stream `[M]` (inputs and shifted targets)."""
    return trainer.sample_batch(tokens, n, length, torch.Generator().manual_seed(seed))


# evaluation


@torch.no_grad()
def lm_loss(model, windows: torch.Tensor, chunk: int = 64) -> float:
    """Mean next-token cross-entropy (nats) over fixed windows `[N, T + 1]`."""
    model.eval()
    total, n = 0.0, 0
    for i in range(0, windows.shape[0], chunk):
        w = windows[i : i + chunk]
        logits = model(input_ids=w[:, :-1]).logits
        total += float(F.cross_entropy(logits.flatten(0, 1).float(), w[:, 1:].flatten(), reduction="sum"))
        n += w[:, 1:].numel()
    return total / n


def copy_probe(n: int, half: int, keep: int, seed: int) -> torch.Tensor:
    """`[n, 2 * half]` ids: `half` uniformly random corpus ids (`0..keep-1`), then the same `half` ids again. A model
    that uses its context predicts the second copy far better than the first; one that cannot mix tokens cannot."""
    first = torch.randint(0, keep, (n, half), generator=torch.Generator().manual_seed(seed))
    return torch.cat([first, first], dim=1)


@torch.no_grad()
def copy_gain(model, ids: torch.Tensor) -> float:
    """In-context gain on a repeated sequence `[N, 2 * half]`: mean loss (nats) on the tokens 2..half of the first
    copy minus mean loss on the tokens 2..half of the second copy (the first token of each copy is left out: nothing
    before it says what it is)."""
    model.eval()
    half = ids.shape[1] // 2
    logits = model(input_ids=ids[:, :-1]).logits.float()  # [N, 2 * half - 1, V]: position t predicts ids[:, t + 1]
    nll = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")  # [N, 2 * half - 1]
    return float(nll[:, : half - 1].mean() - nll[:, half:].mean())


# training, cached by every setting and by the code


def run_key(arch: tuple[str, ...], seed: int, vocab: int, size: dict, cfg: dict, data: list) -> str:
    """A short stable hash of everything a trained checkpoint depends on, the family's code included
    (`family.code_version()`: an engine fix retrains instead of reusing stale weights)."""
    blob = json.dumps({"arch": list(arch), "seed": seed, "vocab": vocab, "size": size, "cfg": cfg, "data": data,
                       "code": family.code_version()}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train_lm(arch: tuple[str, ...], seed: int, stream: torch.Tensor, vocab: int, size: dict, cfg: dict):
    """Train one model on random windows of the corpus stream `[M]` with the shared trainer; return it with its
    weights rounded to fp16 (what a checkpoint stores, so a fresh model and a loaded one evaluate alike)."""
    model = make_model(arch, vocab, seed, **size)
    tc = trainer.TrainConfig(seed=seed, eval_every=10**9, log_every=10**9, **cfg)
    trainer.train(model, stream, tc, log=None)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


# the statistics the claims read (each resamples seeds as whole units: every model of one seed together)


def share_of_gain(units) -> float:
    """Share of the standard model's gain over the no-mixing floor that a variant keeps, from per-seed
    `(floor, variant, standard)` losses: (mean floor - mean variant) / (mean floor - mean standard). 1 = as good as
    standard, 0 = no better than MLP-only. NaN when the denominator is 0."""
    f, v, s = (sum(u[i] for u in units) / len(units) for i in range(3))
    return (f - v) / (f - s) if f != s else float("nan")


def recovered_share(units) -> float:
    """Share of a uniform variant's deficit to standard that its hybrid recovers, from per-seed `(uniform, hybrid,
    standard)` values: losses, or in-context gains (the formula is the same either way round):
    (mean uniform - mean hybrid) / (mean uniform - mean standard). NaN when the denominator is 0."""
    return share_of_gain(units)


def ratio_of_means(pairs) -> float:
    """`mean(a) / mean(b)` over per-seed `(a, b)` pairs (a variant's and standard's copy gain, say). NaN when the
    denominator's mean is 0."""
    a = sum(p[0] for p in pairs) / len(pairs)
    b = sum(p[1] for p in pairs) / len(pairs)
    return a / b if b else float("nan")
