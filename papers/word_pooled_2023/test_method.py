"""Tests of papers.word_pooled_2023.method: word splitting and the test set, the exact-match parser, greedy decoding on
a model with a known answer, BPE contexts that end at word ends, the log ratio, and that every claim's rule can
fail."""

import math
from collections import Counter

import numpy as np
import pytest
import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from papers.word_pooled_2023 import method
from papers.word_pooled_2023.claims import CLAIMS
from shared.claims import Measurement, rule_can_fail
from shared.lm import hierarchy as H
from shared.lm.bpe import train_bpe

TEXT = b"in the beginning god created the heaven and the earth.\nand the earth was without form, and void;\n" * 40


class Writes(torch.nn.Module):
    """A fake causal LM that writes `pattern` over and over, whatever the context (position by generated length)."""

    def __init__(self, pattern: bytes, context: int, vocab: int = 256):
        super().__init__()
        self.pattern, self.context, self.vocab = list(pattern), context, vocab

    def forward(self, input_ids, **_):
        B, T = input_ids.shape
        k = T - self.context  # bytes generated so far
        logits = torch.zeros(B, T, self.vocab)
        logits[:, -1, self.pattern[k % len(self.pattern)]] = 1.0
        return CausalLMOutputWithPast(logits=logits)


def test_words_and_counts():
    assert method.words(b"ab  cd\nef") == [(0, 2), (4, 6), (7, 9)]
    c = method.word_counts(b"the cat, the dog\nthe")
    assert c[b"the"] == 3 and c[b"cat,"] == 1 and b"cat" not in c


@pytest.mark.parametrize("text, word", [(b" the land", b"the"), (b"\n\nAnd ", b"And"), (b"earth.\n", b"earth."),
                                        (b" the", None), (b"   ", None), (b"", None)])  # fmt: skip
def test_first_word_needs_a_complete_word(text, word):
    assert method.first_word(text) == word


def test_word_done():
    gen = torch.tensor([list(b" ab "), list(b"  ab"), list(b"ab\nc"), list(b"    ")])
    assert method.word_done(gen).tolist() == [True, False, True, False]


