"""DPO and GRPO training loops on the shared trainer (`shared.lm.trainer.train`), through its `batches` and `loss_fn`
hooks: the preference or rollout batch comes from `batches(step, generator)`, the loss from the engine's losses. The
reference model and the sampling policy are closed over; per-step statistics (rewards, margins) are collected beside
the trainer's own history, since its `callback` row carries only the loss, learning rate and gradient norm.
"""

from collections.abc import Callable

import torch

from shared.lm.trainer import TrainConfig, TrainResult, resolve_device, train

from .batches import dpo_batch_loss, grpo_batch_loss
from .losses import group_advantages


def dpo_train(model, ref_model, batches: Callable[[int, torch.Generator], dict], cfg: TrainConfig, beta: float = 0.1,
              loss_type: str = "sigmoid", log: Callable[[str], None] | None = None,
              callback: Callable[[int, dict], None] | None = None) -> tuple[TrainResult, list[dict]]:  # fmt: skip
    """Train `model` with DPO (or IPO) against a frozen `ref_model` on the preference batches of `batches(step, gen)`
    (`shared.align.batches.collate_preferences` layout; `token_weights` give token-level DPO, `ref_logps` skip the
    reference forward).

    Returns:
        tuple: the trainer's `TrainResult` and one row per step: loss, chosen/rejected rewards, margin, reward accuracy.
    """
    ref_model.to(resolve_device(cfg.device)).eval().requires_grad_(False)
    rows: list[dict] = []

    def loss_fn(m, batch):
        loss, stats = dpo_batch_loss(m, batch, beta, ref_model=ref_model, loss_type=loss_type)
        rows.append({"step": len(rows) + 1, "loss": loss.item(),
                     "chosen_reward": stats["chosen_rewards"].mean().item(),
                     "rejected_reward": stats["rejected_rewards"].mean().item(),
                     "margin": stats["margins"].mean().item(),
                     "reward_accuracy": (stats["margins"] > 0).float().mean().item()})  # fmt: skip
        return loss

    result = train(model, None, cfg, batches=batches, loss_fn=loss_fn, log=log, callback=callback)
    ref_model.to("cpu")
    return result, rows


@torch.no_grad()
def sample_completions(model, prompt_ids: list[int], n: int, max_new_tokens: int, gen: torch.Generator,
                       eos_token_id: int, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """`n` sampled completions of one prompt (KV cache, multinomial draws from `gen`), `[n, max_new_tokens]` ids and
    their mask (1 up to and including the first EOS; the padding after it is EOS ids under a 0 mask)."""
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids] * n, device=device)
    out = model(input_ids=ids, use_cache=True)
    past, logits = out.past_key_values, out.logits[:, -1]
    tokens, alive = [], torch.ones(n, dtype=torch.bool, device=device)
    masks = []
    for _ in range(max_new_tokens):
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        nxt = torch.multinomial(probs.cpu(), 1, generator=gen).squeeze(1).to(device)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, eos_token_id))
        tokens.append(nxt)
        masks.append(alive.clone())
        alive = alive & (nxt != eos_token_id)
        if not alive.any():
            break
        out = model(input_ids=nxt[:, None], past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1]
    completion = torch.stack(tokens, dim=1)
    mask = torch.stack(masks, dim=1).long()
    if completion.shape[1] < max_new_tokens:  # all stopped early: pad to the fixed width
        pad = max_new_tokens - completion.shape[1]
        completion = torch.cat([completion, completion.new_full((n, pad), eos_token_id)], dim=1)
        mask = torch.cat([mask, mask.new_zeros((n, pad))], dim=1)
    return completion, mask


def rollout_batch(model, prompts: list[list[int]], reward_fn: Callable[[list[int], list[int]], float],
                  group_size: int, max_new_tokens: int, gen: torch.Generator, eos_token_id: int,
                  pad_token_id: int, temperature: float = 1.0, scale: str = "group") -> dict:  # fmt: skip
    """A GRPO rollout batch: `group_size` completions of each prompt (prompts left-padded, completions right-padded),
    the reward of each (`reward_fn(prompt_ids, completion_ids up to EOS)`), group-normalised `advantages`, `rewards`."""
    was_training = model.training
    model.eval()
    width = max(len(p) for p in prompts)
    prompt_ids, prompt_mask, comps, cmasks, rewards = [], [], [], [], []
    for p in prompts:
        c, m = sample_completions(model, p, group_size, max_new_tokens, gen, eos_token_id, temperature)
        for row, row_mask in zip(c.cpu(), m.cpu()):
            prompt_ids.append([pad_token_id] * (width - len(p)) + list(p))
            prompt_mask.append([0] * (width - len(p)) + [1] * len(p))
            comps.append(row)
            cmasks.append(row_mask)
            rewards.append(float(reward_fn(list(p), row[row_mask.bool()].tolist())))
    model.train(was_training)
    rewards_t = torch.tensor(rewards)
    completion_mask = torch.stack(cmasks)
    return {"prompt_ids": torch.tensor(prompt_ids), "prompt_mask": torch.tensor(prompt_mask),
            "completion_ids": torch.stack(comps), "completion_mask": completion_mask,
            "rewards": rewards_t, "advantages": group_advantages(rewards_t, group_size, scale),
            "num_tokens": completion_mask.sum().float()}  # fmt: skip


def grpo_train(model, prompts: list[list[int]], reward_fn: Callable[[list[int], list[int]], float], cfg: TrainConfig,
               group_size: int = 4, prompts_per_step: int = 2, max_new_tokens: int = 8, eos_token_id: int = 2,
               pad_token_id: int = 0, temperature: float = 1.0, epsilon_low: float = 0.2,
               epsilon_high: float | None = None, aggregation: str = "dapo", scale: str = "group",
               log: Callable[[str], None] | None = None,
               callback: Callable[[int, dict], None] | None = None) -> tuple[TrainResult, list[dict]]:  # fmt: skip
    """GRPO with one optimiser step per generation batch (TRL's default `num_iterations=1`, no KL term): each step draws
    `prompts_per_step` prompts with the trainer's generator, samples `group_size` completions of each from the current
    policy, and takes a step on the clipped loss with group-normalised advantages.

    Returns:
        tuple: the trainer's `TrainResult` and one row per step: loss, mean reward, share of groups with signal.
    """
    rows: list[dict] = []

    def batches(step, gen):
        idx = torch.randint(0, len(prompts), (prompts_per_step,), generator=gen).tolist()
        batch = rollout_batch(model, [prompts[i] for i in idx], reward_fn, group_size, max_new_tokens, gen,
                              eos_token_id, pad_token_id, temperature, scale)  # fmt: skip
        grouped = batch["rewards"].view(-1, group_size)
        rows.append({"step": step + 1, "reward": batch["rewards"].mean().item(),
                     "groups_with_signal": (grouped.std(dim=1) > 0).float().mean().item()})  # fmt: skip
        return batch

    def loss_fn(m, batch):
        loss = grpo_batch_loss(m, batch, epsilon_low, epsilon_high, aggregation=aggregation, temperature=temperature,
                               max_completion_length=max_new_tokens)  # fmt: skip
        rows[-1]["loss"] = loss.item()
        return loss

    result = train(model, None, cfg, batches=batches, loss_fn=loss_fn, log=log, callback=callback)
    return result, rows
