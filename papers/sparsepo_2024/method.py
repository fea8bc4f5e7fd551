"""
SparsePO, after Christopoulou, Cardenas, Lampouras, Bou-Ammar and Wang, "SparsePO: Controlling Preference Alignment
of LLMs via Sparse Token Masks" (arXiv:2410.05102v3, Sec. 3): token-level masks that weight each response token's
log-ratio reward and its KL term in a token-level DPO (TDPO) objective.

The objective (our reading of the paper's; beta the KL coefficient; sums over the response tokens t; y_w chosen, y_l
rejected; r_t = log pi(y^t | x, y^<t) - log pi_ref(y^t | x, y^<t); KL_t = KL(pi_ref(. | x, y^<t) || pi(. | x, y^<t))
over the whole vocabulary, the per-position term of TDPO's sequential KL):

    u     = beta * sum_t m_u(y_w^t) r_t(y_w)  -  beta * sum_t m_u(y_l^t) r_t(y_l)       (masked reward margin)
    delta = beta * sum_t m_d(y_l^t) KL_t(y_l) -  beta * sum_t m_d(y_w^t) KL_t(y_w)      (masked KL difference)
    L     = -log sigmoid(u - delta)

- m_u = 1, m_d = 0 is DPO exactly (`shared.align.losses.dpo_loss`); m_u = m_d = 1 is TDPO1 (Zeng et al. 2024), the
  "token-level DPO" arm here. Both reductions are tested (`test_method.py`).
- Learnable masks (`MaskHead`, the paper's SparsePO proper): m(y^t) = ReLU(w . h_t + b) from the policy's own hidden
  state of the token; the ReLU gives exact zeros, the source of the masks' sparsity. One head for both terms
  ("common" mask, m_u = m_d) or two ("independent").
- Activation masks (MaPO, the paper's other variant): fixed masks from the reference model's activations, no
  parameters (`activation_mask`).
- The trivial control (not the paper's): the learned masks' values permuted at random among each response's tokens
  (`permute_masks`): the same sparsity and the same values, placed without regard to which tokens decide the pair.

Choices where the paper leaves us room (or where we could not check it: the paper's full text was not readable
offline here, only its abstract), said plainly:
- the mask head reads the final (normed) hidden state of the token it weights (the input position of y^t), detached:
  the head learns which tokens to weight, the policy learns from the masked objective, and the policy cannot move
  its features to inflate its own masks; bias initialised to 1 and weights near 0, so training starts at TDPO;
- MaPO's mask: per layer, the L2 norm of the reference's residual stream at each response token, min-max normalised
  over the response (so the lowest token gets exactly 0), averaged over the layers; one common mask.
"""

import torch
import torch.nn.functional as F

from shared.align.losses import shift_mask


