"""
TAB-PO, after Fodeh, Ma, Puthiaraju, Talakokkul, Khan, Hagaman, Lowe and Roundtree, "TAB-PO: Preference Optimization
with a Token-Level Adaptive Barrier for Token-Critical Structured Generation" (arXiv:2603.00025v1, abstract): DPO with
token-weighted, reference-adjusted advantages that put the preference signal on the semantic (label) tokens, plus a
confidence-gated token-level barrier that anchors the chosen response's under-confident tokens to the SFT likelihood.

The objective (our reading of the abstract; beta the DPO coefficient; sums over the response tokens t; y_w chosen,
y_l rejected; w_t >= 0 token weights; a_t = log pi(y^t | x, y^<t) - log pi_ref(y^t | x, y^<t), the reference-adjusted
advantage of a token):

    A(y)      = sum_t w_t a_t(y)                                       (token-weighted advantage of a response)
    L_pref    = -log sigmoid(beta * (A(y_w) - A(y_l)))
    g_t       = 1[pi(y_w^t | x, y_w^<t) < tau]     (the gate, not differentiated: the chosen token is under-confident)
    L_barrier = sum_t g_t * (-log pi(y_w^t | x, y_w^<t))             (supervised anchoring of the gated tokens)
    L         = L_pref + lambda * L_barrier

- w = 1 everywhere and lambda = 0 is DPO exactly (`shared.align.losses.dpo_loss`, tested); lambda = 0 is the
  engine's token-weighted DPO (`preference_loss(..., weights=w)`); tau = 0 closes every gate (no barrier).
- Token weights (`semantic_weights`): `W_SEMANTIC` on the tokens the schema marks as semantic (the label values),
  `W_STRUCTURAL` on the JSON scaffolding, rescaled so that a response's weights average 1 (the implicit reward keeps
  DPO's scale at the same beta). The same weights on the chosen and the rejected response of a pair.
- The trivial control (not the paper's): the same weight values placed at random positions of each pair's response
  (`random_weights`: one permutation per pair, the same for its chosen and rejected; the same sparsity and scale).

Choices where the paper leaves us room (only its abstract could be read offline here, v1 and a later version's),
said plainly:
- the weights come from the schema (which tokens are label values), not from a learned or frequency-based score;
- the barrier is a gated negative log-likelihood (the later abstract's "confidence-gated token-level barrier that
  applies supervised anchoring to under-confident ... tokens") on every chosen response token whose probability is
  below tau, summed over the response (each gated token gets the full anchoring, however long the scaffolding); the
  gate is recomputed at every step (adaptive) and carries no gradient.
"""

import torch

from shared.align.losses import preference_loss, shift_mask, token_logps


def tab_po_loss(logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor, beta: float,
                weights: torch.Tensor | None = None, lam: float = 0.0,
                tau: float = 1.0) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """The TAB-PO loss on a stacked preference batch (chosen rows first), mean over pairs.

    Args:
        logps, ref_logps (torch.Tensor): `[2B, L]` per-token log-probabilities of the policy and the reference.
        mask (torch.Tensor): `[2B, L]` shifted completion mask (1 on response tokens).
        beta (float): DPO's coefficient.
        weights (torch.Tensor, Optional): `[2B, L]` token weights of the advantages; None is 1 (DPO's).
        lam (float): the barrier's coefficient; 0 switches it off.
        tau (float): the gate: a chosen token whose probability is below tau is anchored.

    Returns:
        tuple: (loss, dict of `[B]` tensors: `pref` (the weighted DPO term), `barrier` (per pair, before lambda),
        `gated` (share of the chosen response's tokens under the gate), `margins`, `loss`).
    """
    pref, stats = preference_loss(logps, ref_logps, mask, beta, "sigmoid", weights)
    keep = mask.bool()
    chosen, keep_w = logps.chunk(2)[0], keep.chunk(2)[0]  # [B, L]
    gate = (keep_w & (chosen.detach().exp() < tau)).to(logps.dtype)
    nll = torch.where(keep_w, -chosen, torch.zeros_like(chosen))
    n = keep_w.sum(-1).clamp(min=1).to(logps.dtype)
    barrier = (gate * nll).sum(-1)  # [B]
    per_pair = stats["loss"] + lam * barrier.detach()
    loss = pref + lam * barrier.mean()
    return loss, {"pref": stats["loss"], "barrier": barrier.detach(), "gated": gate.sum(-1) / n,
                  "margins": stats["margins"], "loss": per_pair}  # fmt: skip


