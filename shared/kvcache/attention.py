"""Attention-weight extraction and attention-sink statistics."""

import torch


@torch.no_grad()
def attention_maps(model, ids: torch.Tensor) -> torch.Tensor:
    """All layers' attention probabilities for one sequence, `[L, H, T, T]`, float32.

    Switches the model to eager attention for the call (the only implementation that returns weights) and back.
    """
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        out = model(input_ids=ids.view(1, -1), output_attentions=True)
    finally:
        model.set_attn_implementation(before)
    return torch.stack([a[0].float() for a in out.attentions])


def sink_mass(attn: torch.Tensor, position: int = 0, skip: int = 1) -> torch.Tensor:
    """Mean attention each head puts on key `position`, over queries after the first `skip` ones, `[L, H]`.

    Args:
        attn (torch.Tensor): `[L, H, T, T]` attention probabilities.
    """
    return attn[:, :, skip:, position].mean(-1)


def sink_rate(attn: torch.Tensor, eps: float = 0.3, position: int = 0) -> float:
    """Fraction of heads whose mean attention on `position` exceeds `eps` (the Sink_eps metric of arXiv:2410.10781)."""
    return float((sink_mass(attn, position) > eps).float().mean())


def topk_mass(attn: torch.Tensor, frac: float) -> torch.Tensor:
    """Share of the attention that the top `frac` of keys collect, per layer and head, `[L, H]`.

    Key importance is the attention accumulated over all queries (H2O's column sums); queries that can see fewer
    keys than the sequence weigh the same as the others, as in the paper's accumulation.
    """
    col = attn.sum(2)  # [L, H, T]
    k = max(1, round(frac * col.shape[-1]))
    return col.topk(k, dim=-1).values.sum(-1) / col.sum(-1)
