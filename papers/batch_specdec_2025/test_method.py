"""Tests of papers.batch_specdec_2025.method, on a tiny random Llama (the engine's own tests cover the decoders)."""

import torch

from papers.batch_specdec_2025.method import PROMPTS, equivalence, int8_draft


def test_equivalence_counts_exact_rows():
    assert equivalence([[1, 2], [3]], [[1, 2], [4]]) == 0.5
    assert equivalence([[1]], [[1, 2]]) == 0.0


def test_int8_draft_is_close_but_not_identical():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2)).eval()  # fmt: skip
    draft = int8_draft(model)
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():
        a, b = model(ids).logits, draft(ids).logits
    assert not torch.equal(a, b)
    assert (a - b).abs().max() < 0.1 * a.abs().max()
    assert len(PROMPTS) >= 8
