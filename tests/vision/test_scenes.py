"""Composed scenes: known answers, determinism, disjoint pools; the LM prefill MAC accounting."""

import pytest
import torch

from shared.vision import scenes as S
from shared.vision.flops import lm_layer_macs, lm_prefill_macs, vlm_prefill_macs


@pytest.fixture(scope="module")
def train_scenes():
    return S.make_scenes("train", 60, seed=3)


def test_deterministic_and_seeded(train_scenes):
    again = S.make_scene("train", 3, 7)
    assert torch.equal(again.image, train_scenes[7].image) and again.cells == train_scenes[7].cells
    assert [q.answer for q in again.questions] == [q.answer for q in train_scenes[7].questions]
    other = S.make_scene("train", 4, 7)
    assert not torch.equal(other.image, again.image)


def test_answers_follow_the_cells(train_scenes):
    for s in train_scenes:
        by_text = {q.text: q.answer for q in s.questions}
        for name, c in zip(S.POSITION_NAMES[(2, 2)], s.cells):
            assert by_text[f"What is in the {name}?"] == ("nothing" if c == S.EMPTY else S.ITEM_WORDS[c])
        assert by_text["How many shoes are there?"] == S.DIGIT_WORDS[sum(c in (5, 7, 9) for c in s.cells)]
        assert by_text["How many digits are there?"] == S.DIGIT_WORDS[sum(c >= 10 for c in s.cells)]
        assert by_text["How many clothes are there?"] == S.DIGIT_WORDS[sum(c in (0, 1, 2, 3, 4, 6) for c in s.cells)]
        for q in s.questions:
            if q.kind.startswith("exists"):
                word = q.text.removeprefix("Is there a ").removeprefix("digit ").removesuffix("?")
                cls = S.ITEM_WORDS.index(word, 10 if q.kind == "exists_digit" else 0)
                assert q.answer == ("yes" if cls in s.cells else "no")
        assert [q.kind for q in s.questions].count("position") == 4 and len(s.questions) == 9


def test_pixels_sit_in_their_cells(train_scenes):
    for s in train_scenes:
        assert s.image.shape == (112, 112) and s.image.dtype == torch.uint8
        for k, c in enumerate(s.cells):
            r, col = divmod(k, 2)
            cell = s.image[56 * r : 56 * (r + 1), 56 * col : 56 * (col + 1)]
            assert (cell.max() == 0) == (c == S.EMPTY)


def test_every_answer_type_occurs(train_scenes):
    answers = {q.kind: set() for q in train_scenes[0].questions}
    for s in train_scenes:
        for q in s.questions:
            answers[q.kind].add(q.answer)
    assert answers["exists_digit"] == {"yes", "no"} and answers["exists_item"] == {"yes", "no"}
    assert "nothing" in answers["position"] and len(answers["position"]) > 10
    assert {"zero", "one", "two"} <= answers["count"]


def test_heldout_pools_are_disjoint():
    tr, te = S.pools("train"), S.pools("heldout")
    assert len(tr[1]) == 60000 and len(te[1]) == 10000  # Fashion-MNIST's own train and test files
    assert len(tr[3]) + len(te[3]) == 1797  # the digits, split once
    flat = {tuple(x.flatten().tolist()) for x in tr[2]}
    shared = sum(tuple(x.flatten().tolist()) in flat for x in te[2])
    assert shared < 0.02 * len(te[3])  # load_digits has a few pixel-identical duplicates, nothing more


def test_majority_baseline_known_answer():
    def scene(*answers):
        return S.Scene(torch.zeros(1, 1), (), (1, 1), [S.Question(k, t, a) for k, t, a in answers])

    train = [scene(("count", "A?", "one"), ("count", "B?", "two")), scene(("count", "A?", "one"), ("count", "B?", "two")),
             scene(("count", "A?", "zero"), ("count", "B?", "two"))]  # fmt: skip
    test = [scene(("count", "A?", "one"), ("count", "B?", "one"), ("count", "C?", "two"))]
    # A? -> one (right), B? -> two (wrong), C? unseen -> the type's most frequent answer, two (right)
    for k in S.QUESTION_TYPES[2:]:
        train[0].questions.append(S.Question(k, "x", "yes"))
        test[0].questions.append(S.Question(k, "x", "no"))
    train[0].questions.append(S.Question("position", "p", "bag"))
    test[0].questions.append(S.Question("position", "p", "bag"))
    got = S.majority_baseline(train, test)
    assert got == {"position": 1.0, "count": 2 / 3, "exists_digit": 0.0, "exists_item": 0.0}


def test_to_pixels_normalises():
    x = S.to_pixels(torch.full((1, 14, 14), 255, dtype=torch.uint8))
    assert x.shape == (1, 3, 14, 14)
    assert torch.allclose(x[0, :, 0, 0], (1 - torch.tensor(S.IMAGENET_MEAN)) / torch.tensor(S.IMAGENET_STD))


def test_lm_macs_known_answers():
    # one layer by hand: q/o 2 T d (h dh), k/v 2 T d (g dh), causal pairs T (T + 1) / 2 for scores and values, MLP 3 T d m
    assert lm_layer_macs(4, dim=8, heads=2, kv_heads=1, head_dim=4, mlp_hidden=16) == (
        2 * 4 * 8 * 8 + 2 * 4 * 8 * 4 + 2 * 10 * 2 * 4 + 3 * 4 * 8 * 16
    )
    assert (
        lm_layer_macs(4, dim=8, heads=2, kv_heads=1, head_dim=4, mlp_hidden=16, causal=False)
        - lm_layer_macs(4, dim=8, heads=2, kv_heads=1, head_dim=4, mlp_hidden=16)
        == 2 * (16 - 10) * 2 * 4
    )
    # per token, SmolLM2-135M's linear layers: its 30 x 3,538,944 non-embedding matrix weights, plus the tied head
    attention_one_token = 30 * 2 * 1 * 9 * 64
    assert lm_prefill_macs(1, logits_for=0) - attention_one_token == 30 * 3_538_944
    assert lm_prefill_macs(1) - lm_prefill_macs(1, logits_for=0) == 576 * 49152
    # the VLM: projector on all 64 patches, then the LM on what is kept
    full, cut = vlm_prefill_macs(64, 64, 20), vlm_prefill_macs(64, 16, 20)
    assert full - cut == lm_prefill_macs(84) - lm_prefill_macs(36)
    assert vlm_prefill_macs(64, 16, 20, selection=5) - cut == 5
    assert 0.4 < cut / full < 0.5
