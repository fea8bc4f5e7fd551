"""Tests of papers.r_to_q_2024.method and of its claims' rules: known answers, invariants, planted and null inputs."""

import copy

import pytest
import torch

from papers.r_to_q_2024 import method
from papers.r_to_q_2024.claims import CLAIMS, MIN_SEEDS_SEARCH
from shared.align import arith
from shared.align.batches import collate_preferences, dpo_batch_loss
from shared.claims import Measurement
from shared.models import load


@pytest.fixture(scope="module")
def lm():
    model, tok = load("tiny-lm-small")
    return model.requires_grad_(False), tok, arith.Vocab.from_tokenizer(tok)


def test_trace_and_prompt(lm):
    _, tok, v = lm
    terms = (3, 4, 0, 2, 4)
    assert method.running_sums(terms) == [7, 7, 9, 13]
    ids = method.prompt_ids(terms, v) + method.response_ids(method.running_sums(terms), v)
    assert tok.decode(ids[1:-1]) == " 3 + 4 + 0 + 2 + 4 = 7 7 9 13"
    assert ids[0] == v.bos and ids[-1] == v.eos


@pytest.mark.parametrize("propagate", [True, False])
def test_corrupt_one_error_step(propagate):
    g = torch.Generator().manual_seed(0)
    for terms in arith.make_problems(300, 5, g):
        sums = method.running_sums(terms)
        wrong, j = method.corrupt(terms, g, propagate)
        assert wrong[:j] == sums[:j] and wrong[j] != sums[j] and abs(wrong[j] - sums[j]) <= 2
        assert all(0 <= x <= method.MAX_SUM for x in wrong)
        if propagate:  # every later step adds the right term to the wrong running sum
            assert all(wrong[i] - wrong[i - 1] == terms[i + 1] for i in range(j + 1, len(wrong)))
        else:
            assert wrong[j + 1 :] == sums[j + 1 :]


def test_split_is_a_partition_and_seeded():
    g = torch.Generator().manual_seed(3)
    test, pool = arith.split_problems(5, 100, g)
    assert len(test) == 100 and len(test) + len(pool) == 5**5 and not set(test) & set(pool)
    assert arith.split_problems(5, 100, torch.Generator().manual_seed(3))[0] == test


def test_sft_batch_masks_the_prompt(lm):
    _, _, v = lm
    b = arith.sft_batch([(1, 2, 3, 4, 0)], v)
    kept = b["targets"][0][b["targets"][0] != -100].tolist()
    assert kept == method.response_ids([3, 6, 10, 10], v)


def test_argmin_hit_and_auroc():
    assert method.argmin_hit([0.0, -1.0, 0.5], 1) == 1.0
    assert method.argmin_hit([0.0, -1.0, 0.5], 0) == 0.0
    assert method.argmin_hit([0.0, 0.0, 0.0, 0.0], 2) == 0.25  # a policy equal to its reference: chance
    assert method.auroc_error([0.0, -1.0, 0.5], 1) == 1.0
    assert method.auroc_error([0.0, 0.0, 0.0], 1) == 0.5


def test_token_rewards_match_engine_and_planted_error_is_found(lm):
    model, _, v = lm
    g = torch.Generator().manual_seed(1)
    pairs = method.make_pairs(arith.make_problems(6, 5, g), v, g)
    policy = copy.deepcopy(model)
    policy.lm_head.weight.data.add_(0.05 * torch.randn(policy.lm_head.weight.shape, generator=g))
    rw = method.pair_token_rewards(policy, model, pairs, 0.1, v.pad)
    _, stats = dpo_batch_loss(policy, collate_preferences(pairs, v.pad), 0.1, ref_model=model)
    assert torch.allclose(torch.tensor([sum(x) for x in rw["rejected"]]), stats["rejected_rewards"], atol=1e-5)
    # a planted error signal: lowering the policy's log-prob of the erroneous token alone (at its position) makes
    # it the lowest per-token reward; the identity policy gives all-zero rewards (ties: chance)
    for p, rej in zip(pairs, rw["rejected"]):
        planted = [x if k != p["error"] else min(rej) - 1.0 for k, x in enumerate(rej)]
        assert method.argmin_hit(planted, p["error"]) == 1.0
    zero = method.pair_token_rewards(model, model, pairs, 0.1, v.pad)
    assert all(method.argmin_hit(r, p["error"]) == 1 / len(r) for p, r in zip(pairs, zero["rejected"]))


