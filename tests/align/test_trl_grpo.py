"""The engine's GRPO advantages and loss equal TRL 1.16's `GRPOTrainer` on the same tiny LM and rollouts: TRL samples
and scores the completions (`_generate_and_score_completions`), and its `compute_loss` (`_compute_loss`) is the oracle
for the engine's `grpo_batch_loss` on the same tensors, in fp32 on the CPU (`bf16=False`: TRL's configs default to bf16
autocast): values to 1e-6, gradients to a relative RMS error of 1e-5 per parameter tensor. Covered: the default
config (loss "dapo", beta 0, one step per batch: ratio 1), the other aggregations, the clipped ratio against perturbed old log-probabilities with DAPO's asymmetric clip, and the k3 KL term (beta > 0)."""

from pathlib import Path

import pytest
import torch

trl = pytest.importorskip("trl")

from shared.align.batches import completion_logps, grpo_batch_loss  # noqa: E402
from shared.align.losses import group_advantages  # noqa: E402
from shared.lm.model import load_trained  # noqa: E402

TINY = Path(__file__).resolve().parents[2] / "shared" / "lm" / "trained" / "tiny-lm-small"
PROMPTS = ["3 + 4 =", "the cat sat on the"]  # different token lengths: TRL left-pads the shorter
G = 4


def reward(completions, **kwargs):
    """A deterministic reward on the decoded text, with ties inside groups broken: its length modulo 5."""
    return [float(len(c) % 5) for c in completions]


def rollouts(tmp_path, **config):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model, tok = load_trained(TINY)
    args = GRPOConfig(output_dir=str(tmp_path), report_to=[], max_steps=0, per_device_train_batch_size=2 * G,
                      num_generations=G, max_completion_length=6, use_cpu=True, bf16=False, save_strategy="no",
                      seed=0, **config)  # fmt: skip
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=Dataset.from_dict({"prompt": PROMPTS}),
                          processing_class=tok)  # fmt: skip
    torch.manual_seed(0)
    out = trainer._generate_and_score_completions([{"prompt": p} for p in PROMPTS for _ in range(G)])
    trainer.model.eval()  # eval mode: TRL's loss is then not divided by gradient-accumulation steps
    return trainer, tok, out


def engine_batch(out, old_logps=None):
    batch = {k: out[k] for k in ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages")}
    batch["num_tokens"] = out["num_items_in_batch"]
    if old_logps is not None:
        batch["old_logps"] = old_logps
    if out.get("ref_per_token_logps") is not None:
        batch["ref_logps"] = out["ref_per_token_logps"]
    return batch


def grads_of(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def compare(trainer, out, batch, **loss_kwargs):
    model = trainer.model
    trl_loss = trainer.compute_loss(model, out)
    trl_grads = grads_of(model, trl_loss)
    ours = grpo_batch_loss(model, batch, **loss_kwargs)
    our_grads = grads_of(model, ours)
    assert abs(trl_loss.item() - ours.item()) < 1e-6, (trl_loss.item(), ours.item())
    assert trl_grads.keys() == our_grads.keys() and trl_grads
    worst = 0.0
    for name, g in trl_grads.items():
        rel = ((our_grads[name] - g).norm() / g.norm().clamp(min=1e-30)).item()
        assert rel < 1e-5, f"{name}: relative RMS error {rel:.2e}"
        worst = max(worst, rel)
    print(
        f"GRPO vs TRL: loss {trl_loss.item():.6f}, |diff| {abs(trl_loss.item() - ours.item()):.1e}, worst gradient rel. RMS {worst:.1e}"
    )


def test_rollouts_are_left_padded_and_advantages_equal_trl(tmp_path):
    trainer, tok, out = rollouts(tmp_path)
    assert out["prompt_mask"][:G, 0].eq(0).all(), "the shorter prompt should be left-padded"
    texts = tok.batch_decode(out["completion_ids"], skip_special_tokens=True)
    ours = group_advantages(torch.tensor(reward(texts)), G)
    torch.testing.assert_close(ours, out["advantages"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "bnpo", "dr_grpo"])
def test_engine_grpo_loss_equals_trl_one_step(tmp_path, loss_type):
    trainer, _, out = rollouts(tmp_path, loss_type=loss_type)
    compare(trainer, out, engine_batch(out), aggregation=loss_type, max_completion_length=6)


def test_engine_grpo_clipped_ratio_and_kl_equal_trl(tmp_path):
    trainer, _, out = rollouts(tmp_path, beta=0.04, epsilon=0.2, epsilon_high=0.28)
    assert out.get("ref_per_token_logps") is not None
    with torch.no_grad():
        logps = completion_logps(trainer.model, engine_batch(out))
    # old log-probs off by up to +-0.4 nats: many ratios fall outside [0.8, 1.28] and are clipped
    noise = 0.4 * (2 * torch.rand(logps.shape, generator=torch.Generator().manual_seed(0)) - 1)
    out["old_per_token_logps"] = logps + noise
    ratio = torch.exp(-noise)
    assert ((ratio < 0.8) | (ratio > 1.28)).float().mean() > 0.2
    compare(trainer, out, engine_batch(out, old_logps=logps + noise), beta=0.04, epsilon_low=0.2,
            epsilon_high=0.28)  # fmt: skip
