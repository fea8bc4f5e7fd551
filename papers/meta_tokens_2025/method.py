"""
Meta-tokens and meta-attention, after Shah, Gupta, Ramji & Chaudhari, "Language Modeling with Learned Meta-Tokens"
(arXiv:2509.16278v1).

What is new in this paper, and only that (the model family, the trainer, the seeding and the task are `shared.lm`):
- meta-token injection is `shared.lm.tasks.insert_after` (re-exported here): one meta token after every marked
  position of a task sequence (the targets move with their tokens; a meta token never carries a loss, as in the paper,
  where meta-token positions are removed from the loss);
- `meta_attention`: the paper's meta-attention, softmax(QK^T / sqrt(d) + M_causal + P) V, where P is 0 between two
  meta-token positions and -inf otherwise, registered with transformers' `AttentionInterface` as `meta_tokens_2025`
  and added to the family's causal attention of every layer; `meta_attention_reference` is the same by a loop, the
  fp64 reference of the tests;
- the synthetic long-range task is `shared.lm.tasks.SegmentRecall` (re-exported here; an analogue of the paper's
  List Recall): named lists, then a query (list name, index) whose answer is that item of that list; meta tokens
  close every list;
- `train_arm`, `accuracy`, `answer_entropy`: the three arms (plain: no meta tokens; pause: the same meta tokens as
  ordinary tokens, no meta-attention; meta: meta tokens and meta-attention), scored at 1x and 2x the training length.

Deviations from the paper, on purpose:
- Models: 2-layer, d = 64 Llamas from `shared.lm.family` (RoPE, SwiGLU, RMSNorm), trained from scratch on the task,
  not a 152M GPT-2 pre-trained on C4 with randomly injected meta tokens and then fine-tuned; there is no pre-training
  stage, so "meta tokens placed at task-specific positions during fine-tuning" is all the models see.
- Meta-attention shares the layer's query, key and value projections with the causal attention and is summed with it
  before the output projection (one extra attention pattern per head, no extra parameters), where the paper inserts a
  meta-attention block after the causal attention (Appendix A). The pause arm therefore has exactly the meta arm's
  parameters, and the meta arm differs from it only by the mask P.
- A query at a non-meta position has no visible key under P; its meta-attention output is zero (the paper's formula
  would give an empty softmax there).
- The task: the paper's List Recall puts its `_PAUSE_` token after the queried list; here a meta token closes every
  list, so the meta tokens say where lists end and nothing about the query, and the same sequences without them (the
  plain arm) carry the same information.
- Length: trained on sequences of `lists` lists, evaluated at `lists` and `2 * lists` (2x the training length, with
  RoPE and no interpolation), where the paper evaluates fine-tuned models up to 2x the pre-training context.
"""

import hashlib
import json

import torch
import torch.nn.functional as F
from transformers import AttentionInterface

from shared.lm import family, trainer
from shared.lm.checkpoints import load_checkpoint, save_checkpoint  # noqa: F401 (used as method.*)
from shared.lm.tasks import SegmentRecall, insert_after  # noqa: F401 (used as method.*)

IMPLEMENTATION = "meta_tokens_2025"
IGNORE = -100
ARMS = ("plain", "pause", "meta")


# ------------------------------------------------------------------------------------------------ meta-attention
def meta_weights(query: torch.Tensor, key: torch.Tensor, scaling: float, is_meta: torch.Tensor) -> torch.Tensor:
    """Meta-attention weights `[B, H, T, T]`: causal softmax over the keys j <= i, restricted to pairs where both
    position i and position j hold a meta token; rows of non-meta queries are zero.

    Args:
        query, key (torch.Tensor): `[B, H, T, D]` (rotated as the layer's causal attention sees them).
        is_meta (torch.Tensor): `[B, T]` bool, which positions hold a meta token.
    """
    T = query.shape[-2]
    causal = family.visible_keys(T, T, query.device)  # [T, T]
    allowed = causal & is_meta[:, None, :, None] & is_meta[:, None, None, :]  # [B, 1, T, T]
    scores = (query @ key.transpose(-1, -2) * scaling).masked_fill(~allowed, float("-inf"))
    probs = scores.softmax(-1)
    return torch.nan_to_num(probs, nan=0.0)  # an all -inf row (non-meta query) gives NaN: no meta-attention there


