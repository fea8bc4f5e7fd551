"""The DPO and GRPO loops on the shared trainer learn what they are asked on a micro LM, and are deterministic."""

import copy

import pytest
import torch

from shared.align.batches import collate_preferences, dpo_batch_loss
from shared.align.loops import dpo_train, grpo_train, rollout_batch, sample_completions
from shared.lm.configs import make_model
from shared.lm.trainer import TrainConfig

V, EOS, PAD = 16, 2, 0


def micro(seed=0):
    return make_model("micro", V, seed=seed, bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD)


def pairs(n=8):
    """Prompt [1, a], chosen [a + 3, EOS], rejected [a + 4, EOS]: the policy must learn to prefer a + 3."""
    return [{"prompt_ids": [1, 3 + a], "chosen_ids": [(6 + a) % V, EOS], "rejected_ids": [(7 + a) % V, EOS]}
            for a in range(n)]  # fmt: skip


@pytest.mark.slow
def test_dpo_loop_raises_the_margin_and_accuracy():
    model, batch = micro(), collate_preferences(pairs(), PAD)
    ref = copy.deepcopy(model)
    cfg = TrainConfig(steps=30, lr=3e-3, warmup=0, weight_decay=0.0, schedule="constant", threads=1, log_every=30)
    result, rows = dpo_train(model, ref, lambda step, gen: batch, cfg, beta=0.5)
    assert abs(rows[0]["loss"] - 0.6931) < 1e-3  # policy == reference at step 1: log 2
    assert rows[-1]["loss"] < 0.3 and rows[-1]["reward_accuracy"] == 1.0 and rows[-1]["margin"] > 1.0
    assert len(result.history) == 1 and result.tokens == 30 * batch["input_ids"].numel()
    with torch.no_grad():
        loss, stats = dpo_batch_loss(model, batch, 0.5, ref_model=ref)
    assert loss.item() < rows[0]["loss"]


def test_dpo_loop_is_deterministic():
    batch = collate_preferences(pairs(4), PAD)
    cfg = TrainConfig(steps=5, lr=1e-3, warmup=0, threads=1, log_every=1)
    runs = []
    for _ in range(2):
        model = micro(3)
        runs.append([r["loss"] for r in dpo_train(model, copy.deepcopy(model), lambda s, g: batch, cfg)[1]])
    assert runs[0] == runs[1]


def test_sampler_masks_after_the_first_eos():
    model = micro()
    gen = torch.Generator().manual_seed(0)
    comp, mask = sample_completions(model, [1, 5], 16, 6, gen, EOS)
    assert comp.shape == mask.shape == (16, 6)
    for row, m in zip(comp.tolist(), mask.tolist()):
        n = sum(m)
        assert m == [1] * n + [0] * (6 - n)
        assert EOS not in row[: n - 1]  # no EOS before the last kept token
        if n < 6:
            assert row[n - 1] == EOS


def test_rollout_batch_layout():
    model = micro()
    batch = rollout_batch(model, [[1, 4], [1, 4, 5]], lambda p, c: float(len(c)), 3, 4,
                          torch.Generator().manual_seed(0), EOS, PAD)  # fmt: skip
    assert batch["prompt_ids"].shape == (6, 3) and batch["prompt_ids"][0].tolist() == [PAD, 1, 4]
    assert batch["prompt_mask"][0].tolist() == [0, 1, 1]
    assert batch["completion_ids"].shape == (6, 4)
    torch.testing.assert_close(batch["rewards"], batch["completion_mask"].sum(1).float())
    assert batch["advantages"].view(2, 3).sum(1).abs().max() < 1e-5


@pytest.mark.slow
def test_grpo_loop_raises_the_reward():
    # reward: the share of completion tokens equal to 7 (a token an untrained micro LM rarely picks)
    def reward(prompt, completion):
        return sum(t == 7 for t in completion) / 6

    model = micro(1)
    cfg = TrainConfig(steps=40, lr=1e-2, warmup=0, weight_decay=0.0, schedule="constant", threads=1, log_every=40)
    _, rows = grpo_train(model, [[1, 4], [1, 9]], reward, cfg, group_size=8, prompts_per_step=2, max_new_tokens=6,
                         eos_token_id=EOS, pad_token_id=PAD)  # fmt: skip
    first, last = sum(r["reward"] for r in rows[:5]) / 5, sum(r["reward"] for r in rows[-5:]) / 5
    print(f"GRPO loop: mean reward of the first 5 steps {first:.3f}, of the last 5 {last:.3f}")
    assert last > first + 0.3, (first, last)
