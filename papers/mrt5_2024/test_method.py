"""Tests of papers.mrt5_2024.method (the controls' masks, the arms' objectives, the data) and of the claims' rules:
each rule can say *not reproduced*, and a control that does as well as the gate sinks the claim."""

import numpy as np
import pytest
import torch

from papers.mrt5_2024 import method
from papers.mrt5_2024.claims import CLAIMS
from shared.claims import Measurement
from shared.lm import deletion as D

SPEC = D.GateSpec(hidden_size=32, heads=4, encoder_layers=3, gate_layer=1, decoder_layers=1, context=96,
                  target_context=64)  # fmt: skip
TEXT = b"the quick brown fox jumps over the lazy dog; a stitch in time saves nine. " * 2


def _batch(n=4, seed=0):
    return D.collate(method.corrupt_all([TEXT[i : i + 60] for i in range(n)], 0.15, 3.0, SPEC, seed), SPEC)


def test_stride_mask_deletes_every_second_byte_and_never_specials():
    b = _batch()
    ids = b["input_ids"]
    ok = method.deletable(ids, SPEC)
    m = method.stride_mask(ids, 0.5, SPEC)
    assert not (m & ~ok).any()
    for row_ok, row_m in zip(ok, m):
        picked = row_m[row_ok].tolist()
        assert picked == [j % 2 == 1 for j in range(len(picked))]  # j = 1, 3, 5, ...: the first byte is kept
    for rate in (0.25, 0.6, 0.9):
        m = method.stride_mask(ids, rate, SPEC)
        assert (m.sum(1) - ok.sum(1) * rate).abs().max() <= 1.0
    assert not method.stride_mask(ids, 0.0, SPEC).any()
    assert torch.equal(method.stride_mask(ids, 1.0, SPEC), ok)


def test_random_mask_share_and_specials():
    ids = torch.randint(0, 256, (64, 100))
    ids[:, -1] = SPEC.eos_id
    ids[:, 10] = SPEC.sentinel_start
    m = method.random_mask(ids, 0.6, SPEC, torch.Generator().manual_seed(0))
    assert not m[:, -1].any() and not m[:, 10].any()
    share = m.sum().item() / method.deletable(ids, SPEC).sum().item()
    assert abs(share - 0.6) < 0.02


def test_forced_loss_keep_all_is_plain_cross_entropy_and_deleting_changes_it():
    model = D.make_gated(SPEC, seed=0)
    b = _batch()
    keep = method.forced_loss(lambda ids: torch.zeros_like(ids, dtype=torch.bool))(model, b)
    logits = model(b["input_ids"], b["decoder_input_ids"], delete=torch.zeros_like(b["input_ids"], dtype=torch.bool))
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(), ignore_index=-100)
    assert keep.item() == pytest.approx(ce.item(), rel=1e-6)
    gone = method.forced_loss(lambda ids: method.deletable(ids, SPEC))(model, b)
    assert abs(gone.item() - keep.item()) > 1e-4


def test_controlled_loss_sets_alpha_from_the_previous_rate():
    model = D.make_gated(SPEC, seed=0)
    trace = []
    fn = method.controlled_loss(D.RateController(0.6, kp=0.1, ki=0.0), trace)
    b = _batch()
    fn(model, b)
    assert model.alpha == 0.0  # the first step: no rate measured yet
    fn(model, b)
    assert model.alpha == pytest.approx(0.1 * (0.6 - trace[0][0]))  # the untrained gate deletes nothing: alpha > 0
    assert model.alpha > 0 and len(trace) == 2


def test_unigram_reference():
    pairs = [([1], [5, 5, 5, 7])] * 10
    # add-one smoothing over 8 ids: p(5) = 31 / 48
    assert method.unigram_nats(pairs, [([1], [5])], 8) == pytest.approx(-np.log(31 / 48))
    assert method.unigram_nats(pairs, [([1], [6])], 8) == pytest.approx(-np.log(1 / 48))


