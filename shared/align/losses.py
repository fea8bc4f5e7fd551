"""Preference and policy-gradient losses for causal LMs, in plain torch: DPO, IPO, implicit rewards, GRPO.

Conventions (the same as TRL 1.16's `DPOTrainer` and `GRPOTrainer`, against which `tests/align` checks them):
- a batch of sequences `input_ids [B, T]` with `attention_mask [B, T]` (right padding) and a `completion_mask [B, T]`
  (1 on the response tokens whose log-probability counts);
- per-token tensors are indexed by the *target* position: column `t` of `token_logps(...)` `[B, T - 1]` is
  `log p(x_{t+1} | x_{<=t})`, so a mask on `input_ids` is shifted to `mask[:, 1:]` (`shift_mask`) before use;
- a preference batch stacks the chosen sequences first and the rejected ones after (`[2B, T]`, as TRL's collator);
- per-token `weights` (token-level DPO variants, advantage reweighting) multiply the masked terms; a weight of 1 on
  every completion token is the plain loss, and a zero mask removes a token's contribution.

Equations (beta is the KL coefficient; sums run over the completion tokens t of y, with weights w_t, default 1):
- sequence log-probability  log pi(y | x) = sum_t w_t m_t log pi(y_t | x, y_<t)
- implicit reward per token  r_t = beta * (log pi(y_t | .) - log pi_ref(y_t | .)), per sequence r = sum_t w_t m_t r_t
- DPO (sigmoid):  L = -log sigmoid(beta * [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))])
- IPO:  L = (h - 1 / (2 beta))^2 with h the same log-ratio difference, each log-ratio divided by its number of
  completion tokens (TRL's length normalisation, confirmed with the IPO authors); `lengths=None` gives the raw Eq. 17
- GRPO advantages: A_i = (R_i - mean_group(R)) / (std_group(R) + 1e-4), std with Bessel's correction
- GRPO per-token loss: rho_t = exp(log pi(y_t) - log pi_old(y_t)),
  l_t = -min(rho_t A_t, clip(rho_t, 1 - eps_low, 1 + eps_high) A_t) + beta_kl * KL_t,
  KL_t = exp(log pi_ref - log pi) - (log pi_ref - log pi) - 1 (the k3 estimator, always >= 0)
- GRPO aggregation: "grpo" (mean over each sequence's tokens, then over sequences), "bnpo" / "dapo" (sum over all
  tokens / their count; "dapo" may be given the whole generation batch's count), "dr_grpo" (sum / (B * max_len)).
"""

import torch
import torch.nn.functional as F

AGGREGATIONS = ("grpo", "bnpo", "dapo", "dr_grpo")


def shift_mask(mask: torch.Tensor) -> torch.Tensor:
    """A per-input-token mask `[B, T]` aligned with `token_logps` `[B, T - 1]` (the first token has no prediction)."""
    return mask[:, 1:]


def token_logps(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                temperature: float = 1.0) -> torch.Tensor:  # fmt: skip
    """Log-probability of each next token under a causal LM: `[B, T - 1]`, column t = log p(x_{t+1} | x_{<=t}).

    Args:
        model: a causal LM returning `.logits [B, T, V]`.
        input_ids (torch.Tensor): `[B, T]` int64.
        attention_mask (torch.Tensor, Optional): `[B, T]`, 1 on real tokens (right padding).
        temperature (float): the logits are divided by it (GRPO scores completions at the sampling temperature).

    Returns:
        torch.Tensor: `[B, T - 1]` log-probabilities (float32 for half-precision models) (padding positions hold garbage: mask them).
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1]  # [B, T-1, V]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # half-precision log-partitions lose digits; fp64 stays fp64
    if temperature != 1.0:
        logits = logits / temperature
    targets = input_ids[:, 1:].unsqueeze(-1)
    # log softmax at the target only: the logit minus the log-partition, without a [B, T, V] log-softmax tensor
    return logits.gather(-1, targets).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def sequence_logps(logps: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted sum of per-token log-probabilities over the masked tokens: `sum_t w_t m_t logps_t`, `[B]`.

    Args:
        logps (torch.Tensor): `[B, L]` per-token log-probabilities (`token_logps`).
        mask (torch.Tensor): `[B, L]` 0/1 (already shifted with `shift_mask`).
        weights (torch.Tensor, Optional): `[B, L]` per-token weights; None is 1 everywhere.
    """
    terms = logps * mask.to(logps.dtype)
    if weights is not None:
        terms = terms * weights.to(logps.dtype)
    # where() rather than the product alone: a masked-out position's garbage (even inf) must not leak as 0 * inf = nan
    return torch.where(mask.bool(), terms, torch.zeros_like(terms)).sum(dim=-1)