def test_decode_greedy_matches_manual_argmax(lm):
    model, _, v = lm
    probs = arith.make_problems(3, 5, torch.Generator().manual_seed(2))
    out = arith.decode(model, probs, v, num_beams=1)
    ids = torch.tensor([method.prompt_ids(probs[0], v)])
    manual = []
    with torch.no_grad():
        for _ in range(5):
            nxt = int(model(ids).logits[0, -1].argmax())
            manual.append(nxt)
            if nxt == v.eos:
                break
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    assert out[0] == manual


def _claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


GOOD = {"sft-middling": Measurement(0.6, 0.55, 0.65, n=10), "dpo-learns": Measurement(0.8, 0.75, 0.85, n=10),
        "room-to-search": Measurement(0.5, 0.45, 0.55, n=10),
        "enough-seeds-beam-search-gain": Measurement.exact(MIN_SEEDS_SEARCH, n_unit="seeds")}  # fmt: skip


def test_rules_can_fail_on_null_inputs():
    # a DPO policy equal to its reference: every token ties, the hit rate is chance, the margin over random is 0
    loc = _claim("error-localisation").evaluate(Measurement(0.2, 0.18, 0.22, n=10),
                                                control=Measurement(0.0, -0.01, 0.01, n=10), checks=GOOD)  # fmt: skip
    assert loc["verdict"] == "not reproduced"
    # beam search worse than greedy
    beam = _claim("beam-search-gain").evaluate(Measurement(-0.03, -0.05, -0.01, n=10),
                                               control=Measurement(-0.02, -0.04, -0.001, n=10), checks=GOOD)  # fmt: skip
    assert beam["verdict"] == "not reproduced"
    # a gain that the same search over the SFT policy matches: the control wins
    beam = _claim("beam-search-gain").evaluate(Measurement(0.05, 0.03, 0.07, n=10),
                                               control=Measurement(-0.01, -0.03, -0.001, n=10), checks=GOOD)  # fmt: skip
    assert beam["verdict"] == "not reproduced"
    rises = _claim("chosen-reward-declines").evaluate(Measurement(0.05, 0.02, 0.08, n=10), checks=GOOD)
    assert rises["verdict"] == "not reproduced"


def test_rules_inconclusive_when_setup_fails():
    solved = dict(GOOD, **{"sft-middling": Measurement(0.97, 0.95, 0.99, n=10)})
    r = _claim("chosen-reward-declines").evaluate(Measurement(-0.05, -0.08, -0.02, n=10), checks=solved)
    assert r["verdict"] == "inconclusive"
    unlearned = dict(GOOD, **{"dpo-learns": Measurement(0.5, 0.45, 0.55, n=10)})
    r = _claim("error-localisation").evaluate(Measurement(0.7, 0.6, 0.8, n=10),
                                              control=Measurement(0.5, 0.4, 0.6, n=10), checks=unlearned)  # fmt: skip
    assert r["verdict"] == "inconclusive"


def test_the_search_claim_is_inconclusive_below_its_seed_minimum():
    few = dict(GOOD, **{"enough-seeds-beam-search-gain": Measurement.exact(MIN_SEEDS_SEARCH - 1, n_unit="seeds")})
    clear = {"m": Measurement(0.05, 0.03, 0.07, n=46), "control": Measurement(0.03, 0.02, 0.04, n=46)}
    assert _claim("beam-search-gain").evaluate(clear["m"], control=clear["control"], checks=GOOD)["verdict"] == \
        "reproduced"
    assert _claim("beam-search-gain").evaluate(clear["m"], control=clear["control"], checks=few)["verdict"] == \
        "inconclusive"
