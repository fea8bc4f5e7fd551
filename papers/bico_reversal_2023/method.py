"""
BICO (bidirectional causal language modelling optimisation), after Lv et al., "Are We Falling in a Middle-Intelligence
Trap? An Analysis and Mitigation of the Reversal Curse" (arXiv:2311.07468), and the reversal-curse probe it is
judged on.

What is new here (the model, the trainer and the fictitious facts are `shared.lm`):
- `mirrored_attention`: the official code's attention for the denoising steps. Every query sees every key, and a key
  *after* the query is scored with the rotary phase of the same distance *before* it (the official `flip_sin`: the
  upper triangle of the score matrix uses q and k rotated by -theta*m instead of theta*m). A fact "A is B" read
  bidirectionally then looks to the model like the mirrored sentence read causally.
- `bico_batches`, `bico_loss`: each step is, with probability 1/2, an ordinary next-token step and otherwise a
  denoising step: the statement's name or its description (one whole entity span, chosen at random) is replaced by
  the mask token, the masked positions are hidden as keys, and position i predicts the masked token at i + 1 (the
  official loss keeps the causal shift) under `mirrored_attention`.
- `greedy`, `exact_match`: causal greedy decoding of the answer span (inference is plain causal, as the official
  `generate.py`), scored as an exact match of every answer token.

Deviations from the paper, on purpose:
- a tiny Llama from `shared.lm.family` trained from scratch on the facts (no pretrained 7B model, no LoRA): the
  facts trained in both directions stand in for what a pretrained model knows about the reversed template.
- masking: one whole entity span per denoising statement instead of the official 15% of tokens; with 2-token names a
  15% token mask rarely hides a whole name, which is what a reversed query asks for (a pilot, seeds 100-104, found
  2-28% reverse accuracy with 15-50% token masks and 34-70% with span masks; the recorded seeds are 0-4).
- names and descriptions are syllable tuples (`shared.lm.tasks.SlotFacts`: `FictitiousFacts` with one syllable pool
  per slot), not Berglund et al.'s English names and descriptions; one relation token "is" in both directions; exact
  match of the whole answer span. With one pool shared by all slots (the shared generator as it is) BICO's reverse
  accuracy stayed at 0-14% in the pilot (400 and 800 steps): the transfer from the bidirectional steps to causal
  reversed queries rides on what the tokens are, not where they sit, and a shared pool hides which slot a token fills.
"""

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from transformers import AttentionInterface

from shared.lm.family import _rotate, family_attention
from shared.lm.tasks import FictitiousFacts, SlotFacts  # noqa: F401 (SlotFacts used as method.SlotFacts)

IMPLEMENTATION = "bico_mirrored"
IGNORE = -100


