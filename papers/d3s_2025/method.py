"""What D^3S (Wang et al. 2025, arXiv:2509.22115v1) adds to GRPO, on the shared running-sums task: down-sampling of
each step's rollouts at two levels before the policy update, with a schedule.

- sample level: in every group of G rollouts of one prompt, keep the m rollouts whose (group-normalised) advantages
  have the largest variance (`max_variance_subset`: the maximiser of the variance of a fixed-size subset of reals is
  an "extreme" subset, the j largest and m - j smallest values for some j, so a search over j is exact);
- token level: of the kept rollouts' completion tokens, keep the top share (of the batch's tokens per rollout, times
  the kept rollouts) by |A_i| x H_{i,t}, H the entropy of the
  sampling policy's next-token distribution at that position (`token_scores`, `top_tokens`);
- the dynamic schedule (`keep_fraction`): the kept shares start low (aggressive down-sampling) and relax linearly to
  their end value over the run;
- the trivial control (`downsample(..., mode="random")`): the same numbers of rollouts per group and of tokens, drawn
  uniformly at random.
The policy update is the engine's GRPO loss (`shared.align.batches.grpo_batch_loss`: clipped ratio, one optimiser step
per generation batch, "dapo" aggregation) on the kept rows, with the kept tokens as `token_weights` and their count as
the normaliser; the advantages are those of the whole group (computed before down-sampling).

Deviations from the paper, on purpose (read from the abstract and the opening of the introduction only: the method
section, the theorem's statement and the tables could not be read here):
- a 2.1M-parameter tiny LM SFT'd on running sums (5 terms, 5 response tokens, exact-answer reward) instead of
  Qwen2.5 / Llama3.1 on maths benchmarks; the task makes reward exact and an arm's accuracy cheap to measure;
- the subset size m, the token share and the schedule's start, end and shape are ours (the paper's values could not
  be read): both shares ramp linearly from 0.5 to 1.0 (params);
- intra-group selection only (per prompt, the group's own rollouts); the paper also has a cross-group variant;
- the advantages of kept rollouts stay those of the full group (no re-normalisation inside the subset);
- the theorem's quantity (the policy-gradient norm) is measured exactly on one batch: the norm of the gradient of the
  GRPO loss on the selected subset against random subsets of the same size, both normalised by their token counts.
`batched_rollout` is `shared.align.loops.rollout_batch` for prompts of one length, all groups sampled in one batched
KV-cached pass (the engine samples prompt by prompt); it also returns the sampling entropies the token level needs.
"""

import math

import torch

from shared.align.batches import grpo_batch_loss
from shared.align.losses import group_advantages


@torch.no_grad()
def batched_rollout(model, prompts: list[list[int]], reward_fn, group_size: int, max_new_tokens: int,
                    gen: torch.Generator, eos_token_id: int, temperature: float = 1.0) -> dict:  # fmt: skip
    """A GRPO rollout batch for prompts of one length: `group_size` samples of each prompt in one batched pass.

    Returns:
        dict: the engine's rollout-batch fields (`prompt_ids`, `prompt_mask` `[N, P]`, `completion_ids`,
        `completion_mask` `[N, C]`, `rewards`, `advantages` `[N]` (group-normalised), `num_tokens`), plus `entropy`
        `[N, C]` (nats, of the sampling distribution at each completion position) and `group_size`; N = prompts x G.
    """
    if len({len(p) for p in prompts}) != 1:
        raise ValueError("batched_rollout needs prompts of one length (use shared.align.loops.rollout_batch)")
    was_training = model.training
    model.eval()
    ids = torch.tensor(prompts).repeat_interleave(group_size, dim=0)  # [N, P], groups consecutive
    n = ids.shape[0]
    out = model(input_ids=ids, use_cache=True)
    past, logits = out.past_key_values, out.logits[:, -1]
    alive = torch.ones(n, dtype=torch.bool)
    tokens, masks, ents = [], [], []
    for _ in range(max_new_tokens):
        logp = torch.log_softmax(logits.float() / temperature, dim=-1)
        ents.append(-(logp.exp() * logp).sum(-1))
        nxt = torch.multinomial(logp.exp(), 1, generator=gen).squeeze(1)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, eos_token_id))
        tokens.append(nxt)
        masks.append(alive.clone())
        alive = alive & (nxt != eos_token_id)
        if not alive.any():
            break
        out = model(input_ids=nxt[:, None], past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1]
    model.train(was_training)
    pad = max_new_tokens - len(tokens)
    comp = torch.stack(tokens, 1)
    mask = torch.stack(masks, 1).long()
    ent = torch.stack(ents, 1)
    if pad:
        comp = torch.cat([comp, comp.new_full((n, pad), eos_token_id)], 1)
        mask, ent = torch.cat([mask, mask.new_zeros((n, pad))], 1), torch.cat([ent, ent.new_zeros((n, pad))], 1)
    rewards = torch.tensor([float(reward_fn(ids[i].tolist(), comp[i][mask[i].bool()].tolist())) for i in range(n)])
    return {"prompt_ids": ids, "prompt_mask": torch.ones_like(ids), "completion_ids": comp, "completion_mask": mask,
            "rewards": rewards, "advantages": group_advantages(rewards, group_size), "entropy": ent * mask,
            "num_tokens": mask.sum().float(), "group_size": group_size}  # fmt: skip


