"""Synthetic tasks: their known answers hold on the samples they produce."""

import torch

from shared.lm import tasks


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_bigram_backcopy_copies_after_triggers():
    bb = tasks.BigramBackcopy.from_text("the cat sat on the mat and then the rat ran " * 20, k=2)
    seq = bb.sample(16, 40, g())
    assert (seq[:, 0] == bb.bos).all()
    body = seq[:, 1:]
    trig = bb.is_trigger(body[:, 1:-1])
    assert trig.any()
    assert torch.equal(body[:, 2:][trig], body[:, :-2][trig])
    s = bb.stream(8, 30, seed=1).view(8, 30)
    t = bb.is_trigger(s[:, 1:-1])
    assert torch.equal(s[:, 2:][t], s[:, :-2][t])


def test_key_token_model_conditionals_and_samples():
    m = tasks.KeyTokenModel(classes=3, distinct_probs=(0.5, 0.3, 0.2), common=4, common_mass=0.4)
    p = m.conditional()
    torch.testing.assert_close(p.sum(1), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(p[0, m.distinct_ids(0)], torch.tensor([0.3, 0.18, 0.12], dtype=torch.float64))
    b = m.sample(500, 20, g())
    assert (b["input_ids"][:, -1] == 0).all() and torch.equal(b["targets"][:, -1], b["classes"] + 1)
    # a class's distinct tokens appear only in its own sequences
    for n in range(3):
        others = b["input_ids"][b["classes"] != n]
        assert not torch.isin(others, torch.tensor(m.distinct_ids(n))).any()
    shuffled = m.sample(2000, 5, g(), shuffle_labels=True)
    agree = (shuffled["targets"][:, -1] == shuffled["classes"] + 1).float().mean()
    assert abs(agree - 1 / 3) < 0.05


def test_fictitious_facts_statements_and_answer_spans():
    f = tasks.FictitiousFacts(facts=50, name_len=2, desc_len=3, syllables=16, seed=0)
    fw, rv = f.statements(), f.statements(reverse=True)
    assert fw.shape == rv.shape == (50, 8)
    assert torch.equal(fw[:, f.answer_span()], f.descriptions) and torch.equal(rv[:, f.answer_span(True)], f.names)
    assert len({tuple(r) for r in f.names.tolist()}) == 50 and fw.max() < f.vocab


def test_probes_have_their_answers():
    r = tasks.list_recall(64, 4, 10, 6, g())
    ids, ans = r["input_ids"], r["targets"][:, -1]
    for row, a in zip(ids, ans):
        keys, vals = row[:-1:2], row[1:-1:2]
        assert len(set(keys.tolist())) == 4 and vals[keys == row[-1]].item() == a.item()
    p = tasks.parity(32, 7, g())
    assert torch.equal(p["targets"][:, -1], p["input_ids"][:, :-1].sum(1) % 2)
    c = tasks.counting(32, 9, 3, g())
    q = c["input_ids"][:, -1] - 3
    assert torch.equal(c["targets"][:, -1] - 6, (c["input_ids"][:, :-1] == q[:, None]).sum(1))


def test_zipfian_classification_in_context_labels_are_consistent():
    z = tasks.zipfian_classification(64, classes=20, exemplars=6, gen=g(), in_context=True)
    ids, ans = z["input_ids"], z["targets"][:, -1]
    for row, a in zip(ids, ans):
        items, labels = row[:-1:2], row[1:-1:2]
        assert (labels[items == row[-1]] == a).all()
    fixed = tasks.zipfian_classification(64, classes=20, exemplars=6, gen=g(1))
    assert torch.equal(fixed["targets"][:, -1], fixed["input_ids"][:, -1] % 2 + 20)


def test_min_nonneg_sum_by_hand():
    a, best = tasks.min_nonneg_sum(200, 4, 9, g())
    assert (best >= 0).all()
    a0 = torch.tensor([[3, 5, 2, 7]])
    signs = [(s1, s2, s3, s4) for s1 in (-1, 1) for s2 in (-1, 1) for s3 in (-1, 1) for s4 in (-1, 1)]
    sums = [sum(s * x for s, x in zip(sig, a0[0].tolist())) for sig in signs]
    assert min(v for v in sums if v >= 0) == 1  # 3 + 5 - 7 = 1
    for row, b in zip(a[:20], best[:20]):
        vals = [sum(s * x for s, x in zip(sig, row.tolist())) for sig in signs]
        assert b.item() == min(v for v in vals if v >= 0)


def test_bigram_backcopy_stream_rule_and_statistics():
    P = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
    x = tasks.BigramBackcopy(P, P.sum(0), [1]).stream(64, 40, seed=0).view(64, 40)
    after_trigger = x[:, 1:-1] == 1
    assert torch.equal(x[:, 2:][after_trigger], x[:, :-2][after_trigger])  # the copy after a trigger
    prev, nxt = x[:, 1:-1][~after_trigger], x[:, 2:][~after_trigger]
    assert (nxt[prev == 0] == 1).all() and (nxt[prev == 2] == 0).all()  # elsewhere the chain rules
    chain = tasks.BigramBackcopy(P, P.sum(0), []).stream(256, 200, seed=1)
    torch.testing.assert_close(tasks.bigram_matrix(chain, 3, smoothing=0.0), P, atol=0.02, rtol=0)
