"""The shared running-sums task: exact rewards, parsing, SFT batches, pass@k and the middling-base recipe."""

import itertools

import pytest
import torch

from shared.align import arith
from shared.lm.tasks import IGNORE


@pytest.fixture(scope="module")
def tiny():
    from shared.models import load

    model, tok = load("tiny-lm-small")
    return model, arith.Vocab.from_tokenizer(tok)


@pytest.fixture
def v():
    return arith.Vocab(num=tuple(range(100, 121)), plus=5, eq=6, bos=1, eos=2, pad=0)


def test_vocab_numbers_are_single_tokens(tiny):
    _, v = tiny
    assert len(set(v.num)) == arith.MAX_SUM + 1
    assert len({v.plus, v.eq, v.bos, v.eos} | set(v.num)) == arith.MAX_SUM + 5


def test_vocab_refuses_multi_token_numbers():
    class Tok:
        bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

        def __call__(self, s, add_special_tokens=False):
            return {"input_ids": [7, 8] if s == " 13" else [9]}

    with pytest.raises(ValueError, match="' 13' is 2 tokens"):
        arith.Vocab.from_tokenizer(Tok())


def test_trace_prompt_and_parse_round_trip(v):
    terms = (3, 0, 4, 2, 1)
    assert arith.running_sums(terms) == [3, 7, 9, 10]
    ids = arith.prompt_ids(terms, v)
    assert ids == [1, 103, 5, 100, 5, 104, 5, 102, 5, 101, 6]
    assert arith.terms_of(ids, v) == terms
    assert arith.terms_of([v.pad, v.pad] + ids, v) == terms  # left padding of a rollout batch
    with pytest.raises(ValueError, match="must end"):
        arith.terms_of(ids[:-1], v)
    with pytest.raises(ValueError, match="expected"):
        arith.terms_of([1, 103, 6, 100, 6], v)


def test_reward_is_exact(v):
    terms = (1, 2, 3)
    right = arith.response_ids([3, 6], v)
    assert right == [103, 106, 2]
    r = arith.reward_fn(v)
    prompt = arith.prompt_ids(terms, v)
    assert r(prompt, right) == 1.0
    assert r(prompt, [103, 107, 2]) == 0.0  # one wrong sum
    assert r(prompt, [103, 106]) == 0.0  # no EOS
    assert r(prompt, [103, 106, 2, 2]) == 0.0  # something after it
    assert r(prompt, [103, 2]) == 0.0  # stopped early


def test_problems_cover_and_split_the_space():
    space = arith.all_problems(3, 2)
    assert len(space) == 27 and len(set(space)) == 27
    test, pool = arith.split_problems(3, 5, torch.Generator().manual_seed(0), max_term=2)
    assert len(test) == 5 and not set(test) & set(pool) and sorted(test + pool) == sorted(space)
    again, _ = arith.split_problems(3, 5, torch.Generator().manual_seed(0), max_term=2)
    assert again == test
    with pytest.raises(ValueError, match="can exceed"):
        arith.all_problems(6, 4)
    with pytest.raises(ValueError, match="n_test"):
        arith.split_problems(3, 27, torch.Generator(), max_term=2)
    drawn = arith.make_problems(200, 4, torch.Generator().manual_seed(1), max_term=3)
    assert all(len(p) == 4 and max(p) <= 3 for p in drawn) and max(max(p) for p in drawn) == 3


def test_sft_batch_trains_on_the_response_only(v):
    probs = [(1, 2, 3), (0, 4, 4)]
    b = arith.sft_batch(probs, v)
    n_prompt = len(arith.prompt_ids(probs[0], v))
    assert b["input_ids"].shape == (2, n_prompt + 2) and b["targets"].shape == (2, n_prompt + 2)
    assert (b["targets"][:, : n_prompt - 1] == IGNORE).all()
    assert b["targets"][0, n_prompt - 1 :].tolist() == [103, 106, 2]
    assert b["targets"][1, n_prompt - 1 :].tolist() == [104, 108, 2]


def test_pass_at_k_matches_counting():
    for n, c, k in [(4, 0, 1), (4, 4, 2), (5, 2, 1), (5, 2, 3), (6, 1, 6)]:
        # the share of k-subsets of n samples (c correct) that hold at least one correct sample
        subsets = list(itertools.combinations(range(n), k))
        hit = sum(any(i < c for i in s) for s in subsets) / len(subsets)
        assert arith.pass_at_k(c, n, k) == pytest.approx(hit)
    assert arith.pass_at_k(2, 5, 1) == pytest.approx(0.4)
    assert arith.pass_at_k(0, 8, 8) == 0.0 and arith.pass_at_k(1, 8, 8) == 1.0
    with pytest.raises(ValueError):
        arith.pass_at_k(3, 2, 1)
    with pytest.raises(ValueError):
        arith.pass_at_k(1, 4, 5)


def test_sampling_counts_and_is_seeded(tiny):
    model, v = tiny
    probs = arith.make_problems(6, 3, torch.Generator().manual_seed(2))
    a = arith.sample_correct(model, probs, v, 4, torch.Generator().manual_seed(3))
    b = arith.sample_correct(model, probs, v, 4, torch.Generator().manual_seed(3))
    assert a == b and len(a) == 6 and all(0 <= c <= 4 for c in a)


def test_sft_recipe_gives_a_middling_base(tiny):
    """The recipe the RL papers rely on moves the pretrained tiny LM from ~0 to a middling accuracy (one seed here;
    the papers measure their own bases as a precondition)."""
    import copy

    base, v = tiny
    model = copy.deepcopy(base)
    test, _ = arith.split_problems(5, 200, torch.Generator().manual_seed(11))
    before = sum(arith.accuracy_vector(model, test, v)) / len(test)
    res = arith.sft_base(model, v, 5, steps=100, batch=32, lr=2e-3, seed=1, threads=1)
    after = sum(arith.accuracy_vector(model, test, v)) / len(test)
    assert res.tokens > 0
    assert before < 0.05 and 0.15 < after < 0.9, (before, after)