def implicit_rewards(logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor, beta: float,
                     weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """DPO's implicit reward, per token and per sequence.

    r_t = beta * (log pi(y_t | .) - log pi_ref(y_t | .)) on masked tokens (0 elsewhere); r = sum_t w_t r_t.

    Returns:
        tuple: (`[B, L]` per-token rewards, `[B]` per-sequence rewards).
    """
    per_token = torch.where(mask.bool(), beta * (logps - ref_logps), torch.zeros_like(logps))
    per_seq = sequence_logps(per_token, mask, weights)
    return per_token, per_seq


def dpo_loss(chosen_logratios: torch.Tensor, rejected_logratios: torch.Tensor, beta: float,
             label_smoothing: float = 0.0) -> torch.Tensor:  # fmt: skip
    """DPO's sigmoid loss per pair, `[B]`.

    L = -(1 - eps) log sigmoid(beta * delta) - eps log sigmoid(-beta * delta),
    delta = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l)); eps = 0 is plain DPO (conservative DPO
    otherwise). The log-ratios are (weighted) sequence sums: `sequence_logps(logps - ref_logps, mask, weights)`.
    """
    logits = beta * (chosen_logratios - rejected_logratios)
    loss = -F.logsigmoid(logits)
    if label_smoothing:
        loss = (1 - label_smoothing) * loss - label_smoothing * F.logsigmoid(-logits)
    return loss


def ipo_loss(chosen_logratios: torch.Tensor, rejected_logratios: torch.Tensor, beta: float,
             chosen_lengths: torch.Tensor | None = None,
             rejected_lengths: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """IPO's squared loss per pair, `[B]`: (h - 1 / (2 beta))^2 with h the chosen minus the rejected log-ratio.

    With lengths (number of completion tokens, clamped to >= 1), each log-ratio is first divided by its length: TRL's
    form, which the IPO authors confirmed their results use. Without, the raw Eq. 17 of Azar et al. (2023).
    """
    if chosen_lengths is not None:
        chosen_logratios = chosen_logratios / chosen_lengths.to(chosen_logratios.dtype).clamp(min=1.0)
    if rejected_lengths is not None:
        rejected_logratios = rejected_logratios / rejected_lengths.to(rejected_logratios.dtype).clamp(min=1.0)
    return (chosen_logratios - rejected_logratios - 1 / (2 * beta)) ** 2


def preference_loss(logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor, beta: float,
                    loss_type: str = "sigmoid", weights: torch.Tensor | None = None,
                    label_smoothing: float = 0.0) -> tuple[torch.Tensor, dict]:  # fmt: skip
    """DPO or IPO on a stacked preference batch (chosen rows first, then rejected), with optional token weights.

    Args:
        logps, ref_logps (torch.Tensor): `[2B, L]` per-token log-probabilities of the policy and the reference.
        mask (torch.Tensor): `[2B, L]` shifted completion mask.
        beta (float): KL coefficient (IPO's tau).
        loss_type (str): "sigmoid" (DPO) or "ipo".
        weights (torch.Tensor, Optional): `[2B, L]` per-token weights (token-level DPO); None is 1.

    Returns:
        tuple: (mean loss over pairs, a dict of `[B]` tensors: `loss`, `chosen_rewards`, `rejected_rewards` (beta times
        the weighted sequence log-ratios), `margins`, and the policy's `chosen_logps`, `rejected_logps`).
    """
    logratios = sequence_logps(logps - ref_logps, mask, weights)  # [2B]
    chosen_lr, rejected_lr = logratios.chunk(2)
    if loss_type == "sigmoid":
        per_pair = dpo_loss(chosen_lr, rejected_lr, beta, label_smoothing)
    elif loss_type == "ipo":
        chosen_len, rejected_len = mask.sum(dim=-1).chunk(2)
        per_pair = ipo_loss(chosen_lr, rejected_lr, beta, chosen_len, rejected_len)
    else:
        raise ValueError(f"loss_type={loss_type!r}; choose 'sigmoid' (DPO) or 'ipo'")
    seq = sequence_logps(logps, mask, weights).detach()
    chosen_rewards, rejected_rewards = beta * chosen_lr.detach(), beta * rejected_lr.detach()
    stats = {"loss": per_pair.detach(), "chosen_rewards": chosen_rewards, "rejected_rewards": rejected_rewards,
             "margins": chosen_rewards - rejected_rewards, "chosen_logps": seq.chunk(2)[0],
             "rejected_logps": seq.chunk(2)[1]}  # fmt: skip
    return per_pair.mean(), stats


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group", eps: float = 1e-4) -> torch.Tensor:
    """GRPO's group-normalised advantages `[N]` for rewards `[N]` laid out as consecutive groups of `group_size`.

    A_i = (R_i - mean of its group) / (std + eps); std is the group's ("group"), the whole batch's ("batch"), or no
    scaling at all ("none", Dr. GRPO). The std uses Bessel's correction, as TRL's `nanstd`.
    """
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.view(-1, group_size)
    centred = (grouped - grouped.mean(dim=1, keepdim=True)).view(-1)
    if scale == "none":
        return centred
    if scale == "group":
        std = grouped.std(dim=1, correction=1).repeat_interleave(group_size) if group_size > 1 else 0 * rewards
    elif scale == "batch":
        std = rewards.std(correction=1).expand_as(rewards) if rewards.numel() > 1 else 0 * rewards
    else:
        raise ValueError(f"scale={scale!r}; choose 'group', 'batch' or 'none'")
    return centred / (std + eps)


def kl_k3(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(pi || pi_ref) estimate on samples of pi: exp(d) - d - 1 with d = log pi_ref - log pi (>= 0)."""
    d = ref_logps - logps
    return torch.exp(d) - d - 1


def grpo_token_loss(logps: torch.Tensor, advantages: torch.Tensor, old_logps: torch.Tensor | None = None,
                    epsilon_low: float = 0.2, epsilon_high: float | None = None,
                    ref_logps: torch.Tensor | None = None, beta: float = 0.0,
                    weights: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """GRPO's clipped per-token loss `[B, L]` (unmasked: aggregate it with `aggregate_token_loss`).

    Args:
        logps (torch.Tensor): `[B, L]` log pi(y_t) of the completion tokens under the policy being trained.
        advantages (torch.Tensor): `[B]` (one per completion, broadcast over its tokens) or `[B, L]` (per token).
        old_logps (torch.Tensor, Optional): `[B, L]` under the policy that sampled; None is `logps.detach()`
            (one optimiser step per generation batch: the ratio is 1, the gradient is A * grad log pi).
        epsilon_low, epsilon_high (float): the clip range [1 - epsilon_low, 1 + epsilon_high]; high None = low.
        ref_logps (torch.Tensor, Optional), beta (float): the k3 KL penalty to the reference, beta * KL_t.
        weights (torch.Tensor, Optional): `[B, L]` per-token weights on the policy term (token reweighting and
            down-sampling; 0 removes a token from the policy term).
    """
    if old_logps is None:
        old_logps = logps.detach()
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    epsilon_high = epsilon_low if epsilon_high is None else epsilon_high
    ratio = torch.exp(logps - old_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    loss = -torch.min(ratio * advantages, clipped * advantages)
    if weights is not None:
        loss = loss * weights
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta != 0 needs ref_logps")
        loss = loss + beta * kl_k3(logps, ref_logps)
    return loss


def aggregate_token_loss(token_loss: torch.Tensor, mask: torch.Tensor, kind: str = "dapo",
                         num_tokens: float | torch.Tensor | None = None,
                         max_completion_length: int | None = None) -> torch.Tensor:  # fmt: skip
    """Reduce a per-token loss `[B, L]` over the masked tokens to a scalar (TRL's `loss_type` aggregations).

    "grpo": mean over each sequence's tokens, then over sequences; "bnpo": sum / this batch's token count; "dapo": sum /
    `num_tokens` (the generation batch's token count; default this batch's); "dr_grpo": sum / (B * max_completion_length).
    """
    m = mask.to(token_loss.dtype)
    total = torch.where(mask.bool(), token_loss, torch.zeros_like(token_loss))
    if kind == "grpo":
        return (total.sum(dim=-1) / m.sum(dim=-1).clamp(min=1.0)).mean()
    if kind == "bnpo" or (kind == "dapo" and num_tokens is None):
        return total.sum() / m.sum().clamp(min=1.0)
    if kind == "dapo":
        return total.sum() / torch.as_tensor(num_tokens, dtype=token_loss.dtype).clamp(min=1.0)
    if kind == "dr_grpo":
        length = max_completion_length or token_loss.shape[1]
        return total.sum() / (token_loss.shape[0] * length)
    raise ValueError(f"kind={kind!r}; choose one of {AGGREGATIONS}")
