"""Tests of papers.tokenselect_2024.method: the compared policies, the passkey prompts and their score."""

import math

import pytest
import torch

from papers.tokenselect_2024.method import compared_policies, digit_accuracy, passkey_batch, ppl_after
from shared.kvcache import HeavyHitter, SinkWindow, TokenSelect


class _CharTokenizer:
    """One token per character: digits are single tokens, as in SmolLM2's tokenizer."""

    def __call__(self, text, add_special_tokens=False):
        return type("Enc", (), {"input_ids": [ord(c) for c in text]})()

    def decode(self, ids):
        return "".join(map(chr, ids))


def test_compared_policies_share_one_budget():
    p = compared_policies(40, n_sink=4, n_recent=8)
    assert isinstance(p["TokenSelect"], TokenSelect) and p["TokenSelect"].threshold is None
    assert p["TokenSelect"].n_recent == 8 and p["TokenSelect"].n_sink == 4
    assert isinstance(p["StreamingLLM"], SinkWindow) and p["StreamingLLM"].n_sink == 4
    assert isinstance(p["H2O"], HeavyHitter) and p["H2O"].n_recent == 20
    assert {q.budget for q in p.values()} == {40}


def test_passkey_batch_plants_the_fact_and_ends_with_the_digits():
    tok = _CharTokenizer()
    filler = [ord("x")] * 500
    ids = passkey_batch(tok, filler, [12345, 67890], [0.0, 0.5], n_filler=100)
    assert ids.shape[0] == 2
    text = [tok.decode(r) for r in ids.tolist()]
    assert text[0].startswith(" The pass key is 12345.") and text[0].endswith("The pass key is 12345")
    assert text[1][:50] == "x" * 50 and text[1][50:].startswith(" The pass key is 67890.")
    with pytest.raises(ValueError):
        passkey_batch(tok, filler, [1234], [0.5], n_filler=100)  # 4 digits
    with pytest.raises(ValueError):
        passkey_batch(tok, filler, [12345, 12345, 12345, 12345, 12345], [0.5] * 5, n_filler=200)  # filler too short


def test_digit_accuracy_known_answer():
    ids = torch.tensor([[9, 1, 2, 3, 4, 5, 6], [9, 1, 2, 3, 4, 5, 6]])  # the last 5 tokens are the answer
    logits = torch.zeros(2, 7, 10)
    for t in range(6):
        logits[:, t, ids[0, t + 1]] = 1.0  # position t predicts token t+1 correctly
    logits[1, 3, 0] = 5.0  # sample 1 gets one answer digit wrong
    assert digit_accuracy(logits, ids).tolist() == pytest.approx([1.0, 0.8])


def test_ppl_after_known_answer():
    nll = torch.tensor([[9.0, math.log(2), math.log(2)], [0.0, math.log(4), math.log(4)]])
    assert ppl_after(nll, 1).tolist() == pytest.approx([2.0, 4.0])