def test_windows_and_parallel_windows():
    w = method.windows(["abc", "def"], 3)
    assert w == [b"abc", b"\nde"]  # the trailing short window is dropped
    msgs = [{"en": "a" * 30, "de": "b" * 50}, {"en": "c" * 30, "de": "d" * 50}, {"en": "e" * 10, "de": "f" * 200}]
    pw = method.parallel_windows(msgs, ("en", "de"), 120)
    assert pw == [{"en": b"a" * 30 + b"\n" + b"c" * 30, "de": b"b" * 50 + b"\n" + b"d" * 50}]  # the 200-byte one skipped
    assert all(max(len(x) for x in v.values()) <= 120 for v in pw)


def test_parallel_messages_are_aligned():
    msgs = method.parallel_messages(("de", "fr"), domains=("glib20",))
    assert len(msgs) > 500 and all(set(m) == {"en", "de", "fr"} for m in msgs)


def test_each_rule_can_fail_and_a_control_can_sink_the_claim():
    by_id = {c.id: c for c in CLAIMS}
    passing = {"gate-deletes-most": 0.6, "model-learned": 0.5, "model-reads-input": 0.5,
               "model-reads-other-languages": 0.5, "gate-deletes-on-parallel-english": 0.6}  # fmt: skip
    big = Measurement.t_mean([0.3, 0.32, 0.31, 0.29, 0.33], n_unit="seeds")
    small = Measurement.t_mean([0.01, 0.012, 0.011, 0.009, 0.013], n_unit="seeds")
    margin_pos = Measurement.t_mean([0.1, 0.12, 0.11, 0.09, 0.1], n_unit="seeds")
    margin_neg = Measurement.t_mean([-0.1, -0.12, -0.11, -0.09, -0.1], n_unit="seeds")
    for cid in ("loss-cost-small", "transfer-loss-cost"):
        c = by_id[cid]
        assert c.evaluate(big, control=margin_pos, checks=passing)["verdict"] == "not reproduced"
        assert c.evaluate(small, control=margin_pos, checks=passing)["verdict"] == "reproduced"
        # random or stride deletion doing as well: the learned gate explains nothing
        assert c.evaluate(small, control=margin_neg, checks=passing)["verdict"] == "not reproduced"
        # a model that ignores its input: inconclusive, never reproduced
        blind = dict(passing, **{"model-reads-input": 0.01, "model-reads-other-languages": 0.01})
        assert c.evaluate(small, control=margin_pos, checks=blind)["verdict"] == "inconclusive"
    c = by_id["transfer-rate"]
    low = Measurement.t_mean([0.1, 0.12, 0.11, 0.09, 0.1], n_unit="seeds")
    high = Measurement.t_mean([0.95, 0.97, 0.96, 0.94, 0.95], n_unit="seeds")
    assert c.evaluate(low, checks=passing)["verdict"] == "not reproduced"
    assert c.evaluate(high, checks=passing)["verdict"] == "reproduced"
    assert c.evaluate(high, checks=dict(passing, **{"gate-deletes-most": 0.1}))["verdict"] == "inconclusive"
    # a gate on a model that ignores its input learns a content-blind rule that transfers by construction
    assert c.evaluate(high, checks=dict(passing, **{"model-reads-input": 0.02}))["verdict"] == "inconclusive"


def test_fresh_gate_redraws_only_the_gate():
    model = D.make_gated(SPEC, seed=0)
    with torch.no_grad():
        model.gate.bias.fill_(5.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    method.fresh_gate(model, seed=3)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"gate.weight", "gate.bias"}
    assert after["gate.bias"].item() == -2.0
    other = D.make_gated(SPEC, seed=0)
    method.fresh_gate(other, seed=3)
    assert torch.equal(other.gate.weight, after["gate.weight"])  # the seed decides the draw
