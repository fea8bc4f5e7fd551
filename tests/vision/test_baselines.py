"""The per-question blind answerer agrees with the per-type majority baseline it is the sampled form of."""

import pytest

from shared.vision import scenes as S
from shared.vision.baselines import blind_correct


def test_blind_answerer_equals_the_majority_baseline():
    train, test = S.make_scenes("train", 60, 0), S.make_scenes("heldout", 20, 5)
    items = [(i, q) for i, s in enumerate(test) for q in s.questions]
    ok = blind_correct(train, items)
    per_kind = S.majority_baseline(train, test)
    for kind, acc in per_kind.items():
        got = [c for (_, q), c in zip(items, ok) if q.kind == kind]
        assert sum(got) / len(got) == pytest.approx(acc)
    assert 0 < sum(ok) < len(ok)  # neither always right nor always wrong: the test can fail


def test_unseen_text_falls_back_to_its_type_and_no_training_is_refused():
    train = S.make_scenes("train", 30, 0)
    q = train[0].questions[0]
    odd = S.Question(text=q.text + " (never asked so)", answer=q.answer, kind=q.kind)
    counts = {}
    for s in train:
        for p in s.questions:
            if p.kind == q.kind:
                counts[p.answer] = counts.get(p.answer, 0) + 1
    top = max(sorted(counts), key=counts.get)
    assert blind_correct(train, [(0, odd)]) == [q.answer == top]
    with pytest.raises(ValueError, match="training scenes"):
        blind_correct([], [(0, q)])
