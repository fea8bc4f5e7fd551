"""fp16 checkpoints of small trained models, tagged with the key of the settings that made them.

Papers that ship their trained weights (so that the default run evaluates instead of retraining) store them with
`save_checkpoint` and read them with `load_checkpoint`, which refuses a file made under other settings: the key
(a hash of the settings and `shared.lm.family.code_version()`) is written into the safetensors metadata. The tied
output layer is the embedding table and is not stored twice.
"""

from pathlib import Path


def save_checkpoint(path: Path, model, key: str) -> None:
    """Write `model`'s weights to `path` (safetensors, fp16, without the tied `lm_head`), tagged with `key`."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items() if not k.startswith("lm_head")}
    save_file(state, str(path), metadata={"key": key})


def load_checkpoint(path: Path, model, key: str):
    """Load the fp16 weights at `path` into `model` (fp32), re-tie the output layer, return the model in eval mode.

    Raises:
        ValueError: the file was trained under other settings (its key differs), or its tensors do not fit `model`.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    with safe_open(str(path), "pt") as f:
        stored = (f.metadata() or {}).get("key")
    if stored != key:
        raise ValueError(f"{path.name}: trained under other settings (key {stored}, expected {key}); retrain it "
                         "(TRAIN='always')")  # fmt: skip
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("lm_head") for k in missing):
        raise ValueError(f"{path.name}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.eval()
    return model
