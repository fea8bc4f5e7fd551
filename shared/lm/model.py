"""Loading a trained tiny LM (a folder written by `shared.lm.pipeline train`)."""

from pathlib import Path


def load_trained(folder: Path, dtype=None, **kwargs):
    """`(LlamaForCausalLM, PreTrainedTokenizerFast)` from a trained tiny-LM folder; kwargs go to `from_pretrained`."""
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    model = LlamaForCausalLM.from_pretrained(str(folder), dtype=dtype or torch.float32, **kwargs)
    tok = PreTrainedTokenizerFast.from_pretrained(str(folder))
    return model.eval(), tok
