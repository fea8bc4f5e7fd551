"""Tests of the switching source, the unigram-over-tokens score, and the transformer's spec, training settings and
per-character score (the family model and the trainer themselves are tested in tests/lm)."""

import math

import numpy as np
import pytest
import torch

from papers.tokenization_theory_2024.method import (
    SwitchingSource,
    binary_entropy,
    bits_per_char,
    chunks,
    encode_chunked,
    lm_spec,
    lm_train_config,
    matched_steps,
    to_text,
    unigram_ce_per_char,
)
from shared.lm.family import make_model
from shared.lm.trainer import lr_at
from shared.tokenization import train


def test_closed_forms():
    assert binary_entropy(0.5) == 1 and binary_entropy(0.0) == 0
    s = SwitchingSource(2, 0.8, 0.8)
    assert s.stationary == (0.5, 0.5) and s.unigram_entropy == 1
    assert s.entropy_rate == pytest.approx(0.7219280948873623)
    t = SwitchingSource(3, 0.2, 0.6)
    assert t.stationary == pytest.approx((0.75, 0.25))
    assert t.entropy_rate == pytest.approx(0.75 * binary_entropy(0.2) + 0.25 * binary_entropy(0.6))


@pytest.mark.parametrize("k,p,q", [(1, 0.3, 0.6), (2, 0.8, 0.8), (4, 0.1, 0.9)])
def test_sample_statistics_match_the_definition(k, p, q):
    # 400k draws: flip frequencies within 5 standard errors of p and q, log-loss within 2% of the entropy rate
    s = SwitchingSource(k, p, q)
    x = s.sample(400_000, np.random.default_rng(0))
    prev, cur = x[:-k], x[k:]
    for state, rate in ((0, p), (1, q)):
        sel = prev == state
        freq = (cur[sel] != state).mean()
        assert abs(freq - rate) < 5 * math.sqrt(rate * (1 - rate) / sel.sum())
    assert x.mean() == pytest.approx(s.stationary[1], abs=0.01)
    assert s.optimal_ce(x) == pytest.approx(s.entropy_rate, rel=0.02)


def test_unigram_over_character_tokens_is_the_character_entropy():
    ids = [0, 1, 1, 1] * 100
    assert unigram_ce_per_char(ids, ids, 400, 2) == pytest.approx(binary_entropy(0.75), abs=0.01)
    # a token spelling 4 characters, always the same: almost free per character
    assert unigram_ce_per_char([5] * 100, [5] * 100, 400, 8) < 0.05


def test_bpe_on_the_source_compresses_and_round_trips():
    text = to_text(SwitchingSource(2, 0.8, 0.8).sample(50_000, np.random.default_rng(1)))
    tok = train(chunks(text, 64), 64, pretokenizer="none", alphabet=["0", "1"])
    ids = encode_chunked(tok, text[:10_000])
    assert tok.decode_bytes(ids) == text[:10_000].encode()
    assert 10_000 / len(ids) > 4  # 64 tokens compress this source more than 4x


def test_lm_is_causal_with_every_token_trainable_and_bits_per_char_is_a_per_char_log_loss():
    model = make_model(lm_spec(5, ctx=16, dim=16, layers=1), seed=0).eval()
    assert model.model.embed_tokens.padding_idx is None  # token 0 (the character "0") is data, not padding
    assert not any(n.endswith(".bias") for n, _ in model.named_parameters() if "norm" not in n)
    x = torch.randint(0, 5, (2, 16), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 1) % 5
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=x).logits[:, :10], model(input_ids=y).logits[:, :10])
    # a zero output layer gives uniform logits: log2(5) bits per token, 1 token per char
    with torch.no_grad():
        model.lm_head.weight.zero_()
    ids = np.random.default_rng(0).integers(0, 5, 1000)
    assert bits_per_char(model, ids, 1000, 16) == pytest.approx(math.log2(5), rel=1e-5)
    # 2 characters per token: half the bits per character
    assert bits_per_char(model, ids, 2000, 16) == pytest.approx(math.log2(5) / 2, rel=1e-5)


def test_train_config_is_the_one_cycle_equivalent():
    cfg = lm_train_config(200, 16, 64, 3e-3, seed=4)
    assert (cfg.warmup, cfg.weight_decay, cfg.min_lr_ratio, cfg.threads, cfg.seed) == (20, 0.0, 0.0, 1, 4)
    assert max(lr_at(s, cfg) for s in range(200)) == pytest.approx(3e-3)
    assert lr_at(0, cfg) < 2e-4 and lr_at(199, cfg) < 1e-6  # starts low, ends at ~0 as one-cycle does


def test_matched_steps_equalise_training_characters():
    # a character model's 200 steps of b x w characters = a token model's 200 / cpt steps of b x w tokens
    assert matched_steps(200, 1.0) == 200
    assert matched_steps(200, 6.4) == 31 and matched_steps(1500, 6.0) == 250
    assert matched_steps(3, 50.0) == 1
    for cpt in (1.0, 2.5, 6.37, 7.9):
        assert abs(matched_steps(200, cpt) * cpt - 200) <= cpt / 2 + 1e-9
    with pytest.raises(ValueError):
        matched_steps(200, 0.5)
