"""The engine's DPO and IPO losses equal TRL 1.16's `DPOTrainer.compute_loss` (its `_compute_loss`) on the same tiny
LM, reference and collated batch, in fp32 on the CPU (`bf16=False`: TRL's configs default to bf16 autocast): values
to 1e-6 (relative above 1) and parameter gradients to a relative RMS error of 1e-5 per tensor.
Token weights are checked through TRL's one token-weighted DPO, LD-DPO (`ld_alpha`: weight 1 on the tokens both
responses share in length, alpha on the longer one's tail)."""

import copy
from pathlib import Path

import pytest
import torch

trl = pytest.importorskip("trl")

from shared.align.batches import collate_preferences, dpo_batch_loss  # noqa: E402
from shared.lm.model import load_trained  # noqa: E402

TINY = Path(__file__).resolve().parents[2] / "shared" / "lm" / "trained" / "tiny-lm-small"
PAIRS = {
    "prompt": ["3 + 4 =", "the cat sat on", "once upon a time", "12 - 5 ="],
    "chosen": [" 7", " the mat", " there was a small fox", " 7 ."],
    "rejected": [" 8 apples", " a dog", " a king", " 8"],
}


def policy_and_reference(seed: int = 0):
    """The tiny LM as the reference, and a copy with small weight noise as the policy (so log-ratios are not 0)."""
    ref, tok = load_trained(TINY)
    policy = copy.deepcopy(ref)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.02 * p.std() * torch.randn(p.shape, generator=gen))
    return policy, ref, tok


def trl_trainer(tmp_path, **config):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    policy, ref, tok = policy_and_reference()
    args = DPOConfig(output_dir=str(tmp_path), report_to=[], max_steps=0, per_device_train_batch_size=4,
                     use_cpu=True, bf16=False, save_strategy="no", **config)  # fmt: skip
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=Dataset.from_dict(PAIRS),
                         processing_class=tok)  # fmt: skip
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    return trainer, rows


def grads_of(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def assert_same(trainer, batch, engine_loss_fn):
    model = trainer.model
    trl_loss = trainer.compute_loss(model, batch)
    trl_grads = grads_of(model, trl_loss)
    ours = engine_loss_fn(model)
    our_grads = grads_of(model, ours)
    diff = abs(trl_loss.item() - ours.item())
    # 1e-6 absolute, or relative for losses above 1 (IPO's squares reach ~25, where fp32's spacing is ~2e-6)
    assert diff < 1e-6 * max(1.0, abs(trl_loss.item())), f"TRL {trl_loss.item():.8f}, engine {ours.item():.8f}"
    assert trl_grads.keys() == our_grads.keys()
    worst = 0.0
    for name, g in trl_grads.items():
        rel = ((our_grads[name] - g).norm() / g.norm().clamp(min=1e-30)).item()
        assert rel < 1e-5, f"{name}: relative RMS error {rel:.2e}"
        worst = max(worst, rel)
    print(f"DPO vs TRL: loss {trl_loss.item():.6f}, |diff| {diff:.1e}, worst gradient rel. RMS {worst:.1e}")
    return diff


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_engine_dpo_and_ipo_equal_trl(tmp_path, loss_type):
    trainer, rows = trl_trainer(tmp_path, beta=0.1, loss_type=[loss_type])
    batch = trainer.data_collator(rows)
    # the engine's collator builds the same tensors from the same tokenised rows
    ours_batch = collate_preferences(rows, pad_token_id=trainer.processing_class.pad_token_id)
    for key in ("input_ids", "attention_mask", "completion_mask"):
        assert torch.equal(ours_batch[key], batch[key]), key
    trainer.model.train()
    assert_same(
        trainer,
        batch,
        lambda m: dpo_batch_loss(m, ours_batch, beta=0.1, ref_model=trainer.ref_model, loss_type=loss_type)[0],
    )


def test_engine_dpo_is_log2_on_trl_when_policy_is_the_reference(tmp_path):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    ref, tok = load_trained(TINY)
    args = DPOConfig(output_dir=str(tmp_path), report_to=[], max_steps=0, per_device_train_batch_size=4, use_cpu=True,
                     bf16=False, save_strategy="no")  # fmt: skip
    trainer = DPOTrainer(model=copy.deepcopy(ref), ref_model=ref, args=args, train_dataset=Dataset.from_dict(PAIRS),
                         processing_class=tok)  # fmt: skip
    rows = [trainer.train_dataset[i] for i in range(4)]
    batch = collate_preferences(rows, tok.pad_token_id)
    loss, _ = dpo_batch_loss(trainer.model, batch, beta=0.1, ref_model=ref)
    assert loss.item() == pytest.approx(torch.log(torch.tensor(2.0)).item(), abs=1e-6)
    assert trainer.compute_loss(trainer.model, trainer.data_collator(rows)).item() == pytest.approx(
        loss.item(), abs=1e-6
    )


def ld_weights(rows, alpha):
    """LD-DPO's token weights: 1 on the first min(len chosen, len rejected) completion tokens, alpha after."""
    out = []
    for r in rows:
        shared = min(len(r["chosen_ids"]), len(r["rejected_ids"]))
        w = {s: [1.0 if i < shared else alpha for i in range(len(r[f"{s}_ids"]))] for s in ("chosen", "rejected")}
        out.append({**r, "chosen_weights": w["chosen"], "rejected_weights": w["rejected"]})
    return out


def test_engine_token_weights_equal_trl_ld_dpo(tmp_path):
    trainer, rows = trl_trainer(tmp_path, beta=0.1, ld_alpha=0.3)
    batch = trainer.data_collator(rows)
    weighted = collate_preferences(ld_weights(rows, 0.3), trainer.processing_class.pad_token_id)
    trainer.model.train()
    assert_same(trainer, batch, lambda m: dpo_batch_loss(m, weighted, beta=0.1, ref_model=trainer.ref_model)[0])
    # and the weights matter: without them the engine's plain DPO differs from LD-DPO on these unequal lengths
    plain = collate_preferences(rows, trainer.processing_class.pad_token_id)
    with torch.no_grad():
        a = dpo_batch_loss(trainer.model, plain, beta=0.1, ref_model=trainer.ref_model)[0].item()
        b = dpo_batch_loss(trainer.model, weighted, beta=0.1, ref_model=trainer.ref_model)[0].item()
    assert abs(a - b) > 1e-4
