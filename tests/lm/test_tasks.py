"""Synthetic tasks: their known answers hold on the samples they produce."""

import pytest
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


# ---- parts of speech (dual_process_2024)
POS = tasks.PosTask(per_class=16, unseen=8, alpha=1.5, ambiguous=0.25)


def _structural_answer(ids: torch.Tensor, task: tasks.PosTask) -> torch.Tensor:
    """The known answer from structure alone: ADJ when the query equals the token right after `cop`."""
    cop_pos = (ids[:, :3] == task.cop).float().argmax(1)
    after_cop = ids[torch.arange(len(ids)), cop_pos + 1]
    return torch.where(ids[:, 3] == after_cop, task.adj_label, task.noun_label)


def test_training_targets_follow_structure():
    batch = POS.sample(512, torch.Generator().manual_seed(0))
    ids, targets = batch["input_ids"], batch["targets"]
    assert ids.shape == (512, 4) and (targets[:, :3] == tasks.IGNORE).all()
    assert torch.equal(targets[:, 3], _structural_answer(ids, POS))
    # no unseen token and no label token ever appears in a training input
    assert not torch.isin(ids, POS.unseen_ids).any()
    assert ids.max() <= POS.cop


def test_unambiguous_tokens_keep_their_class():
    """In training an unambiguous token is always in its own role: the in-weights answer is its class."""
    batch = POS.sample(4096, torch.Generator().manual_seed(1))
    ids, targets = batch["input_ids"], batch["targets"]
    q = ids[:, 3]
    amb = torch.isin(q % POS.per_class, POS.ambiguous_ranks())
    klass = torch.where(q >= POS.per_class, POS.adj_label, POS.noun_label)
    assert torch.equal(targets[~amb, 3], klass[~amb])
    # ambiguous tokens do take the other role sometimes
    assert (targets[amb, 3] != klass[amb]).any()


def test_zipf_head_dominates():
    ranks = POS.draw_ranks(20000, torch.Generator().manual_seed(2))
    counts = torch.bincount(ranks, minlength=POS.per_class).double() / 20000
    assert torch.allclose(counts, POS.rank_probs(), atol=0.01)
    assert counts[0] > 10 * counts[-1]


def test_probe_sets_known_answers():
    sets = POS.probe_sets(256, seed=0)
    for name, batch in sets.items():
        assert torch.equal(batch["targets"][:, 3], _structural_answer(batch["input_ids"], POS)), name
    assert torch.isin(
        sets["unseen"]["input_ids"][:, [0, 1, 2]], torch.cat([POS.unseen_ids, torch.tensor([POS.cop])])
    ).all()
    # conflict: the query's own class is never the structural answer
    conflict = sets["conflict"]
    q = conflict["input_ids"][:, 3]
    klass = torch.where(q >= POS.per_class, POS.adj_label, POS.noun_label)
    assert (klass != conflict["targets"][:, 3]).all()
    assert torch.equal(POS.probe_sets(256, seed=0)["unseen"]["input_ids"], sets["unseen"]["input_ids"])


def test_random_label_control_has_nothing_to_learn():
    batch = POS.sample(4096, torch.Generator().manual_seed(3), labels="random")
    agree = (batch["targets"][:, 3] == _structural_answer(batch["input_ids"], POS)).float().mean().item()
    assert abs(agree - 0.5) < 0.04


# ---- extra tokens and segment recall (meta_tokens_2025)
RECALL = tasks.SegmentRecall(items=8, names=10, size=2)


def test_insert_after_keeps_tokens_and_targets():
    ids = torch.tensor([[5, 6, 7, 8], [1, 2, 3, 4]])
    tg = torch.tensor([[-100, 60, -100, 80], [10, -100, 30, -100]])
    after = torch.tensor([[True, False, True, False], [False, True, False, True]])
    new_ids, new_tg = tasks.insert_after(ids, tg, after, 99)
    assert new_ids.tolist() == [[5, 99, 6, 7, 99, 8], [1, 2, 99, 3, 4, 99]]
    assert new_tg.tolist() == [[-100, -100, 60, -100, -100, 80], [10, -100, -100, 30, -100, -100]]
    with pytest.raises(ValueError):
        tasks.insert_after(ids, tg, torch.tensor([[True] * 4, [False] * 4]), 99)