def mirrored_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """The family dispatcher, except in denoising mode (`module.mirror_future`): softmax attention over every
    unpadded key, with the rotary phase of a key after the query mirrored to the same distance before it.

    Args:
        query, key, value (torch.Tensor): `[B, H, T, D]`, query and key already rotated by theta * position.

    Returns:
        tuple: output `[B, T, H, D]` and weights `[B, H, T, T]`.
    """
    if not getattr(module, "mirror_future", False):
        return family_attention(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
    if module.variant != "softmax" or module.position != "rope":
        raise ValueError("mirrored attention is defined for softmax attention with rotary positions")
    scores = _mirrored_logits(query, key, module.mirror_inv_freq, scaling)  # [B, H, T, T]
    padding = module.family_state.get("key_padding")
    if padding is not None:
        scores = scores.masked_fill(~padding[:, None, None, :], float("-inf"))
    probs = scores.softmax(-1)
    return (probs @ value).transpose(1, 2), probs


def _mirrored_logits(query: torch.Tensor, key: torch.Tensor, inv_freq: torch.Tensor, scaling: float) -> torch.Tensor:
    """`[B, H, T, T]` logits of rotated queries and keys `[B, H, T, D]` (positions 0..T-1), with the phase of each
    key after its query mirrored to the same distance before it."""
    T = query.shape[-2]
    # rotating the rotated q, k by -2 theta m leaves them rotated by -theta m: the score then depends on (m_q - m_k)
    angle = -2.0 * torch.arange(T, dtype=inv_freq.dtype, device=query.device)[:, None] * inv_freq.to(query.device)
    angle = torch.cat([angle, angle], dim=-1)  # [T, D], Llama's halves convention
    cos, sin = angle.cos().to(query.dtype), angle.sin().to(query.dtype)
    forward = query @ key.transpose(-1, -2) * scaling
    mirrored = _rotate(query, cos, sin) @ _rotate(key, cos, sin).transpose(-1, -2) * scaling
    future = torch.ones(T, T, dtype=torch.bool, device=query.device).triu(1)
    return torch.where(future, mirrored, forward)


def _rotate_at(x: torch.Tensor, positions: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    angle = positions.to(inv_freq.dtype)[:, None] * inv_freq
    angle = torch.cat([angle, angle], dim=-1)
    return _rotate(x, angle.cos().to(x.dtype), angle.sin().to(x.dtype))


def mirrored_scores(q: torch.Tensor, k: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """The denoising logits (unscaled) of unrotated queries and keys `[B, H, T, D]` at positions 0..T-1."""
    pos = torch.arange(q.shape[-2])
    return _mirrored_logits(_rotate_at(q, pos, inv_freq), _rotate_at(k, pos, inv_freq), inv_freq, 1.0)


def mirrored_reference(q: torch.Tensor, k: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """The same by a loop: query i at position i, key j at position j if j <= i, else at the mirrored 2i - j."""
    T = q.shape[-2]
    out = torch.empty(*q.shape[:-1], T, dtype=q.dtype)
    for i in range(T):
        qi = _rotate_at(q[..., i : i + 1, :], torch.tensor([i]), inv_freq)
        for j in range(T):
            kj = _rotate_at(k[..., j : j + 1, :], torch.tensor([j if j <= i else 2 * i - j]), inv_freq)
            out[..., i, j] = (qi * kj).sum(-1)[..., 0]
    return out


AttentionInterface.register(IMPLEMENTATION, mirrored_attention)


def enable_bico(model) -> None:
    """Route a family model's attention through `mirrored_attention` (identical to the family's until `denoising`)."""
    inv_freq = model.model.rotary_emb.inv_freq.float()
    for layer in model.model.layers:
        layer.self_attn.mirror_inv_freq = inv_freq
        layer.self_attn.mirror_future = False
    model.config._attn_implementation = IMPLEMENTATION


@contextmanager
def denoising(model):
    """Bidirectional attention with mirrored future phases, for the duration of a denoising forward pass."""
    layers = [layer.self_attn for layer in model.model.layers]
    if any(not hasattr(a, "mirror_inv_freq") for a in layers):
        raise RuntimeError("call enable_bico(model) first")
    model.bidirectional = True
    for a in layers:
        a.mirror_future = True
    try:
        yield model
    finally:
        model.bidirectional = False
        for a in layers:
            a.mirror_future = False


def training_statements(facts: FictitiousFacts, forward_only: int) -> torch.Tensor:
    """`[n, L]` statements: facts `0..forward_only-1` as "A is B" only, the others as "A is B" and "B is A"."""
    both = range(forward_only, facts.facts)
    return torch.cat([facts.statements(), facts.statements(both, reverse=True)])


def mask_entity_span(x: torch.Tensor, is_id: int, eos_id: int, gen: torch.Generator) -> torch.Tensor:
    """`[B, L]` bool: per statement `bos first is second eos`, the whole first or whole second entity (1/2 each)."""
    B, L = x.shape
    pos = torch.arange(L)[None]  # [1, L]
    rel = (x == is_id).float().argmax(1)[:, None]  # [B, 1]
    end = (x == eos_id).float().argmax(1)[:, None]
    first = (pos >= 1) & (pos < rel)
    second = (pos > rel) & (pos < end)
    pick_first = torch.rand(B, 1, generator=gen) < 0.5
    return torch.where(pick_first, first, second)


def bico_batches(statements: torch.Tensor, batch_size: int, facts: FictitiousFacts, denoise_prob: float = 0.5):
    """A `batches(step, generator)` sampler for the shared trainer: random statements; with `denoise_prob` (the
    official 1/2) a denoising batch `{"input_ids" [B, L] (masked), "targets" [B, L] (the masked token at i + 1),
    "key_padding" [B, L], "denoise": True}`, else a next-token batch `{"input_ids" [B, L-1], "targets", "denoise":
    False}`. `denoise_prob=0` is plain next-token prediction on the same statements (the NTP arm)."""

    def sample(step: int, gen: torch.Generator) -> dict:
        x = statements[torch.randint(len(statements), (batch_size,), generator=gen)]  # [B, L]
        denoise = denoise_prob > 0 and bool(torch.rand((), generator=gen) < denoise_prob)
        if not denoise:
            return {"input_ids": x[:, :-1], "targets": x[:, 1:], "denoise": False}
        masked = mask_entity_span(x, facts.IS, facts.EOS, gen)
        targets = torch.full_like(x, IGNORE)
        targets[:, :-1] = x[:, 1:].masked_fill(~masked[:, 1:], IGNORE)
        return {"input_ids": x.masked_fill(masked, facts.MASK), "targets": targets, "key_padding": ~masked,
                "denoise": True}  # fmt: skip

    return sample


def bico_loss(model, batch: dict) -> torch.Tensor:
    """Cross-entropy on the batch's targets: causal for next-token batches, `denoising` for denoising ones."""
    if batch["denoise"]:
        with denoising(model):
            logits = model(input_ids=batch["input_ids"], key_padding=batch["key_padding"]).logits
    else:
        logits = model(input_ids=batch["input_ids"]).logits
    return F.cross_entropy(logits.flatten(0, 1).float(), batch["targets"].flatten(), ignore_index=IGNORE)


@torch.no_grad()
def greedy(model, prompts: torch.Tensor, n: int) -> torch.Tensor:
    """`[N, n]` tokens decoded greedily and causally after `prompts` `[N, P]`."""
    was_training = model.training
    model.eval()
    x = prompts
    for _ in range(n):
        x = torch.cat([x, model(input_ids=x).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    model.train(was_training)
    return x[:, prompts.shape[1] :]


def exact_match(model, facts: FictitiousFacts, idx, reverse: bool = False, shift: int = 0) -> torch.Tensor:
    """`[len(idx)]` bool: the greedy answer of each fact's query is its answer span exactly.

    Forward: prompt `bos A is`, answer B. Reverse: prompt `bos B is`, answer A. `shift` scores each answer against
    the answer of the fact `shift` places further in `idx` (targets rotated): the shuffled-targets control."""
    idx = list(idx)
    full = facts.statements(idx, reverse=reverse)  # [N, L]
    span = facts.answer_span(reverse)
    answers = greedy(model, full[:, : span.start], span.stop - span.start)
    targets = full[:, span].roll(-shift, dims=0)
    return (answers == targets).all(1)


def train_arm(arm: str, facts: FictitiousFacts, forward_only: int, spec, cfg) -> tuple:
    """Train one arm (`"ntp"` or `"bico"`) from scratch on `facts` with the shared trainer; returns (model, result).

    Both arms get the same statements, initialisation (`cfg.seed`), optimiser steps and batch size: equal compute."""
    from shared.lm.family import make_model
    from shared.lm.trainer import train

    if arm not in ("ntp", "bico"):
        raise ValueError(f"arm must be 'ntp' or 'bico', got {arm!r}")
    model = make_model(spec, seed=cfg.seed)
    enable_bico(model)
    sampler = bico_batches(training_statements(facts, forward_only), cfg.batch_size, facts,
                           denoise_prob=0.5 if arm == "bico" else 0.0)  # fmt: skip
    result = train(model, None, cfg, batches=sampler, loss_fn=bico_loss, log=None)
    return model, result


def score_arm(model, facts: FictitiousFacts, forward_only: int) -> dict:
    """Exact-match accuracies of one trained model: forward and reverse on the forward-only facts (the test), reverse
    on the facts trained both ways (the template), and reverse against rotated targets (the shuffled control)."""
    test, both = range(forward_only), range(forward_only, facts.facts)
    return {
        "forward": exact_match(model, facts, test).float().mean().item(),
        "reverse": exact_match(model, facts, test, reverse=True).float().mean().item(),
        "reverse_shuffled": exact_match(model, facts, test, reverse=True, shift=1).float().mean().item(),
        "reverse_both": exact_match(model, facts, both, reverse=True).float().mean().item(),
    }


class LookupOracle:
    """A stand-in model that has memorised `statements` `[n, L]` exactly: its logits put all mass on the token that
    follows the longest matching statement prefix (token 0 when none matches). For tests of the scoring."""

    training = False

    def __init__(self, statements: torch.Tensor, vocab: int | None = None):
        self.statements = statements
        self.vocab = vocab or int(statements.max()) + 1

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def __call__(self, input_ids: torch.Tensor, **kwargs):
        from types import SimpleNamespace

        N, P = input_ids.shape
        logits = torch.full((N, P, self.vocab), -1e4)
        for n in range(N):
            for p in range(P):
                prefix = input_ids[n, : p + 1]
                match = (self.statements[:, : p + 1] == prefix).all(1) if p + 1 < self.statements.shape[1] else None
                nxt = int(self.statements[match.nonzero()[0, 0], p + 1]) if match is not None and match.any() else 0
                logits[n, p, nxt] = 0.0
        return SimpleNamespace(logits=logits)
