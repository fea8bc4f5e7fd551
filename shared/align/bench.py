"""Steps per second of the engine's DPO step (the shared trainer with `dpo_batch_loss`) against TRL's `DPOTrainer`, on
the same model, batch, optimiser and precision, measured in the same process.

    PYTHONPATH=. /work/cpu-slot .venv/bin/python -m shared.align.bench --steps 40 --threads 1

Both run AdamW (lr 1e-6, no weight decay, constant schedule), gradient clipping at 1.0, fp32 (TRL's configs default to
bf16 autocast: switched off), a reference forward every step, on the tiny LM (`tiny-lm-small`) and `--pairs` fixed
preference pairs (one batch, every step). Steps are timed by callbacks from the end of step `--warmup` to the end of the
last, so start-up (dataset preparation, accelerate) counts for neither; the runs alternate, `--repeats` times each.
It also times TRL's bare `compute_loss` + backward + step, to split TRL's cost between its loss and its trainer loop.

`--algo grpo` compares whole GRPO steps (sampling included) of `grpo_train` against TRL's `GRPOTrainer.train`, with
the same model, prompts, group size (4), prompts per step (2), completion length (8 new tokens), reward, optimiser and
precision; the completions differ (each samples its own), so the work per step matches in shape, not token for token.
"""

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import torch

TINY = Path(__file__).resolve().parents[1] / "lm" / "trained" / "tiny-lm-small"
PROMPTS = ["3 + 4 =", "the cat sat on", "once upon a time", "12 - 5 =", "my name is", "water is", "2 x 3 =", "a b c"]
CHOSEN = [" 7", " the mat", " there was a small fox", " 7 .", " anna", " wet and cold", " 6", " d e f"]
REJECTED = [" 8 apples", " a dog", " a king", " 8", " the sun", " dry", " 5 or 7", " x"]


def trl_run(policy, ref, tok, pairs: int, steps: int, warmup: int, beta: float, out: str) -> tuple[float, list[dict]]:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    class Clock(TrainerCallback):
        def __init__(self):
            self.ends = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    data = Dataset.from_dict({"prompt": PROMPTS[:pairs], "chosen": CHOSEN[:pairs], "rejected": REJECTED[:pairs]})
    args = DPOConfig(output_dir=out, report_to=[], max_steps=steps, per_device_train_batch_size=pairs, use_cpu=True,
                     bf16=False, save_strategy="no", learning_rate=1e-6, weight_decay=0.0, lr_scheduler_type="constant",
                     warmup_steps=0, max_grad_norm=1.0, logging_steps=10**6, beta=beta, disable_tqdm=True,
                     dataloader_num_workers=0, seed=0)  # fmt: skip
    clock = Clock()
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=data, processing_class=tok,
                         callbacks=[clock])  # fmt: skip
    rows = [trainer.train_dataset[i] for i in range(pairs)]
    trainer.train()
    return (steps - warmup) / (clock.ends[-1] - clock.ends[warmup - 1]), rows, trainer


def trl_bare(trainer, rows, steps: int, warmup: int) -> float:
    """TRL's `compute_loss` + backward + AdamW step in a plain loop (no Trainer machinery)."""
    model = trainer.model
    batch = trainer.data_collator(rows)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.0)
    model.train()
    ends = []
    for _ in range(steps):
        loss = trainer.compute_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ends.append(time.perf_counter())
    return (steps - warmup) / (ends[-1] - ends[warmup - 1])


def engine_run(policy, ref, batch: dict, steps: int, warmup: int, beta: float) -> float:
    from shared.align.loops import dpo_train
    from shared.lm.trainer import TrainConfig

    ends = []
    cfg = TrainConfig(steps=steps, lr=1e-6, warmup=0, weight_decay=0.0, schedule="constant", grad_clip=1.0,
                      log_every=10**6, seed=0)  # fmt: skip
    dpo_train(
        policy, ref, lambda step, gen: batch, cfg, beta=beta, callback=lambda s, r: ends.append(time.perf_counter())
    )
    return (steps - warmup) / (ends[-1] - ends[warmup - 1])


def grpo_reward(completions, **kwargs):
    """TRL-side reward on decoded text (the engine's side scores ids): the share of characters that are digits."""
    return [sum(ch.isdigit() for ch in c) / max(1, len(c)) for c in completions]