def meta_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """The family's causal attention, plus meta-attention over the same heads where `module.meta_state["is_meta"]`
    is set and `module.meta_state["enabled"]` is true (the pause arm runs the same code with it off).

    Returns:
        tuple: output `[B, T, H, D]` (causal + meta) and the causal attention weights `[B, H, T, S]`.
    """
    out, probs = family.family_attention(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
    state = module.meta_state
    is_meta = state.get("is_meta")
    if not state.get("enabled") or is_meta is None or not bool(is_meta.any()):
        return out, probs
    if query.shape[-2] != key.shape[-2]:
        raise ValueError("meta-attention is defined on a full forward pass (no key-value cache)")
    w = meta_weights(query, key, scaling, is_meta.to(query.device))
    return out + (w @ value).transpose(1, 2), probs


AttentionInterface.register(IMPLEMENTATION, meta_attention)


def meta_attention_reference(query, key, value, scaling: float, is_meta: torch.Tensor) -> torch.Tensor:
    """The meta-attention output `[B, H, T, D]` by a loop: for a meta query i, a softmax over the meta keys j <= i of
    q_i . k_j * scaling, applied to their values; zero for a non-meta query."""
    B, H, T, D = query.shape
    out = torch.zeros(B, H, T, D, dtype=query.dtype)
    for b in range(B):
        for i in range(T):
            if not is_meta[b, i]:
                continue
            js = [j for j in range(i + 1) if is_meta[b, j]]
            s = torch.stack([(query[b, :, i] * key[b, :, j]).sum(-1) * scaling for j in js], dim=-1)  # [H, n]
            p = s.softmax(-1)
            out[b, :, i] = sum(p[:, n, None] * value[b, :, j] for n, j in enumerate(js))
    return out


def enable_meta(model, meta_id: int, enabled: bool = True) -> None:
    """Route a family model's attention through `meta_attention`: every forward marks the positions whose input id is
    `meta_id`; `enabled=False` keeps the routing but adds nothing (the pause arm)."""
    state = {"enabled": enabled, "is_meta": None, "meta_id": meta_id}
    for layer in model.model.layers:
        object.__setattr__(layer.self_attn, "meta_state", state)  # one dict shared by all layers, not a submodule

    def mark(mod, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        state["is_meta"] = None if ids is None else ids == meta_id

    model.register_forward_pre_hook(mark, with_kwargs=True)
    model.config._attn_implementation = IMPLEMENTATION
    model.meta_state = state


# ------------------------------------------------------------------------------------------------ arms
def make_arm(arm: str, task: SegmentRecall, spec: family.ModelSpec, seed: int):
    """A fresh family model for an arm (the same initial weights in every arm of a seed)."""
    if arm not in ARMS:
        raise ValueError(f"arm {arm!r}; choose one of {ARMS}")
    model = family.make_model(spec, seed=seed)
    if arm != "plain":
        enable_meta(model, task.meta_id, enabled=arm == "meta")
    return model


def train_arm(arm: str, task: SegmentRecall, lists: int, spec: family.ModelSpec, cfg: trainer.TrainConfig):
    """Train one arm from scratch on the task (meta tokens in the pause and meta arms), then round its weights to
    fp16 (what a checkpoint stores, so a fresh and a loaded model score the same); returns (model, result)."""
    model = make_arm(arm, task, spec, cfg.seed)
    use_meta = arm != "plain"
    result = trainer.train(model, None, cfg, log=None,
                           batches=lambda step, gen: task.sample(cfg.batch_size, lists, gen, meta=use_meta))  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model, result


# ------------------------------------------------------------------------------------------------ checkpoints
def run_key(arm: str, task: SegmentRecall, lists: int, spec: family.ModelSpec, cfg: trainer.TrainConfig) -> str:
    """A hash of everything a trained model depends on (the engine's code version included): a checkpoint made under
    other settings is refused, not silently reused."""
    blob = {"arm": arm, "task": [task.items, task.names, task.size], "lists": lists, "spec": spec.to_dict(),
            "cfg": trainer.config_dict(cfg), "engine": family.code_version(), "method": 1}  # fmt: skip
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def test_set(task: SegmentRecall, n: int, lists: int, seed: int, meta: bool) -> dict:
    """A fixed evaluation set: the same seed gives the same lists and queries with and without meta tokens."""
    return task.sample(n, lists, torch.Generator().manual_seed(seed), meta=meta)


@torch.no_grad()
def accuracy(model, batch: dict, chunk: int = 256) -> float:
    """Share of sequences whose answer (the argmax at the last position) is right."""
    model.eval()
    hits = 0
    for i in range(0, batch["input_ids"].shape[0], chunk):
        ids, tg = batch["input_ids"][i : i + chunk], batch["targets"][i : i + chunk, -1]
        hits += int((model(input_ids=ids).logits[:, -1].argmax(-1) == tg).sum())
    return hits / batch["input_ids"].shape[0]


@torch.no_grad()
def answer_entropy(model, batch: dict, layer: int = -1) -> float:
    """Mean Shannon entropy (nats) of the causal attention of the answer position (the last query) in `layer`,
    averaged over heads and sequences: how sharply the query points into its context."""
    probs = family.attention_probs(model, batch["input_ids"])[:, layer, :, -1].double()  # [N, H, S]
    ent = -(probs * probs.clamp_min(1e-30).log()).sum(-1)
    return float(ent.mean())


def score_arm(model, arm: str, task: SegmentRecall, lists: int, n_test: int, seed: int) -> dict:
    """Accuracy at 1x and 2x the training length and the answer's attention entropy at 1x, on fixed test sets."""
    meta = arm != "plain"
    short = test_set(task, n_test, lists, 10_000 + seed, meta)
    long = test_set(task, n_test, 2 * lists, 20_000 + seed, meta)
    return {"acc_1x": accuracy(model, short), "acc_2x": accuracy(model, long),
            "entropy_1x": answer_entropy(model, short)}  # fmt: skip


def loss_of(model, batch: dict) -> float:
    """Cross-entropy of the answers (nats)."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"]).logits
    return float(F.cross_entropy(logits.flatten(0, 1).float(), batch["targets"].flatten(), ignore_index=IGNORE))