def tab_po_loss_reference(logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor, beta: float,
                          weights: torch.Tensor | None, lam: float, tau: float) -> torch.Tensor:  # fmt: skip
    """The same loss written out pair by pair and token by token, with no shared code: the test oracle."""
    n_pairs = logps.shape[0] // 2
    total = logps.new_zeros(())
    for i in range(n_pairs):
        adv = []
        for row in (i, n_pairs + i):
            a = logps.new_zeros(())
            for t in range(logps.shape[1]):
                if mask[row, t]:
                    w = 1.0 if weights is None else weights[row, t]
                    a = a + w * (logps[row, t] - ref_logps[row, t])
            adv.append(a)
        pref = -torch.nn.functional.logsigmoid(beta * (adv[0] - adv[1]))
        barrier = logps.new_zeros(())
        for t in range(logps.shape[1]):
            if mask[i, t]:
                if torch.exp(logps[i, t]).item() < tau:
                    barrier = barrier - logps[i, t]
        total = total + pref + lam * barrier
    return total / n_pairs


def semantic_weights(n_tokens: int, semantic: list[int], w_semantic: float, w_structural: float) -> list[float]:
    """A response's token weights: `w_semantic` at the indices `semantic`, `w_structural` elsewhere, rescaled to
    average 1 over the response."""
    w = [w_structural] * n_tokens
    for j in semantic:
        w[j] = w_semantic
    mean = sum(w) / n_tokens
    return [x / mean for x in w]


def pair_weights(pairs: list[dict], w_semantic: float, w_structural: float) -> list[tuple[list[float], list[float]]]:
    """TAB-PO's weights for each pair: (chosen, rejected), the same schema weights on both responses."""
    out = []
    for p in pairs:
        w = semantic_weights(len(p["chosen_ids"]), p["semantic"], w_semantic, w_structural)
        out.append((w, list(w)))
    return out


def random_weights(weights: list[tuple[list[float], list[float]]], gen: torch.Generator):
    """The trivial control: each pair's weights permuted uniformly at random over its response positions (one
    permutation per pair, applied to both responses): the same multiset, a placement blind to the labels."""
    out = []
    for w_c, w_r in weights:
        perm = torch.randperm(len(w_c), generator=gen).tolist()
        out.append(([w_c[i] for i in perm], [w_r[i] for i in perm]))
    return out


def batch_loss(policy, ref, batch: dict, beta: float, lam: float, tau: float, weighted: bool):
    """`(loss, stats)` of one arm on a preference batch: the policy's and the reference's forwards, then `tab_po_loss`
    with the batch's `token_weights` when `weighted` (else uniform)."""
    mask = shift_mask(batch["completion_mask"])
    logps = token_logps(policy, batch["input_ids"], batch["attention_mask"])
    with torch.no_grad():
        ref_logps = token_logps(ref, batch["input_ids"], batch["attention_mask"])
    weights = shift_mask(batch["token_weights"]) if weighted else None
    return tab_po_loss(logps, ref_logps, mask, beta, weights, lam, tau)


@torch.no_grad()
def pair_metrics(policy, ref, batch: dict, beta: float, semantic: torch.Tensor) -> dict:
    """Held-out quantities on a preference batch, each `[B]`: `margin` the DPO implicit-reward margin over every
    response token (unweighted: the same yardstick for every arm); `dlogp_w`, `dlogp_l` the change of each response's
    log-likelihood from the reference; `dlogp_w_sem`, `dlogp_w_struct` the chosen change on its semantic and on its
    scaffolding tokens (`semantic` `[2B, L]` 0/1 aligned with `token_logps`)."""
    mask = shift_mask(batch["completion_mask"]).bool()
    d = token_logps(policy, batch["input_ids"], batch["attention_mask"]) - token_logps(
        ref, batch["input_ids"], batch["attention_mask"]
    )
    zero = torch.zeros_like(d)
    dseq = torch.where(mask, d, zero).sum(-1)
    sem = mask & semantic.bool()
    d_sem = torch.where(sem, d, zero).sum(-1)
    d_w, d_l = dseq.chunk(2)
    return {"margin": beta * (d_w - d_l), "dlogp_w": d_w, "dlogp_l": d_l, "dlogp_w_sem": d_sem.chunk(2)[0],
            "dlogp_w_struct": d_w - d_sem.chunk(2)[0]}  # fmt: skip


def chosen_nll(policy, batch: dict) -> torch.Tensor:
    """The "more SFT" control's loss: mean negative log-likelihood of the chosen responses' tokens (the rejected rows
    of the batch are ignored), as the supervised stage's loss."""
    mask = shift_mask(batch["completion_mask"]).bool()
    logps = token_logps(policy, batch["input_ids"], batch["attention_mask"])
    n = logps.shape[0] // 2
    keep = mask[:n]
    return -torch.where(keep, logps[:n], torch.zeros_like(logps[:n])).sum() / keep.sum().clamp(min=1)
