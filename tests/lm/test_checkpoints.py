import pytest
import torch

from shared.lm.checkpoints import load_checkpoint, save_checkpoint
from shared.lm.family import ModelSpec, make_model

SPEC = ModelSpec(vocab_size=20, hidden_size=16, layers=1, heads=2, context=8)


def test_round_trip_is_the_fp16_weights_and_keeps_the_tie(tmp_path):
    model = make_model(SPEC, seed=0)
    save_checkpoint(tmp_path / "m.safetensors", model, "k1")
    loaded = load_checkpoint(tmp_path / "m.safetensors", make_model(SPEC, seed=7), "k1")
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        torch.testing.assert_close(b, a.half().float(), rtol=0, atol=0, msg=name)
    assert loaded.lm_head.weight.data_ptr() == loaded.model.embed_tokens.weight.data_ptr()
    assert not loaded.training


def test_a_checkpoint_of_other_settings_or_shape_is_refused(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", make_model(SPEC, seed=0), "k1")
    with pytest.raises(ValueError, match="trained under other settings"):
        load_checkpoint(tmp_path / "m.safetensors", make_model(SPEC, seed=0), "k2")
    wider = ModelSpec(vocab_size=20, hidden_size=32, layers=1, heads=2, context=8)
    with pytest.raises(RuntimeError):
        load_checkpoint(tmp_path / "m.safetensors", make_model(wider, seed=0), "k1")
