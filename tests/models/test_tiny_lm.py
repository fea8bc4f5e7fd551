"""The tiny LMs are committed to git (fp16 safetensors, DVC outputs with `cache: false`): every clone has them, with no
DVC remote and no training, and they are the trained models their metrics describe, not fresh initialisations."""

import json
import math

import numpy as np
import pytest
import torch

from shared import ROOT
from shared.models import load
from shared.models.zoo import TINY_DIR

VAL = ROOT / "shared/lm/trained/bpe-8k/val.npy"  # the held-out stream, when the bpe-8k stage is here


@pytest.mark.parametrize("name", ["tiny-lm-small", "tiny-lm-large"])
def test_committed_tiny_lm_is_git_tracked_fp16_and_loads_in_fp32(name):
    from safetensors import safe_open

    folder = TINY_DIR / name
    weights = folder / "model.safetensors"
    assert weights.exists(), f"{name} is not in the repository: see shared/lm/dvc.yaml"
    assert weights.stat().st_size < 20e6  # a few MB: fit for git
    with safe_open(str(weights), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}
    metrics = json.loads((ROOT / "shared/lm/metrics" / f"{name}.json").read_text())
    model, tok = load(name)
    assert next(model.parameters()).dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) == metrics["params"]
    assert len(tok) == 8192


@pytest.mark.parametrize("name", ["tiny-lm-small", "tiny-lm-large"])
def test_committed_tiny_lm_predicts_held_out_text_as_its_metrics_say(name):
    model, tok = load(name)
    if VAL.exists():
        ids = np.load(VAL)[: 16 * 128].astype(np.int64)
    else:  # a clone without the bpe-8k stage: encode held-out-like text with the model's own tokenizer
        ids = np.array(tok((ROOT / "README.md").read_text())["input_ids"][: 16 * 128], dtype=np.int64)
    x = torch.from_numpy(ids[: (len(ids) // 128) * 128]).view(-1, 128)
    with torch.no_grad():
        loss = model(input_ids=x, labels=x).loss.item()
    recorded = json.loads((ROOT / "shared/lm/metrics" / f"{name}.json").read_text())["final_val_loss"]
    assert loss < math.log(8192) - 2  # an untrained model sits at ln(8192) = 9.0 nats
    if VAL.exists():
        assert abs(loss - recorded) < 0.35, (loss, recorded)  # 16 windows vs the trainer's random ones; fp16 storage