def grpo_compare(base, tok, steps: int, warmup: int, out: str) -> tuple[float, float]:
    """(engine, TRL) GRPO steps per second, sampling included."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from shared.align.loops import grpo_train
    from shared.lm.trainer import TrainConfig

    class Clock(TrainerCallback):
        def __init__(self):
            self.ends = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    clock = Clock()
    args = GRPOConfig(output_dir=out, report_to=[], max_steps=steps, per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=8, use_cpu=True, bf16=False, save_strategy="no", learning_rate=1e-6,
                      weight_decay=0.0, lr_scheduler_type="constant", warmup_steps=0, max_grad_norm=1.0,
                      logging_steps=10**6, disable_tqdm=True, seed=0)  # fmt: skip
    trainer = GRPOTrainer(model=copy.deepcopy(base), reward_funcs=grpo_reward, args=args, processing_class=tok,
                          train_dataset=Dataset.from_dict({"prompt": PROMPTS}), callbacks=[clock])  # fmt: skip
    trainer.train()
    trl_sps = (steps - warmup) / (clock.ends[-1] - clock.ends[warmup - 1])

    def reward(prompt, completion):
        return grpo_reward([tok.decode(completion, skip_special_tokens=True)])[0]

    ends = []
    cfg = TrainConfig(steps=steps, lr=1e-6, warmup=0, weight_decay=0.0, schedule="constant", grad_clip=1.0,
                      log_every=10**6, seed=0)  # fmt: skip
    prompts = [tok(p)["input_ids"] for p in PROMPTS]
    grpo_train(copy.deepcopy(base), prompts, reward, cfg, group_size=4, prompts_per_step=2, max_new_tokens=8,
               eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
               callback=lambda s, r: ends.append(time.perf_counter()))  # fmt: skip
    return (steps - warmup) / (ends[-1] - ends[warmup - 1]), trl_sps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--algo", choices=["dpo", "grpo"], default="dpo")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)

    from shared.align.batches import collate_preferences
    from shared.lm.model import load_trained

    base, tok = load_trained(TINY)
    if a.algo == "grpo":
        runs = []
        with tempfile.TemporaryDirectory() as out:
            runs = [grpo_compare(base, tok, a.steps, a.warmup, out) for _ in range(a.repeats)]
        e, t = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f"GRPO, model tiny-lm-small, 2 prompts x 4 completions x 8 new tokens per step, {a.steps} steps "
              f"({a.warmup} untimed), {a.threads} thread(s), {a.repeats} repeats, torch {torch.__version__}")  # fmt: skip
        print(f"engine grpo_train:      {e:7.2f} steps/s  (runs {', '.join(f'{r[0]:.2f}' for r in runs)})")
        print(f"TRL GRPOTrainer.train:  {t:7.2f} steps/s  (runs {', '.join(f'{r[1]:.2f}' for r in runs)})")
        paired = [r[0] / r[1] for r in runs]
        print(
            f"ratio engine / TRL GRPOTrainer: {e / t:.2f} (medians); per repeat "
            f"{', '.join(f'{r:.2f}' for r in paired)}, median {statistics.median(paired):.2f}"
        )
        return
    engine, trl, bare = [], [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(a.repeats):
            sps, rows, trainer = trl_run(copy.deepcopy(base), copy.deepcopy(base), tok, a.pairs, a.steps, a.warmup,
                                         a.beta, out)  # fmt: skip
            trl.append(sps)
            bare.append(trl_bare(trainer, rows, a.steps, a.warmup))
            batch = collate_preferences(rows, tok.pad_token_id)
            engine.append(engine_run(copy.deepcopy(base), copy.deepcopy(base), batch, a.steps, a.warmup, a.beta))
    e, t, b = statistics.median(engine), statistics.median(trl), statistics.median(bare)
    print(f"model tiny-lm-small, {a.pairs} pairs ({batch['input_ids'].shape[1]} tokens wide), {a.steps} steps "
          f"({a.warmup} untimed), {a.threads} thread(s), {a.repeats} alternating repeats, torch {torch.__version__}")  # fmt: skip
    print(f"engine DPO step (shared trainer):     {e:7.2f} steps/s  (runs {', '.join(f'{x:.2f}' for x in engine)})")
    print(f"TRL DPOTrainer.train:                 {t:7.2f} steps/s  (runs {', '.join(f'{x:.2f}' for x in trl)})")
    print(f"TRL compute_loss + backward + AdamW:  {b:7.2f} steps/s  (runs {', '.join(f'{x:.2f}' for x in bare)})")
    paired = [x / y for x, y in zip(engine, trl)]  # each repeat's runs sit next to each other in time
    print(
        f"ratio engine / TRL DPOTrainer: {e / t:.2f} (medians); per repeat {', '.join(f'{r:.2f}' for r in paired)}, "
        f"median {statistics.median(paired):.2f}; engine / TRL bare loss loop: {e / b:.2f}"
    )


if __name__ == "__main__":
    main()