def subset_variance(values: torch.Tensor) -> float:
    """Population variance of a 1-D tensor (0 for one value)."""
    return float(((values - values.mean()) ** 2).mean()) if values.numel() else 0.0


def max_variance_subset(values: torch.Tensor, m: int) -> list[int]:
    """Indices of the m entries of `values` `[G]` with the largest (population) variance, in increasing order.

    The maximiser is an extreme subset (the j largest and m - j smallest entries for some j): replacing a kept entry
    by a dropped one farther from the kept mean on the same side never lowers the variance. Ties go to lower indices.
    """
    g = values.numel()
    if not 1 <= m <= g:
        raise ValueError(f"m={m} not in 1..{g}")
    order = sorted(range(g), key=lambda i: (float(values[i]), i))  # ascending
    best, best_var = None, -1.0
    for j in range(m + 1):  # j from the top, m - j from the bottom
        idx = order[: m - j] + (order[g - j :] if j else [])
        var = subset_variance(values[idx])
        if var > best_var + 1e-12:
            best, best_var = idx, var
    return sorted(best)


def token_scores(advantages: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """|A_i| x H_{i,t} per completion token `[N, C]` (-inf off the mask)."""
    s = advantages.abs().unsqueeze(1) * entropy
    return torch.where(mask.bool(), s, torch.full_like(s, -math.inf))


def top_tokens(scores: torch.Tensor, n_keep: int) -> torch.Tensor:
    """0/1 mask `[N, C]` of the `n_keep` highest scores (finite ones only; stable: ties to the earlier position)."""
    flat = scores.flatten()
    order = torch.sort(-flat, stable=True).indices[:n_keep]
    keep = torch.zeros_like(flat)
    keep[order] = 1.0
    return (keep * torch.isfinite(flat)).view_as(scores)


def keep_fraction(step: int, steps: int, start: float, end: float) -> float:
    """The schedule: the kept share at `step` (0-based), linear from `start` (step 0) to `end` (last step)."""
    if steps <= 1:
        return end
    return start + (end - start) * step / (steps - 1)


def counts(group_size: int, n_tokens: int, rollout_share: float, token_share: float) -> tuple[int, int]:
    """Rollouts kept per group (at least 2: a pair carries the group's signal) and tokens kept of `n_tokens`."""
    m = min(group_size, max(2, round(rollout_share * group_size)))
    return m, max(1, round(token_share * n_tokens))


def downsample(batch: dict, mode: str, rollout_share: float, token_share: float,
               gen: torch.Generator | None = None) -> dict:  # fmt: skip
    """The rollout batch to update on: `mode` "all" (GRPO), "d3s" (max-variance rollouts per group, then top tokens by
    |A| x H) or "random" (as many rollouts per group and tokens, uniformly); `gen` draws the random ones.

    Returns:
        dict: the kept rows with `token_weights` (0/1, the kept tokens), `num_tokens` (their count, "dapo"'s
        normaliser), and `kept_rollouts`, `kept_tokens` (ints).
    """
    keys = ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "rewards", "advantages", "entropy")
    g, n = batch["group_size"], batch["rewards"].numel()
    if mode == "all":
        rows = list(range(n))
        weights = batch["completion_mask"].float()
    else:
        m, _ = counts(g, 0, rollout_share, token_share)
        rows = []
        for start in range(0, n, g):
            if mode == "d3s":
                pick = max_variance_subset(batch["advantages"][start : start + g], m)
            elif mode == "random":
                pick = sorted(torch.randperm(g, generator=gen)[:m].tolist())
            else:
                raise ValueError(f"mode={mode!r}; choose 'all', 'd3s' or 'random'")
            rows += [start + i for i in pick]
        mask = batch["completion_mask"][rows]
        # the token budget follows from the whole batch (so both modes keep the same count), capped by what is kept
        _, n_keep = counts(g, round(int(batch["completion_mask"].sum()) * len(rows) / n), rollout_share, token_share)
        n_keep = min(n_keep, int(mask.sum()))
        if mode == "d3s":
            weights = top_tokens(token_scores(batch["advantages"][rows], batch["entropy"][rows], mask), n_keep)
        else:
            noise = torch.rand(mask.shape, generator=gen)
            weights = top_tokens(torch.where(mask.bool(), noise, torch.full_like(noise, -math.inf)), n_keep)
    out = {k: batch[k][rows] for k in keys}
    out["token_weights"] = weights
    out["num_tokens"] = weights.sum()
    out["kept_rollouts"], out["kept_tokens"] = len(rows), int(weights.sum())
    return out


