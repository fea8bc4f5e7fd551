import math

import pytest
import torch

from shared.lm.configs import count_params, make_model
from shared.lm.trainer import (
    TrainConfig,
    TrainingDiverged,
    batch_units,
    lr_at,
    resolve_device,
    sample_batch,
    train,
)

V = 16  # vocabulary of the synthetic language


def markov_stream(n: int, seed: int) -> torch.Tensor:
    """A first-order Markov language: from token i the next is (2i) % V or (2i + 1) % V, each with probability 1/2.

    Its entropy rate is exactly ln 2 nats per token, the lowest loss any model can reach; a unigram model is stuck
    at ln 16 (every token is equally frequent in the long run).
    """
    gen = torch.Generator().manual_seed(seed)
    coins = torch.randint(0, 2, (n,), generator=gen)
    out = torch.empty(n, dtype=torch.long)
    tok = 0
    for i in range(n):
        tok = (2 * tok + int(coins[i])) % V
        out[i] = tok
    return out


@pytest.mark.slow
def test_trainer_learns_a_synthetic_language():
    train_tokens, val_tokens = markov_stream(20_000, seed=0), markov_stream(4_000, seed=1)
    model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    cfg = TrainConfig(steps=100, batch_size=16, seq_len=32, lr=1e-2, warmup=10, eval_every=100, log_every=50,
                      threads=1)  # fmt: skip
    losses = []
    result = train(model, train_tokens, cfg, val_tokens=val_tokens, log=None,
                   callback=lambda step, row: losses.append(row["loss"]))  # fmt: skip
    floor, unigram = math.log(2), math.log(V)
    # an untrained model sits near the unigram loss; training must get within 0.1 nats of the entropy floor
    assert losses[0] > unigram - 0.3 and len(losses) == 100
    assert result.final_val_loss < floor + 0.1, f"val loss {result.final_val_loss:.3f}, floor {floor:.3f}"
    assert result.final_val_loss > floor - 0.05, "below the entropy rate: the evaluation leaks the targets"
    assert result.tokens == 100 * 16 * 32 and result.tokens_per_s > 0


def test_training_is_deterministic_for_a_seed():
    stream = markov_stream(3_000, seed=0)
    cfg = TrainConfig(steps=6, batch_size=4, seq_len=16, warmup=2, log_every=1, threads=1)
    runs = []
    for _ in range(2):
        model = make_model("micro", V, seed=3, bos_token_id=0, eos_token_id=0, pad_token_id=0)
        runs.append([row["loss"] for row in train(model, stream, cfg, log=None).history])
    assert runs[0] == runs[1]


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=100, lr=1.0, warmup=10, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, cfg) == pytest.approx(0.1)


def test_batches_are_shifted_windows_of_the_stream():
    stream = torch.arange(100)
    batch = sample_batch(stream, 4, 10, torch.Generator().manual_seed(0))
    assert batch.shape == (4, 11)
    assert (batch[:, 1:] - batch[:, :-1] == 1).all()  # contiguous windows: targets are the next tokens


def test_configs_have_the_documented_sizes():
    small, large = make_model("small", 8192), make_model("large", 8192)
    assert 1.5e6 < count_params(small) < 3e6 and 5e6 < count_params(large) < 10e6
    assert small.config.vocab_size == large.config.vocab_size  # a same-tokenizer pair


def test_device_auto_falls_back_to_cpu_and_an_absent_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="sees no GPU"):
        resolve_device("cuda")


def test_the_trained_model_comes_back_on_the_cpu():
    stream = markov_stream(2_000, seed=1)
    model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    train(model, stream, TrainConfig(steps=2, batch_size=2, seq_len=8, warmup=1, threads=1, device="auto"), log=None)
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_task_sampler_hook_learns_a_key_token_task_and_counts_its_tokens():
    """`batches=` replaces the token stream: a 1-layer NoPE family model learns the key-token task (loss on the
    answer only) to near-perfect accuracy; shuffled labels (nothing to learn) stay near chance."""
    from shared.lm import tasks
    from shared.lm.family import ModelSpec
    from shared.lm.family import make_model as make_family

    task = tasks.KeyTokenModel(classes=4, distinct_probs=(0.4, 0.3, 0.2, 0.1), common=8, common_mass=0.5)
    test = task.sample(512, 8, torch.Generator().manual_seed(99))
    accuracy = {}
    for shuffle in (False, True):
        model = make_family(ModelSpec(vocab_size=task.vocab, hidden_size=32, layers=1, heads=2, context=16,
                                      position="nope"), seed=0)  # fmt: skip
        cfg = TrainConfig(steps=100, lr=1e-2, warmup=10, log_every=50, threads=1, weight_decay=0.0)
        result = train(model, None, cfg, log=None,
                       batches=lambda step, g, s=shuffle: task.sample(32, 8, g, shuffle_labels=s))  # fmt: skip
        assert result.tokens == 100 * 32 * 9
        with torch.no_grad():
            pred = model(input_ids=test["input_ids"]).logits[:, -1].argmax(-1)
        accuracy[shuffle] = (pred == test["targets"][:, -1]).float().mean().item()
    assert accuracy[False] > 0.95 and accuracy[True] < 0.4, accuracy


