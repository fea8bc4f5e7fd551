"""Tiny random-init transformers models for the engine's tests (fast, no downloads)."""

import pytest
import torch


def tiny_llama(seed: int, layers: int = 2, vocab: int = 64, hidden: int = 32):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)  # fmt: skip
    model = LlamaForCausalLM(cfg).eval()
    # random init gives near-uniform next-token distributions: sharpen them so that greedy decoding has clear argmaxes
    with torch.no_grad():
        model.lm_head.weight.mul_(20)
    return model


@pytest.fixture(scope="module")
def llama_pair():
    """(target, draft): a tiny 3-layer Llama and its first layer as an early-exit draft (they agree often enough for
    ragged acceptance)."""
    from shared.speculative.models import truncated_draft

    target = tiny_llama(0, layers=3)
    return target, truncated_draft(target, 1)


@pytest.fixture(scope="module")
def sampling_pair():
    """(target, draft): two unrelated tiny random Llamas over 6 tokens with soft distributions (several tokens keep
    mass), for sampling tests that enumerate every outcome."""
    target, draft = tiny_llama(3, layers=2, vocab=6), tiny_llama(4, layers=1, vocab=6)
    with torch.no_grad():
        target.lm_head.weight.mul_(0.15)
        draft.lm_head.weight.mul_(0.15)
    return target, draft
