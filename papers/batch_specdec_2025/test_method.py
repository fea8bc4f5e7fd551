"""Tests of papers.batch_specdec_2025.method, on a tiny random Llama (the engine's own tests cover the decoders)."""

import pytest
import torch

from papers.batch_specdec_2025.claims import CLAIMS
from papers.batch_specdec_2025.method import (
    PROMPTS,
    equivalence,
    int8_draft,
    is_greedy,
    realign_copies,
    regroup_copies,
    task_prompts,
)
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


def test_is_greedy_accepts_greedy_and_rejects_a_changed_token():
    model = _tiny()
    prompt = [3, 7, 9, 11, 2]
    ref = engine.greedy_reference(model, prompt, 6)
    assert is_greedy(model, prompt, ref)
    assert is_greedy(model, prompt, [])
    assert not is_greedy(model, prompt, ref[:-1] + [(ref[-1] + 1) % 64])


def test_task_prompts_are_seeded_mixed_and_differ_in_length():
    class Tok:
        chat_template = "yes"

        def apply_chat_template(self, messages, add_generation_prompt=True):
            return [1] + [ord(c) % 50 for c in messages[0]["content"]] + [2]

    ids, qs = task_prompts(Tok(), 12, 0)
    again, _ = task_prompts(Tok(), 12, 0)
    other, _ = task_prompts(Tok(), 12, 1)
    assert ids == again and ids != other
    assert len(set(qs)) == 12 and len({len(p) for p in ids}) > 1


def _verdict(claim_id, k, n=208):
    claim = next(c for c in CLAIMS if c.id == claim_id)
    checks = {p.id: Measurement.exact(1.0) for p in claim.preconditions}
    return claim.evaluate(Measurement.exact(k / n, n=n), checks=checks)["verdict"]


def test_equivalence_bar_tolerates_two_misses_in_208_and_can_fail():
    for cid in ("eqspec-equivalence", "exspec-equivalence"):
        assert _verdict(cid, 208) == _verdict(cid, 206) == "reproduced"
        assert _verdict(cid, 205) == "partially reproduced"
        assert _verdict(cid, 180) == "not reproduced"


def test_realign_overhead_is_inconclusive_on_a_cpu_and_can_fail_on_a_gpu():
    claim = next(c for c in CLAIMS if c.id == "realign-overhead")
    small = Measurement.mean([0.02, 0.03, 0.025, 0.028, 0.031], bounds=(0.0, 1.0))
    cpu = claim.evaluate(small, checks={"accelerator": Measurement.exact(0.0)})
    gpu = claim.evaluate(small, checks={"accelerator": Measurement.exact(1.0)})
    assert cpu["verdict"] == "inconclusive"
    assert gpu["verdict"] == "not reproduced"
    big = Measurement.mean([0.38, 0.41, 0.40, 0.42, 0.39], bounds=(0.0, 1.0))
    assert claim.evaluate(big, checks={"accelerator": Measurement.exact(1.0)})["verdict"] == "reproduced"