def test_eval_positions():
    counts = method.word_counts(TEXT[: len(TEXT) // 2])
    counts[b"void;"] = 3  # make one word rare
    items = method.eval_positions(TEXT, counts, 16, 30, 10, 5, 20, seed=0)
    assert items == method.eval_positions(TEXT, counts, 16, 30, 10, 5, 20, seed=0)  # deterministic
    assert sum(it["sample"] == "all" for it in items) == 30
    rare = [it for it in items if it["sample"] == "rare"]
    assert len(rare) == 10 and all(it["target"] == b"void;" and it["count"] == 3 for it in rare)
    for it in items:
        assert it["cut"] >= 64 and TEXT[it["cut"] :].split(maxsplit=1)[0] == it["target"]
        assert TEXT[it["cut"] - 1 : it["cut"]].strip()  # the cut is at the end of a word


def test_greedy_decoding_and_hits_on_a_known_model():
    items = method.eval_positions(TEXT, method.word_counts(TEXT), 16, 40, 0, 1, 20, seed=1)
    writes_the = Writes(b" the ", 16)
    hits = method.next_word_hits_bytes(writes_the, TEXT, items, 16, 8)
    expected = np.array([it["target"] == b"the" for it in items])
    assert hits.any() and (~hits).any() and np.array_equal(hits, expected)
    gen = method.greedy_continue(writes_the, method.byte_contexts(TEXT, items[:3], 16), 8, stop=method.word_done)
    assert bytes(gen[0, :5].tolist()) == b" the " and int(gen[0, 5:].abs().sum()) == 0  # stopped early
    never = method.next_word_hits_bytes(Writes(b"x", 16), TEXT, items, 16, 8)
    assert not never.any()  # no whitespace ever: no complete word, no hit


def test_bpe_contexts_end_at_word_ends():
    docs = TEXT.decode().splitlines()
    tok = train_bpe(docs, vocab_size=300)
    ids = torch.tensor(tok.encode(TEXT.decode()).ids)
    from papers.hnet_2025.method import token_byte_lengths

    offsets = method.token_offsets(ids, token_byte_lengths(tok))
    assert offsets[-1] == len(TEXT)
    items = method.eval_positions(TEXT, method.word_counts(TEXT), 16, 50, 0, 1, 20, seed=2)
    ctx, misaligned = method.bpe_contexts(ids, offsets, items, 6)
    assert misaligned == 0 and ctx.shape == (50, 6)
    for row, it in zip(ctx, items):
        assert tok.decode(row.tolist()).encode() == TEXT[it["cut"] - len(tok.decode(row.tolist()).encode()) : it["cut"]]
    with pytest.raises(ValueError):
        method.bpe_contexts(ids, offsets, items, 10**6)


def test_unigram_and_log_ratio():
    items = [{"target": b"the"}, {"target": b"and"}, {"target": b"the"}]
    assert method.unigram_hits(Counter({b"the": 5, b"and": 2}), items).tolist() == [True, False, True]
    assert method.log_ratio(0, 0) == 0.0
    assert method.log_ratio(9.5, 1.5) == pytest.approx(math.log(5.0))
    assert method.log_ratio(0, 10) < 0


def test_every_rule_can_fail():
    for claim in CLAIMS:
        assert rule_can_fail(claim.rule)
        worse = Measurement.t_mean([-0.4, -0.3, -0.5, -0.35, -0.45])  # the baseline wins on every seed
        assert claim.rule.judge(worse)[0] == "not reproduced"
        tie = Measurement.t_mean([0.1, -0.1, 0.05, -0.05, 0.0])
        assert claim.rule.judge(tie)[0] == "inconclusive"


def _spec(router="space"):
    return H.ChunkSpec(vocab_size=256, hidden_size=16, heads=2, encoder_layers=1, main_layers=1, decoder_layers=1,
                       main_hidden=32, router=router, context=64)  # fmt: skip


def test_word_end_chunks_start_at_delimiters():
    ids = torch.tensor([list(b"ab cd\nef g")])
    starts = method.word_end_starts(ids, (32, 10))
    assert starts[0].nonzero().flatten().tolist() == [0, 2, 5, 8]
    model = method.make_word_end(_spec(), seed=0)
    with torch.no_grad():
        model(input_ids=ids)
    assert torch.equal(model.last["starts"], starts)
    with pytest.raises(ValueError):
        method.make_word_end(_spec("stride"))


def test_word_end_model_is_causal_and_its_word_state_reaches_the_next_word():
    model = method.make_word_end(_spec(), seed=1).eval()
    a = torch.tensor([list(b"the cat sat on the mat ok")])
    b = a.clone()
    b[0, 12:] = torch.tensor(list(b"xx yy zzzzzzz"))  # change everything from byte 12 on
    with torch.no_grad():
        la, lb = model(input_ids=a).logits, model(input_ids=b).logits
    assert torch.allclose(la[0, :12], lb[0, :12], atol=1e-6)  # earlier predictions do not see later bytes
    # through the main network alone (no decoder, no residual), the prediction made at the space after "cat" (byte 7)
    # reads the whole word "cat": it changes with the word's last letter; the engine's `space` router (chunks start
    # after the space) pools at the word's first byte, so there the same prediction does not see the last letter
    c = a.clone()
    c[0, 6] = ord("r")  # "car"
    for m, sees_last_letter in ((model, True), (H.make_chunked(_spec(), seed=1).eval(), False)):
        m.decoder = None
        with torch.no_grad():
            m.residual.weight.zero_()
            la, lc = m(input_ids=a).logits, m(input_ids=c).logits
        assert torch.allclose(la[0, :6], lc[0, :6], atol=1e-6)
        assert (not torch.allclose(la[0, 7], lc[0, 7], atol=1e-6)) == sees_last_letter
