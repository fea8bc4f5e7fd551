"""Preference and rollout batches as tensors, and the model-side losses on them (policy and reference forwards).

A preference batch is TRL's layout (`DataCollatorForPreference`): `input_ids`, `attention_mask` and `completion_mask`
`[2B, T]`, chosen rows first, right padding; optionally `token_weights [2B, T]` (per input token, like the mask) and
precomputed `ref_logps [2B, T - 1]`. A rollout batch is `prompt_ids`/`prompt_mask` `[B, P]` (left padding) and
`completion_ids`/`completion_mask` `[B, C]` (right padding), with `advantages [B]` or `[B, C]`.
"""

import torch

from .losses import (
    aggregate_token_loss,
    grpo_token_loss,
    preference_loss,
    shift_mask,
    token_logps,
)


def collate_preferences(examples: list[dict], pad_token_id: int) -> dict:
    """Stack `{"prompt_ids", "chosen_ids", "rejected_ids"}` (lists of ints; optional `chosen_weights`/`rejected_weights`,
    one per completion token) into a right-padded preference batch, chosen rows first (TRL's collator layout)."""
    rows, masks, weights = [], [], []
    for side in ("chosen", "rejected"):
        for ex in examples:
            p, c = list(ex["prompt_ids"]), list(ex[f"{side}_ids"])
            rows.append(p + c)
            masks.append([0] * len(p) + [1] * len(c))
            w = ex.get(f"{side}_weights")
            weights.append([0.0] * len(p) + (list(w) if w is not None else [1.0] * len(c)))
    width = max(len(r) for r in rows)
    out = {
        "input_ids": torch.tensor([r + [pad_token_id] * (width - len(r)) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
        "completion_mask": torch.tensor([m + [0] * (width - len(m)) for m in masks]),
    }
    if any(f"{s}_weights" in ex for ex in examples for s in ("chosen", "rejected")):
        out["token_weights"] = torch.tensor([w + [0.0] * (width - len(w)) for w in weights])
    return out


@torch.no_grad()
def reference_logps(ref_model, batch: dict, temperature: float = 1.0) -> torch.Tensor:
    """Per-token log-probabilities `[2B, T - 1]` of a preference batch under the (frozen) reference model."""
    return token_logps(ref_model, batch["input_ids"], batch["attention_mask"], temperature)


def dpo_batch_loss(model, batch: dict, beta: float, ref_model=None, loss_type: str = "sigmoid",
                   label_smoothing: float = 0.0) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """DPO/IPO loss of `model` on a preference batch: one policy forward, and a reference forward unless the batch
    carries `ref_logps`. Token weights (`batch["token_weights"]`) give token-level DPO. Returns `(loss, stats)` as
    `losses.preference_loss`."""
    logps = token_logps(model, batch["input_ids"], batch["attention_mask"])
    ref = batch.get("ref_logps")
    if ref is None:
        if ref_model is None:
            raise ValueError("a preference batch without ref_logps needs ref_model")
        ref = reference_logps(ref_model, batch)
    mask = shift_mask(batch["completion_mask"])
    weights = batch.get("token_weights")
    weights = shift_mask(weights) if weights is not None else None
    return preference_loss(logps, ref, mask, beta, loss_type, weights, label_smoothing)


def completion_logps(model, batch: dict, temperature: float = 1.0) -> torch.Tensor:
    """Per-token log-probabilities `[B, C]` of the completion tokens of a rollout batch (prompt + completion forward)."""
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    width = batch["completion_ids"].shape[1]
    return token_logps(model, input_ids, attention_mask, temperature)[:, -width:]


def grpo_batch_loss(model, batch: dict, epsilon_low: float = 0.2, epsilon_high: float | None = None,
                    beta: float = 0.0, aggregation: str = "dapo", temperature: float = 1.0,
                    max_completion_length: int | None = None) -> torch.Tensor:  # fmt: skip
    """GRPO loss of `model` on a rollout batch: `advantages`, optional `old_logps` (None: one step per batch),
    `ref_logps` (needed when beta != 0), `token_weights [B, C]`, `num_tokens` (the generation batch's count, "dapo")."""
    logps = completion_logps(model, batch, temperature)
    mask = batch["completion_mask"]
    token_loss = grpo_token_loss(logps, batch["advantages"], batch.get("old_logps"), epsilon_low, epsilon_high,
                                 batch.get("ref_logps"), beta, batch.get("token_weights"))  # fmt: skip
    return aggregate_token_loss(token_loss, mask, aggregation, batch.get("num_tokens"), max_completion_length)
