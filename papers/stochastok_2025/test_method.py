"""Tests of the experiment around StochasTok: games, word split, padding and scoring (the expansion itself is tested in
tests/tokenization/test_tok_stochastok.py)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from papers.stochastok_2025 import method
from shared.tokenization import train

DOCS = ["the water of the river", "water, water everywhere and the river ran", "a quiet river"] * 20


@pytest.fixture(scope="module")
def tok():
    return train(DOCS + ["a b c d e f g h i j k l m n o p q r s t u v w x y z ="], 300, name="tiny")


def test_game_words_by_frequency():
    # water 60, river 60 (tie broken alphabetically), quiet 20, everywhere 20 (10 letters); "the", "ran" too short
    assert method.game_words(DOCS, 3) == ["river", "water", "quiet"]
    assert method.game_words(DOCS, 3, max_len=10) == ["river", "water", "everywhere"]
    assert method.game_words(DOCS, 10, min_len=6) == []


def test_games_spell_the_expected_text(tok):
    game = method.language_games(tok, ["water", "river"], ["first", "last", "spell"])
    texts = [(tok.decode_bytes(p).decode(), tok.decode_bytes(a).decode()) for p, a in zip(game.prompts, game.answers)]
    assert texts[0] == (" water first =", " w\n") and texts[3] == (" river last =", " r\n")
    assert texts[4] == (" water spell =", " w a t e r\n")
    assert game.task == ["first", "first", "last", "last", "spell", "spell"] and len(game) == 6


def test_encode_docs_joins_with_newlines(tok):
    ids = method.encode_docs(tok, ["the river", "a quiet water"])
    assert ids.dtype == np.int64 and tok.decode_bytes(ids) == b"the river\na quiet water\n"


def test_split_words_is_a_seeded_partition():
    words = [f"w{i}" for i in range(50)]
    fit, test = method.split_words(words, 10, seed=3)
    assert len(test) == 10 and sorted(fit + test) == sorted(words)
    assert (fit, test) == method.split_words(words, 10, seed=3) and test != method.split_words(words, 10, seed=4)[1]


class ConstantLM(torch.nn.Module):
    """Always predicts token `t` (logit 1, every other 0): a model with known answers."""

    def __init__(self, vocab: int, t: int):
        super().__init__()
        self.vocab, self.t = vocab, t

    def forward(self, input_ids):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        logits[..., self.t] = 1.0
        return SimpleNamespace(logits=logits)


def test_exact_match_scores_only_the_answer():
    game = method.Game(["a", "b", "c"], ["x"] * 3, prompts=[[1, 2], [1], [3, 3, 3]], answers=[[5, 5], [5, 4], [5]])
    model = ConstantLM(8, 5)
    # the prompts are never scored: example 3's prompt is all 3s, example 2's answer has a 4 the model never says
    assert method.exact_match(model, game).tolist() == [True, False, True]
    assert all(method.greedy(model, p, len(a)) == [5] * len(a) for p, a in zip(game.prompts, game.answers))
    x, y = method._pad(game, [0, 1])
    assert x.tolist() == [[1, 2, 5], [1, 5, 0]] and y.tolist() == [[-100, 5, 5], [5, 4, -100]]


def test_nats_per_byte_of_a_uniform_model():
    # logits all equal: every token costs log V nats; bytes come from the scored tokens' lengths
    V, ctx = 8, 4
    model = ConstantLM(V, 0)
    model.forward = lambda input_ids: SimpleNamespace(logits=torch.zeros(*input_ids.shape, V))
    stream = np.arange(13) % V  # 3 windows of 4 tokens score tokens 1..12
    token_len = np.array([1, 2, 3, 1, 2, 3, 1, 2])
    want = 12 * math.log(V) / token_len[stream[1:13]].sum()
    assert method.nats_per_byte(model, stream, token_len, ctx) == pytest.approx(want)


def test_training_runs_lower_the_losses(tok):
    stream = method.encode_docs(tok, DOCS)
    model = method.make_model(tok.vocab_size, 16, 1, 2, 32, seed=0)
    token_len = np.array([len(b) for b in tok.token_bytes])
    before = method.nats_per_byte(model, stream, token_len, 16)
    method.pretrain(model, stream, steps=30, batch=8, ctx=16, lr=0.01, seed=0)
    assert method.nats_per_byte(model, stream, token_len, 16) < 0.7 * before
    game = method.language_games(tok, ["water", "river", "quiet"], ["first"])
    losses = method.finetune(model, game, steps=30, batch=6, lr=0.01, seed=0)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_chunk_nats_are_the_windows_of_nats_per_byte_and_follow_a_retokenization(tok):
    from shared.tokenization import SplitTable, expand

    stream = method.encode_docs(tok, DOCS)
    model = method.make_model(tok.vocab_size, 16, 1, 2, 32, seed=0)
    token_len = np.array([len(b) for b in tok.token_bytes])
    nats, nbytes = method.chunk_nats(model, stream, stream, token_len, 8)
    n_win = (len(stream) - 1) // 8
    assert len(nats) == n_win and nbytes.tolist() == [token_len[stream[k * 8 + 1 : k * 8 + 9]].sum() for k in
                                                      range(n_win)]  # fmt: skip
    assert nats.sum() / nbytes.sum() == pytest.approx(method.nats_per_byte(model, stream, token_len, 8), rel=1e-6)
    split = expand(stream, SplitTable.from_tok(tok), 0.5, np.random.default_rng(0))
    assert len(split) > len(stream) and tok.decode_bytes(split) == tok.decode_bytes(stream)
    s_nats, s_bytes = method.chunk_nats(model, split, stream, token_len, 8)
    assert len(s_nats) == n_win and (s_nats > 0).all()
    # the split tokens cover each chunk's bytes, except where the split stream's own scoring ends
    assert (s_bytes[:-2] == nbytes[:-2]).all() and s_bytes.sum() <= nbytes.sum() + token_len[stream].max()


def test_constant_guess_hits_uses_the_most_frequent_finetuning_answer():
    fit = method.Game(["a", "b", "c", "d"], ["first", "first", "first", "spell"], prompts=[[0]] * 4,
                      answers=[[1], [1], [2], [7, 8]])  # fmt: skip
    test = method.Game(["e", "f", "g"], ["first", "first", "spell"], prompts=[[0]] * 3, answers=[[1], [2], [7, 9]])
    assert method.constant_guess_hits(fit, test).tolist() == [True, False, False]


def test_byte_matched_steps_equalise_the_bytes_seen():
    # the same bytes in 8% more tokens: 8% more steps of the same windows, so the same bytes in expectation
    assert method.byte_matched_steps(40, 1000, 1078) == 43
    assert method.byte_matched_steps(600, 1000, 1078) == 647
    assert method.byte_matched_steps(40, 1000, 1000) == 40  # the canonical arm itself: unchanged
