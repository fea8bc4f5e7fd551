"""MrT5's delete gate on a small byte encoder-decoder (`shared.lm.deletion`): the span-corruption objective, hard
deletion against soft deletion with the same mask, the regulariser's pull, and the rate controller."""

import numpy as np
import pytest
import torch

from shared.lm import deletion as D

SPEC = D.GateSpec(hidden_size=32, heads=4, encoder_layers=3, gate_layer=1, decoder_layers=1, context=96,
                  target_context=64)  # fmt: skip
TEXT = b"the quick brown fox jumps over the lazy dog; a stitch in time saves nine. "


def test_span_corruption_hides_spans_behind_sentinels_and_the_target_restores_them():
    rng = np.random.default_rng(0)
    inp, tgt = D.span_corrupt(TEXT, 0.15, 3.0, SPEC, rng)
    assert inp[-1] == tgt[-1] == SPEC.eos_id
    sentinels = [i for i in inp if i >= SPEC.sentinel_start]
    assert sentinels == [i for i in tgt if i >= SPEC.sentinel_start] and len(sentinels) >= 1
    # filling each sentinel of the input with its target span gives the text back
    spans, cur = {}, None
    for i in tgt[:-1]:
        if i >= SPEC.sentinel_start:
            cur = i
            spans[cur] = []
        else:
            spans[cur].append(i)
    restored = [b for i in inp[:-1] for b in (spans[i] if i >= SPEC.sentinel_start else [i])]
    assert bytes(restored) == TEXT
    hidden = sum(len(v) for v in spans.values())
    assert abs(hidden - round(0.15 * len(TEXT))) <= 1
    with pytest.raises(ValueError):
        D.span_corrupt(b"a", 0.15, 3.0, SPEC, rng)


def _batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [D.span_corrupt(TEXT[i : i + 60], 0.15, 3.0, SPEC, rng) for i in range(n)]
    return D.collate(pairs, SPEC)


def test_hard_deletion_equals_soft_deletion_with_the_same_mask():
    model = D.make_gated(SPEC, seed=0).eval()
    b = _batch()
    g = torch.Generator().manual_seed(0)
    delete = torch.rand(b["input_ids"].shape, generator=g) < 0.5
    with torch.no_grad():
        soft = model(b["input_ids"], b["decoder_input_ids"], hard=False, delete=delete)
        hard = model(b["input_ids"], b["decoder_input_ids"], hard=True, delete=delete)
    torch.testing.assert_close(hard, soft, atol=1e-5, rtol=1e-4)
    valid = b["input_ids"] != SPEC.pad_id
    assert model.last["kept_length"].tolist() == (valid & ~delete).sum(1).tolist()
    # deleting nothing changes nothing; deleting changes the output
    with torch.no_grad():
        none = model(b["input_ids"], b["decoder_input_ids"], hard=True, delete=torch.zeros_like(delete))
        full = model(b["input_ids"], b["decoder_input_ids"], hard=False, delete=torch.zeros_like(delete))
    torch.testing.assert_close(none, full, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(hard, none, atol=1e-3)


def test_the_regulariser_pulls_the_gate_towards_deletion_and_the_controller_answers_the_rate():
    ctl = D.RateController(target=0.5)
    assert ctl.update(0.1) > 0 and ctl.update(0.9) == 0.0  # too little deletion raises alpha; too much drops it to 0
    with pytest.raises(ValueError):
        ctl.update(float("nan"))
    b = _batch(6, seed=2)
    grads = {}
    for alpha in (0.0, 1.0):
        model = D.make_gated(SPEC, seed=0)
        model.alpha = alpha
        D.gated_loss(model, b).backward()
        grads[alpha] = model.gate.bias.grad.item()
        last = model.last
    # d(alpha x mean G)/d bias = k x mean over deletable bytes of sigma'(z), scaled by their share of non-padding ids
    deletable = (b["input_ids"] < D.BYTES)
    z = torch.logit(last["gate"][deletable] / SPEC.k)
    expected = SPEC.k * (torch.sigmoid(z) * (1 - torch.sigmoid(z))).sum() / last["valid"].sum()
    assert grads[1.0] - grads[0.0] == pytest.approx(expected.item(), rel=1e-3)
    assert grads[1.0] < grads[0.0]  # descending it raises the bias: G moves towards k, towards deletion


def test_a_forced_mask_deletes_exactly_and_never_sentinels_or_eos_under_the_gate():
    model = D.make_gated(SPEC, seed=0).eval()
    with torch.no_grad():
        model.gate.bias.fill_(20.0)  # a gate that deletes every byte it may
    b = _batch(4, seed=3)
    with torch.no_grad():
        model(b["input_ids"], b["decoder_input_ids"], hard=True)
    special = (b["input_ids"] > D.BYTES)  # eos and sentinels
    assert model.last["kept_length"].tolist() == special.sum(1).tolist()
    assert D.deletion_rate(model.last) == pytest.approx(float((b["input_ids"] < D.BYTES).sum() /
                                                               (b["input_ids"] != SPEC.pad_id).sum()))  # fmt: skip


def test_spec_errors():
    with pytest.raises(ValueError, match="gate_layer"):
        D.GateSpec(encoder_layers=2, gate_layer=2).validate()
    with pytest.raises(ValueError, match="k must be negative"):
        D.GateSpec(k=1.0).validate()
    with pytest.raises(ValueError, match="longer than the model's context"):
        D.collate([([1] * 200, [2])], SPEC)