def forward_logprobs(model, batch: dict, hidden: bool = False) -> tuple[torch.Tensor, torch.Tensor, tuple | None]:
    """One forward of a causal LM on a preference batch: the full next-token log-distributions `[2B, T - 1, V]`, the
    log-probabilities of the actual next tokens `[2B, T - 1]` (column t = log p(x_{t+1} | x_{<=t}), as
    `shared.align.losses.token_logps`), and the hidden states (embeddings, then each block; the last is after the final
    norm) when `hidden`."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False,
                output_hidden_states=hidden)  # fmt: skip
    logp_full = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
    logps = logp_full.gather(-1, batch["input_ids"][:, 1:].unsqueeze(-1)).squeeze(-1)
    return logp_full, logps, (out.hidden_states if hidden else None)


def token_kl(ref_logp_full: torch.Tensor, logp_full: torch.Tensor) -> torch.Tensor:
    """KL(pi_ref || pi) at each position `[2B, T - 1]`: sum_v p_ref(v) (log p_ref(v) - log p(v)) (TDPO's term)."""
    return (ref_logp_full.exp() * (ref_logp_full - logp_full)).sum(-1)


def sparsepo_loss(logps: torch.Tensor, ref_logps: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, beta: float,
                  m_u: torch.Tensor | None = None, m_d: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """The SparsePO loss on a stacked preference batch (chosen rows first), mean over pairs.

    Args:
        logps, ref_logps (torch.Tensor): `[2B, L]` per-token log-probabilities of the policy and the reference.
        kl (torch.Tensor): `[2B, L]` per-position KL(pi_ref || pi) (`token_kl`).
        mask (torch.Tensor): `[2B, L]` shifted completion mask (1 on response tokens).
        m_u, m_d (torch.Tensor, Optional): `[2B, L]` reward and KL masks; None: m_u = 1 (every token), m_d = 0 (no KL
            term), i.e. DPO.

    Returns:
        tuple: (loss, dict of `[B]` tensors: `u` (masked reward margin), `delta` (masked KL difference), `loss`).
    """
    keep = mask.bool()
    zero = torch.zeros_like(logps)
    mu = torch.ones_like(logps) if m_u is None else m_u.to(logps.dtype)
    r = torch.where(keep, mu * (logps - ref_logps), zero).sum(-1)  # [2B]
    r_w, r_l = r.chunk(2)
    u = beta * (r_w - r_l)
    if m_d is None:
        delta = torch.zeros_like(u)
    else:
        d = torch.where(keep, m_d.to(logps.dtype) * kl, zero).sum(-1)
        d_w, d_l = d.chunk(2)
        delta = beta * (d_l - d_w)
    per_pair = -F.logsigmoid(u - delta)
    return per_pair.mean(), {"u": u.detach(), "delta": delta.detach(), "loss": per_pair.detach()}


class MaskHead(torch.nn.Module):
    """Learnable token masks: m = ReLU(W h + b), `n_masks` = 1 (common: m_u = m_d) or 2 (independent: m_u, m_d).

    Weights start at N(0, init_std^2) and the bias at `init_bias` (1: every mask ~1, training starts at TDPO)."""

    def __init__(self, hidden_size: int, n_masks: int = 1, init_std: float = 0.01, init_bias: float = 1.0,
                 seed: int = 0):  # fmt: skip
        super().__init__()
        self.proj = torch.nn.Linear(hidden_size, n_masks)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.proj.weight.copy_(torch.randn(self.proj.weight.shape, generator=g) * init_std)
            self.proj.bias.fill_(init_bias)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`h [2B, T, d]` (hidden states of the input positions) -> (m_u, m_d), each `[2B, T - 1]` aligned with
        `token_logps` (column t weights token t + 1, read at its own input position t + 1)."""
        m = torch.relu(self.proj(h[:, 1:]))
        return (m[..., 0], m[..., 0]) if m.shape[-1] == 1 else (m[..., 0], m[..., 1])


class MaskedPolicy(torch.nn.Module):
    """The policy and its mask head as one module, so the shared trainer optimises both (prefixes `lm.`, `head.`)."""

    def __init__(self, lm, head: MaskHead):
        super().__init__()
        self.lm = lm
        self.head = head


@torch.no_grad()
def activation_mask(hidden_states: tuple, mask: torch.Tensor) -> torch.Tensor:
    """MaPO's fixed mask `[2B, T - 1]` from a (reference) model's hidden states: per block, the L2 norm of each token's
    residual-stream state (input position t + 1 for column t), min-max normalised over the response tokens of its row,
    then averaged over the blocks; 0 outside the response."""
    keep = mask.bool()
    out = torch.zeros(mask.shape, dtype=torch.float32)
    blocks = hidden_states[1:]
    for h in blocks:
        a = h[:, 1:].float().norm(dim=-1)  # [2B, T - 1]
        lo = torch.where(keep, a, torch.full_like(a, float("inf"))).amin(-1, keepdim=True)
        hi = torch.where(keep, a, torch.full_like(a, float("-inf"))).amax(-1, keepdim=True)
        out += torch.where(keep, (a - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(a))
    return out / len(blocks)


def permute_masks(values: list[list[float]], gen: torch.Generator) -> list[list[float]]:
    """The trivial control's masks: each response's mask values, permuted uniformly at random among its own tokens
    (the same multiset: the same sparsity and scale, a placement that ignores which tokens are critical)."""
    return [[row[i] for i in torch.randperm(len(row), generator=gen).tolist()] for row in values]


def masks_to_tensor(rows: list[list[float]], mask: torch.Tensor) -> torch.Tensor:
    """Place per-response mask values (response order, one list per row of the batch) on the response columns of a
    shifted completion mask `[2B, L]`."""
    out = torch.zeros(mask.shape, dtype=torch.float32)
    for i, row in enumerate(rows):
        cols = mask[i].nonzero().squeeze(-1)
        if len(cols) != len(row):
            raise ValueError(f"row {i}: {len(row)} mask values for {len(cols)} response tokens")
        out[i, cols] = torch.tensor(row, dtype=torch.float32)
    return out


def batch_loss(policy, ref, batch: dict, beta: float, kind: str, fixed: torch.Tensor | None = None):
    """The loss of one arm on a preference batch, with the policy's and the reference's forwards.

    `kind`: "tdpo" (m_u = m_d = 1), "sparsepo" (`policy` is a `MaskedPolicy`: learned common or independent masks),
    "mapo" (the reference's activation mask, common), "fixed" (`fixed` `[2B, L]` for both terms: the random control).
    Returns `(loss, stats)`: `sparsepo_loss`'s stats plus `m_u` (the reward mask used, detached).
    """
    lm = policy.lm if kind == "sparsepo" else policy
    mask = shift_mask(batch["completion_mask"])
    logp_full, logps, hs = forward_logprobs(lm, batch, hidden=kind == "sparsepo")
    with torch.no_grad():
        ref_full, ref_logps, ref_hs = forward_logprobs(ref, batch, hidden=kind == "mapo")
    kl = token_kl(ref_full, logp_full)
    if kind == "tdpo":
        m_u = m_d = torch.ones_like(logps)
    elif kind == "sparsepo":
        m_u, m_d = policy.head(hs[-1].detach())
    elif kind == "mapo":
        m_u = m_d = activation_mask(ref_hs, mask)
    elif kind == "fixed":
        m_u = m_d = fixed
    else:
        raise ValueError(f"unknown arm {kind!r}")
    loss, stats = sparsepo_loss(logps, ref_logps, kl, mask, beta, m_u, m_d)
    stats["m_u"] = m_u.detach()
    return loss, stats


@torch.no_grad()
def learned_masks(policy: MaskedPolicy, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The learned (m_u, m_d) `[2B, L]` of a `MaskedPolicy` on a batch (zeroed outside the response)."""
    _, _, hs = forward_logprobs(policy.lm, batch, hidden=True)
    m_u, m_d = policy.head(hs[-1])
    mask = shift_mask(batch["completion_mask"]).to(m_u.dtype)
    return m_u * mask, m_d * mask


@torch.no_grad()
def pair_metrics(policy, ref, batch: dict, beta: float) -> dict:
    """Held-out quantities on a preference batch, the same for every arm, each `[B]` (chosen rows first):
    `lik_pref` 1 when the policy's log-likelihood of the chosen response exceeds the rejected one's; `margin` the DPO
    implicit-reward margin beta * [(log pi - log pi_ref)(y_w) - (...)(y_l)] over every response token (unmasked);
    `kl_w`, `kl_l` the sequence KL(pi_ref || pi) summed over each response's positions; `dlogp_w`, `dlogp_l` the
    change of each response's log-likelihood from the reference."""
    lm = policy.lm if isinstance(policy, MaskedPolicy) else policy
    mask = shift_mask(batch["completion_mask"]).bool()
    full, logps, _ = forward_logprobs(lm, batch)
    ref_full, ref_logps, _ = forward_logprobs(ref, batch)
    zero = torch.zeros_like(logps)
    seq = torch.where(mask, logps, zero).sum(-1)
    dlogp = torch.where(mask, logps - ref_logps, zero).sum(-1)
    kl = torch.where(mask, token_kl(ref_full, full), zero).sum(-1)
    s_w, s_l = seq.chunk(2)
    d_w, d_l = dlogp.chunk(2)
    k_w, k_l = kl.chunk(2)
    return {"lik_pref": (s_w > s_l).float(), "margin": beta * (d_w - d_l), "kl_w": k_w, "kl_l": k_l,
            "dlogp_w": d_w, "dlogp_l": d_l}  # fmt: skip


def auroc_rows(values: torch.Tensor, positive: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, the probability that a positive (critical) response token's value exceeds a negative one's (ties
    count half): `[N]`, NaN where a row has no positive or no negative token."""
    out = torch.full((values.shape[0],), float("nan"))
    for i in range(values.shape[0]):
        keep = mask[i].bool()
        pos = values[i][keep & positive[i].bool()]
        neg = values[i][keep & ~positive[i].bool()]
        if len(pos) and len(neg):
            gt = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()
            out[i] = gt.mean()
    return out