def test_segment_recall_known_answers():
    b = RECALL.sample(64, 4, torch.Generator().manual_seed(2), meta=False)
    ids, tg = b["input_ids"], b["targets"]
    assert ids.shape == (64, 4 * 3 + 3) and (tg[:, :-1] == -100).all()
    for row, t in zip(ids, tg[:, -1]):
        body = row[:-3].view(4, 3)
        assert len(set(body[:, 0].tolist())) == 4  # distinct names
        name, index = int(row[-2]), int(row[-1]) - RECALL.items - RECALL.names
        assert int(row[-3]) == RECALL.query_id and 0 <= index < RECALL.size
        assert int(body[body[:, 0] == name][0, 1 + index]) == int(t)
    m = RECALL.sample(64, 4, torch.Generator().manual_seed(2), meta=True)
    assert m["input_ids"].shape == (64, 4 * 4 + 3)
    assert (m["input_ids"][:, 3:16:4] == RECALL.meta_id).all()  # a meta token closes every list
    assert torch.equal(m["input_ids"][m["input_ids"] != RECALL.meta_id].view(64, -1), ids)


# ---- minimum non-negative sum as tokens (cot2_2025)
def test_answers_match_shared_generator_and_brute_force():
    task = tasks.MNNS(m=4, high=9)
    a, best = tasks.min_nonneg_sum(500, 4, 9, torch.Generator().manual_seed(1))
    assert torch.equal(task.answers(a), best)
    assert task.answers(torch.tensor([[1, 2, 3, 4], [5, 5, 5, 1], [9, 1, 1, 1]])).tolist() == [0, 4, 6]


def test_trace_is_an_optimal_sign_pattern():
    task = tasks.MNNS(m=4, high=5)
    a = task.instances()
    tr = task.trace(a)
    assert torch.equal(tr[:, -1], task.answers(a))
    assert (tr[:, 0].abs() == a[:, 0]).all() and (tr.diff(dim=1).abs() == a[:, 1:]).all()
    # the first optimal pattern in the fixed order: 1, 2, 3, 4 -> +1 -2 -3 +4
    assert task.trace(torch.tensor([[1, 2, 3, 4]])).tolist() == [[1, -1, -4, 0]]


def test_reachable_targets_known_case():
    task = tasks.MNNS(m=3, high=3)
    d = task.reachable(torch.tensor([[1, 2, 3]]))[0]
    at = lambda t, s: d[t, task.sum_id(s)].item()  # noqa: E731
    assert at(0, 1) == at(0, -1) == 0.5
    assert at(1, 3) == at(1, -1) == at(1, 1) == at(1, -3) == 0.25
    # after 3 digits: +-1 +-2 +-3 gives 6, 0, 2, -4, 4, -2, 0, -6: 0 twice
    assert at(2, 0) == 0.25 and at(2, 6) == 0.125 and abs(d.sum(-1) - 1).max() < 1e-12


def test_split_keeps_multisets_together():
    task = tasks.MNNS(m=3, high=4)
    a = task.instances()
    tr, va = task.split(a, 0.8, seed=3)
    seen = {tuple(sorted(r)) for r in a[tr].tolist()}
    assert len(va) > 0 and not any(tuple(sorted(r)) in seen for r in a[va].tolist())
    assert sorted(torch.cat([tr, va]).tolist()) == list(range(len(a)))


# ---- slot facts (bico_reversal_2023)
def test_slot_facts_give_every_slot_its_own_pool():
    base = tasks.FictitiousFacts(facts=20, syllables=8, seed=3)
    slot = tasks.SlotFacts(facts=20, syllables=8, seed=3)
    S = 8
    pools = torch.cat([slot.names, slot.descriptions], dim=1) - 5  # [facts, name_len + desc_len]
    for k in range(pools.shape[1]):
        assert ((pools[:, k] >= k * S) & (pools[:, k] < (k + 1) * S)).all(), k
    # the same facts: each slot's syllable is the shared generator's, moved into the slot's own pool
    assert torch.equal((slot.names - 5) % S, (base.names - 5) % S)
    assert torch.equal((slot.descriptions - 5) % S, (base.descriptions - 5 - S) % S)
    assert slot.vocab == 5 + 5 * S and int(pools.max()) + 5 < slot.vocab
