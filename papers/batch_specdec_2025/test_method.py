"""Tests of papers.batch_specdec_2025.method, on a tiny random Llama (the engine's own tests cover the decoders)."""

import pytest
import torch

from papers.batch_specdec_2025.claims import CLAIMS
from papers.batch_specdec_2025.method import PROMPTS, equivalence, int8_draft, realign_copies, regroup_copies
from shared.claims import Measurement
from shared.speculative import batch as engine


def _tiny():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2)).eval()  # fmt: skip


def test_equivalence_counts_exact_rows():
    assert equivalence([[1, 2], [3]], [[1, 2], [4]]) == 0.5
    assert equivalence([[1]], [[1, 2]]) == 0.0


def test_int8_draft_is_close_but_not_identical():
    model = _tiny()
    draft = int8_draft(model)
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():
        a, b = model(ids).logits, draft(ids).logits
    assert not torch.equal(a, b)
    assert (a - b).abs().max() < 0.1 * a.abs().max()
    assert len(PROMPTS) >= 8


PROMPTS_TINY = [[3, 7, 9, 11, 2], [5, 6, 1], [8, 8, 4, 12, 30], [9, 2, 14, 1, 7, 33, 5]]


def test_realign_copies_match_what_the_engine_gathers(monkeypatch):
    target = _tiny()
    draft = int8_draft(target)
    seen = []
    keep = engine._Batch.keep

    def counting_keep(self, keep_new, n_new, mode):
        keep(self, keep_new, n_new, mode)
        if self.model is target:
            seen.append(self.B * self.valid.shape[1])

    monkeypatch.setattr(engine._Batch, "keep", counting_keep)
    run = engine.batch_generate(target, draft, PROMPTS_TINY, 12, 3, "realign")
    assert realign_copies(PROMPTS_TINY, run.accepted) == sum(seen) > 0


def test_regroup_copies_match_what_the_engine_concatenates(monkeypatch):
    target = _tiny()
    draft = int8_draft(target)
    seen = []
    kv = engine._kv

    def counting_kv(batch, li, which):
        t = kv(batch, li, which)
        if batch.model is target and li == 0 and which == "keys":
            seen.append(t.shape[2])
        return t

    monkeypatch.setattr(engine, "_kv", counting_kv)
    run = engine.exspec_generate(target, draft, PROMPTS_TINY, 12, 3, batch_size=4)
    assert regroup_copies(PROMPTS_TINY, run.accepted, 12, 4) == sum(seen) > 0


def test_copy_counts_reject_acceptances_of_another_run():
    with pytest.raises(ValueError):
        realign_copies(PROMPTS_TINY, [1, 2, 3])
    with pytest.raises(ValueError):
        regroup_copies(PROMPTS_TINY, [0] * 3, 12, 4)


def test_exspec_overhead_can_fail():
    # a placebo: EXSPEC rows that accept nothing take many more steps than EQSPEC rows that accept everything
    prompts = [[1] * 30, [2] * 31]
    eq = realign_copies(prompts, [3, 3] * 3)
    ex = regroup_copies(prompts, [0] * 24, 12, 2)
    claim = next(c for c in CLAIMS if c.id == "exspec-overhead")
    assert claim.evaluate(Measurement.exact(ex / eq))["verdict"] == "not reproduced"