def policy_grad_norm(model, batch: dict) -> float:
    """L2 norm of the gradient of the engine's GRPO loss (ratio 1, "dapo" over the batch's kept tokens) on `batch`."""
    model.zero_grad(set_to_none=True)
    grpo_batch_loss(model, batch).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
    model.zero_grad(set_to_none=True)
    return norm


def d3s_train(model, prompts: list[list[int]], reward_fn, cfg, mode: str, group_size: int, prompts_per_step: int,
              max_new_tokens: int, eos_token_id: int, rollout_start: float = 0.5, rollout_end: float = 1.0,
              token_start: float = 0.5, token_end: float = 1.0, epsilon: float = 0.2, temperature: float = 1.0,
              callback=None) -> list[dict]:  # fmt: skip
    """GRPO on the shared trainer with the rollouts of each step down-sampled by `mode` ("all", "d3s", "random")
    under the schedule (`keep_fraction` of each share). Every arm samples the same number of rollouts per step; the
    random draws (prompts, samples, random down-sampling) come from the trainer's generator, seeded by `cfg.seed`.

    Returns:
        list: one row per step: mean reward of the rollouts, kept rollouts and tokens, all tokens sampled.
    """
    from shared.lm.trainer import train

    rows: list[dict] = []

    def batches(step, gen):
        idx = torch.randint(0, len(prompts), (prompts_per_step,), generator=gen).tolist()
        full = batched_rollout(model, [prompts[i] for i in idx], reward_fn, group_size, max_new_tokens, gen,
                               eos_token_id, temperature)  # fmt: skip
        r_share = keep_fraction(step, cfg.steps, rollout_start, rollout_end)
        t_share = keep_fraction(step, cfg.steps, token_start, token_end)
        kept = downsample(full, mode, r_share, t_share, gen)
        rows.append({"step": step + 1, "reward": full["rewards"].mean().item(), "tokens": int(full["num_tokens"]),
                     "kept_rollouts": kept.pop("kept_rollouts"), "kept_tokens": kept.pop("kept_tokens")})  # fmt: skip
        return kept

    def loss_fn(m, batch):
        return grpo_batch_loss(m, batch, epsilon_low=epsilon, temperature=temperature)

    train(model, None, cfg, batches=batches, loss_fn=loss_fn, log=None, callback=callback)
    return rows