def test_sgd_constant_schedule_and_lr_multipliers():
    """SGD with a constant rate and a zero multiplier on the embeddings: those weights never move, the rest do."""
    model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = TrainConfig(steps=5, batch_size=4, seq_len=16, warmup=0, threads=1, optimizer="sgd", schedule="constant",
                      lr=0.1, lr_mult={"model.embed_tokens": 0.0})  # fmt: skip
    lrs = []
    train(model, markov_stream(2_000, 0), cfg, log=None, callback=lambda s, row: lrs.append(row["lr"]))
    assert lrs == [0.1] * 5
    after = dict(model.named_parameters())
    assert torch.equal(after["model.embed_tokens.weight"], before["model.embed_tokens.weight"])
    assert not torch.equal(
        after["model.layers.0.self_attn.q_proj.weight"], before["model.layers.0.self_attn.q_proj.weight"]
    )


def test_bad_optimizer_schedule_and_prefix_are_clear_errors():
    stream = markov_stream(1_000, 0)
    for bad, match in [({"optimizer": "adam"}, "optimizer"), ({"schedule": "step"}, "schedule"),
                       ({"schedule": "linear", "decay_start": 1.5}, "decay_start"),
                       ({"lr_mult": {"decoder.": 2.0}}, "match no parameter")]:  # fmt: skip
        model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
        with pytest.raises(ValueError, match=match):
            train(model, stream, TrainConfig(steps=1, batch_size=2, seq_len=8, **bad), log=None)
    with pytest.raises(ValueError, match="train_tokens or a batches"):
        train(make_model("micro", V, seed=0), None, TrainConfig(steps=1), log=None)


def test_custom_loss_fn_is_used():
    calls = []

    def loss_fn(model, batch):
        calls.append(batch.shape)
        return model(input_ids=batch[:, :-1]).logits.pow(2).mean()

    model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    result = train(model, markov_stream(1_000, 0), TrainConfig(steps=3, batch_size=2, seq_len=8, warmup=1, log_every=1),
                   log=None, loss_fn=loss_fn)  # fmt: skip
    assert calls == [(2, 9)] * 3 and result.history[-1]["loss"] < result.history[0]["loss"]


def test_a_nan_loss_stops_training_at_that_step_with_the_history():
    def loss_fn(model, batch):
        loss = model(input_ids=batch[:, :-1]).logits.pow(2).mean()
        return loss * float("nan") if len(seen) == 4 else loss

    seen = []
    model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    cfg = TrainConfig(steps=10, batch_size=2, seq_len=8, warmup=1, log_every=2)
    with pytest.raises(TrainingDiverged, match="diverged at step 5") as err:
        train(model, markov_stream(1_000, 0), cfg, log=None, loss_fn=loss_fn, callback=lambda s, r: seen.append(s))
    assert err.value.step == 5 and [r["step"] for r in err.value.history] == [2, 4]
    assert next(model.parameters()).device.type == "cpu"


def test_linear_schedule_matches_torch_lambda_lr():
    """`schedule="linear"`: constant, then a linear decay, step for step the factor torch's LambdaLR gives."""
    steps, lr = 10, 0.5
    cfg = TrainConfig(steps=steps, lr=lr, warmup=0, schedule="linear", decay_start=0.5, min_lr_ratio=0.0)
    half = steps // 2
    factor = lambda s: 1.0 if s < half else (steps - s) / (steps - half)  # noqa: E731
    assert [lr_at(s, cfg) for s in range(steps)] == [lr * factor(s) for s in range(steps)]
    floor = TrainConfig(steps=steps, lr=lr, warmup=2, schedule="linear", min_lr_ratio=0.2)
    lrs = [lr_at(s, floor) for s in range(steps)]
    assert lrs[:2] == [0.25, 0.5] and all(a > b for a, b in zip(lrs[2:], lrs[3:]))
    assert lrs[-1] == pytest.approx(lr * (0.2 + 0.8 / (steps - 2)))


def test_no_clipping_logs_the_norm_and_leaves_the_gradient():
    stream = markov_stream(1_000, 0)
    rows = {}
    for clip in (None, 1e-3):
        model = make_model("micro", V, seed=0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
        cfg = TrainConfig(steps=2, batch_size=2, seq_len=8, warmup=0, threads=1, grad_clip=clip, optimizer="sgd",
                          momentum=0.0, weight_decay=0.0, schedule="constant", lr=0.1)  # fmt: skip
        got = []
        train(model, stream, cfg, log=None, callback=lambda s, row, got=got: got.append(row))
        rows[clip] = (got, model.lm_head.weight.detach().clone())
    # the same first-step gradient norm either way; clipping at 1e-3 changes the update, no clipping does not cap it
    assert rows[None][0][0]["grad_norm"] == pytest.approx(rows[1e-3][0][0]["grad_norm"], rel=1e-6)
    assert rows[None][0][0]["grad_norm"] > 1e-3
    assert not torch.allclose(rows[None][1], rows[1e-3][1])


def test_batch_units_count_tokens_or_rows():
    assert batch_units(torch.zeros(4, 9, dtype=torch.long)) == 32
    assert batch_units({"input_ids": torch.zeros(3, 5), "targets": torch.zeros(3, 5)}) == 15
    assert batch_units({"label": 1, "prompts": torch.zeros(6, 4, 11), "y": torch.zeros(6)}) == 6
    with pytest.raises(ValueError, match="input_ids or at least one tensor"):
        batch_units({"label": 1})
