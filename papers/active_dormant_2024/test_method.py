"""Tests of the Bigram-Backcopy task, the inspectable transformer and the extreme-token statistics."""

import math

import pytest
import torch

from papers.active_dormant_2024.method import (
    Attention,
    BBTransformer,
    BigramBackcopy,
    TrainConfig,
    extreme_token_stats,
    split_loss,
    train_bb,
)

TEXT = "the cat sat on the mat. a hat that is flat: the end.\n" * 20


@pytest.fixture(scope="module")
def task():
    return BigramBackcopy.from_text(TEXT, k=3)


def test_bigram_estimate_and_triggers(task):
    torch.testing.assert_close(task.transition.sum(1), torch.ones(len(task.itos), dtype=torch.float64))
    # ' ', 't' and 'a' are the three most frequent characters of TEXT
    assert sorted(task.itos[i] for i in task.triggers) == [" ", "a", "t"]
    h, e = task.itos.index("h"), task.itos.index("e")
    # after 'h' the text always continues with 'e' or 'a'
    assert task.transition[h, e] > 0.5 and task.transition[h].count_nonzero() == 2
    assert task.bos == len(task.itos) and task.vocab_size == len(task.itos) + 1


def test_samples_follow_the_bb_rules(task):
    seq = task.sample(200, 40, torch.Generator().manual_seed(0))
    assert seq.shape == (200, 41) and (seq[:, 0] == task.bos).all()
    assert not task.is_trigger(seq[:, 1]).any(), "the first token is drawn from the trigger-free marginal"
    body = seq[:, 1:]
    trig = task.is_trigger(body[:, 1:-1])
    # after a trigger: a copy of the token before it
    assert torch.equal(body[:, 2:][trig], body[:, :-2][trig])
    # elsewhere: a transition the bigram chain allows
    prev, nxt = body[:, 1:-1][~trig], body[:, 2:][~trig]
    assert (task.transition[prev, nxt] > 0).all()
    assert trig.float().mean() > 0.1, "triggers are the most frequent tokens: they must occur often"


def test_sampled_bigram_frequencies_match_the_chain(task):
    # a statistical check on the most frequent non-trigger character's row: each frequency within 4 standard errors
    seq = task.sample(400, 60, torch.Generator().manual_seed(1))
    x, y = seq[:, 1:-1].flatten(), seq[:, 2:].flatten()
    counts = torch.bincount(x[~task.is_trigger(x) & (x != task.bos)], minlength=task.vocab_size)
    h = int(counts.argmax())
    nxt = y[x == h]
    p = task.transition[h]
    freq = torch.bincount(nxt, minlength=task.vocab_size)[: len(p)].double() / len(nxt)
    se = (p * (1 - p) / len(nxt)).sqrt()
    assert len(nxt) > 1000 and ((freq - p).abs() <= 4 * se + 1e-12).all()


def _naive_attention(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    # one query at a time, only the keys it can see: the textbook definition
    t, out = x.shape[1], []
    q, k, v = attn.wq(x), attn.wk(x), attn.wv(x)
    for i in range(t):
        s = q[:, i : i + 1] @ k[:, : i + 1].transpose(1, 2) / math.sqrt(attn.head_dim)  # [B, 1, i+1]
        w = s.softmax(-1) if attn.kind == "softmax" else torch.relu(s) / (i + 1)
        out.append(w @ v[:, : i + 1])
    return attn.wo(torch.cat(out, 1))


@pytest.mark.parametrize("kind", ["softmax", "relu"])
def test_attention_matches_the_per_query_definition(kind):
    torch.manual_seed(0)
    attn = Attention(16, 1, kind).double()
    x = torch.randn(3, 9, 16, dtype=torch.float64)
    trace = {}
    torch.testing.assert_close(attn(x, trace), _naive_attention(attn, x))
    w = trace["weights"][:, 0]
    assert (w.triu(1) == 0).all(), "causal"
    if kind == "softmax":
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 9, dtype=torch.float64))


def _planted_model(task, head_on_bos: bool):
    """A 1-layer model whose head attends to BOS with logit 20 (or uniformly) and whose BOS value state is zero."""
    model = BBTransformer(task.vocab_size, 8, 1, max_len=16)
    attn = model.blocks[0].attn
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.blocks[0].ln1.weight.fill_(1.0)
        # residual coordinate 0 flags BOS, coordinate 1 is a constant; LayerNorm keeps them apart
        model.tok.weight[:, 1] = 1.0
        model.tok.weight[task.bos, 0] = 5.0
        model.tok.weight[: task.bos, 2:] = torch.randn(task.bos, 6, generator=torch.Generator().manual_seed(0))
        if head_on_bos:
            attn.wq.weight[0, 1] = 20.0  # query: constant
            attn.wk.weight[0, 0] = 1.0  # key: BOS flag
        attn.wv.weight[1:, 2:] = torch.eye(7, 6)  # values ignore coordinates 0 and 1
    return model


def test_stats_on_a_planted_sink(task):
    tokens = task.sample(8, 15, torch.Generator().manual_seed(2))[:, :-1]
    sink = extreme_token_stats(_planted_model(task, True), task, tokens)[0]
    flat = extreme_token_stats(_planted_model(task, False), task, tokens)[0]
    assert sink["sink_nontrigger"] > 0.99 and sink["sink_share_nontrigger"] > 0.99 and sink["logit_gap"] > 10
    # uniform attention over i + 1 keys puts 1 / (i + 1) on BOS, and the logit gap is 0
    assert flat["sink_nontrigger"] < 0.5 and abs(flat["logit_gap"]) < 1e-6
    assert 0.0 <= sink["prev_trigger"] <= 1.0
    # the norm ratios, recomputed by hand from the block's pieces
    model = _planted_model(task, True)
    block = model.blocks[0]
    with torch.no_grad():
        h0 = model.tok(tokens) + model.pos(torch.arange(tokens.shape[1]))
        v = block.attn.wv(block.ln1(h0)).norm(dim=-1)
        h1 = block(h0).norm(dim=-1)
    assert sink["value_ratio"] == pytest.approx((v[:, 0].mean() / v[:, 1:].mean()).item(), rel=1e-5)
    assert sink["residual_ratio"] == pytest.approx((h1[:, 0].mean() / h1[:, 1:].median()).item(), rel=1e-5)


def test_training_learns_the_copy_and_logs_dynamics(task):
    cfg = TrainConfig(dim=32, length=24, batch=32, steps=150, lr=1e-2, log_every=50)
    probe = task.sample(32, 24, torch.Generator().manual_seed(3))
    model, hist = train_bb(task, cfg, seed=0, probe=probe)
    assert [r["step"] for r in hist] == [0, 50, 100, 150]
    assert hist[-1]["loss"] < hist[0]["loss"] - 1.0
    losses = split_loss(model, task, probe)
    # copying is learnable to near zero loss; an untrained model sits near log V
    assert losses["copy_loss"] < 0.5 * math.log(task.vocab_size)
    assert losses["bigram_loss"] >= losses["bigram_optimum"] - 0.2


def test_relu_model_and_sgd_run():
    task = BigramBackcopy.from_text(TEXT, k=2)
    cfg = TrainConfig(dim=16, length=12, batch=8, steps=5, lr=1e-2, optimizer="sgd", attention="relu")
    model, hist = train_bb(task, cfg, seed=0, probe=task.sample(4, 12, torch.Generator().manual_seed(0)))
    assert len(hist) == 2 and all(math.isfinite(v) for r in hist for v in r.values())
    with pytest.raises(ValueError):
        train_bb(task, TrainConfig(steps=1, optimizer="lion"), seed=0)
