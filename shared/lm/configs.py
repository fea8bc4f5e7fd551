"""Tiny from-scratch causal LMs: transformers' Llama classes with small configs (RoPE, RMSNorm, SwiGLU, tied embeddings).

`small` and `large` share the project BPE tokenizer (vocab 8,192), so they form a same-tokenizer small/large pair
(speculative decoding, routing, weak-to-strong). Parameter counts with vocab 8,192: small ~2.1M, large ~8.4M.
"""

CONFIGS = {
    # name: d_model, layers, heads, MLP width, context
    "micro": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
              "max_position_embeddings": 64},  # for tests: trains in seconds
    "small": {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512,
              "max_position_embeddings": 256},
    "large": {"hidden_size": 256, "num_hidden_layers": 6, "num_attention_heads": 8, "intermediate_size": 1024,
              "max_position_embeddings": 256},
}  # fmt: skip


def make_config(name: str, vocab_size: int, bos_token_id: int = 1, eos_token_id: int = 2, pad_token_id: int = 0):
    """A `LlamaConfig` for one of `CONFIGS`, with the tokenizer's vocabulary size and special ids."""
    from transformers import LlamaConfig

    if name not in CONFIGS:
        raise KeyError(f"unknown tiny-LM config {name!r}; known: {sorted(CONFIGS)}")
    c = CONFIGS[name]
    return LlamaConfig(
        vocab_size=vocab_size,
        num_key_value_heads=c["num_attention_heads"],
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        **c,
    )


def make_model(name: str, vocab_size: int, seed: int = 0, **special_ids):
    """A freshly initialised `LlamaForCausalLM` (seeded, so two runs start from the same weights)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(make_config(name, vocab_size, **special_ids))


def count_params(model, embeddings: bool = True) -> int:
    """Trainable parameters; tied embeddings counted once. `embeddings=False` leaves out the token embedding."""
    n = sum(p.numel() for p in model.parameters())
    if not embeddings:
        n -= model.get_input_embeddings().weight.numel()
    return n
