"""Tests of papers.tokenselect_2024.method: the compared policies, the passkey prompts and their score."""

import math

import pytest
import torch

from papers.tokenselect_2024.claims import MIN_DOC_TOKENS, MIN_DOCS
from papers.tokenselect_2024.method import RandomSelect, compared_policies, digit_accuracy, passkey_batch, ppl_after
from shared.claims import INCONCLUSIVE, NOT_REPRODUCED, PARTIAL, REPRODUCED, Measurement
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


def test_random_select_keeps_the_budget_sinks_and_recent_tokens():
    T, budget, n_sink, n_recent = 40, 16, 4, 6
    query, keys = torch.randn(2, 9, T, 8), torch.randn(2, 3, T, 8)
    policy = RandomSelect(budget=budget, n_sink=n_sink, n_recent=n_recent, seed=1)
    mask = policy.select_mask(0, query, keys, 1.0)  # [B, T, T]: every row of a one-pass read
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    assert not (mask & ~causal).any()
    assert (mask[:, : budget + 1] == causal[: budget + 1]).all()  # rows that see at most `budget` past tokens
    rows = mask[:, budget + 1 :]
    assert (rows.sum(-1) == budget + 1).all()  # sinks + recent + drawn + itself
    assert rows[..., :n_sink].all()
    for i, t in enumerate(range(budget + 1, T)):
        assert rows[:, i, t - n_recent : t + 1].all()
    again = RandomSelect(budget=budget, n_sink=n_sink, n_recent=n_recent, seed=1).select_mask(0, query, keys, 1.0)
    assert torch.equal(mask, again)  # seeded
    other = RandomSelect(budget=budget, n_sink=n_sink, n_recent=n_recent, seed=2).select_mask(0, query, keys, 1.0)
    assert not torch.equal(mask, other)


# the claims can fail: each measurement that decides a verdict, fed a null or placebo input built the way the notebook
# builds it, gives "not reproduced" (or "inconclusive" where a precondition says the setup cannot show the effect)

DOCS = 6  # the earlier default's 6 documents
PPL = [11.0, 14.0, 9.5, 12.5, 20.0, 16.0]  # per-document perplexities of some policy
N_PROMPTS = 36  # the default profile's N_PASSKEY


def _judge(claim_id, ours, control=None, checks=None):
    from papers.tokenselect_2024.claims import CLAIMS

    claim = next(c for c in CLAIMS if c.id == claim_id)
    met = {"full-cache-recalls": Measurement.proportion(N_PROMPTS, N_PROMPTS, n_unit="prompts"),
           "enough-documents": Measurement.exact(MIN_DOCS, n_unit="documents"),
           "long-enough-documents": Measurement.exact(MIN_DOC_TOKENS, n_unit="tokens per document")}  # fmt: skip
    needed = {p.id: met[p.id] for p in claim.preconditions}
    return claim.evaluate(ours, control=control, checks=needed | (checks or {}))


def _ratio(num, den):
    return Measurement.ratio(num, den, n_unit="documents")


def _margin(worse, better):  # log PPL(control) - log PPL(TokenSelect), as the notebook builds it
    import numpy as np

    return Measurement.paired_difference(np.log(worse), np.log(better), n_unit="documents")


def _scaled(xs, f):
    return [x * f for x in xs]


def test_matches_full_fails_when_selection_costs_half_the_quality():
    assert _judge("matches-full", _ratio(_scaled(PPL, 1.5), PPL))["verdict"] == NOT_REPRODUCED
    assert _judge("matches-full", _ratio(_scaled(PPL, 1.02), PPL))["verdict"] == REPRODUCED
    # two-sided: selection that is "better" than the full cache by far is not "on par" either
    assert _judge("matches-full", _ratio(_scaled(PPL, 0.6), PPL))["verdict"] == NOT_REPRODUCED


@pytest.mark.parametrize("claim_id", ["beats-streamingllm", "beats-h2o"])
def test_beats_fails_on_a_placebo_and_when_random_selection_does_as_well(claim_id):
    better = _margin(_scaled(PPL, 1.1), PPL)
    # placebo: the baseline is TokenSelect itself (ratio exactly 1 in every document)
    assert _judge(claim_id, _ratio(PPL, PPL), control=better)["verdict"] == NOT_REPRODUCED
    assert _judge(claim_id, _ratio(_scaled(PPL, 1.2), PPL), control=better)["verdict"] == REPRODUCED
    # the trivial control: random selection better than TokenSelect overturns a clear win over the baseline, and
    # random selection as good as it (a tie, or a margin that straddles 0) leaves the claim undecided
    worse = _margin(_scaled(PPL, 0.95), PPL)
    assert _judge(claim_id, _ratio(_scaled(PPL, 1.2), PPL), control=worse)["verdict"] == NOT_REPRODUCED
    for tie in [_margin(PPL, PPL), _margin([p * f for p, f in zip(PPL, [1.1, 0.9, 1.1, 0.9, 1.1, 0.9])], PPL)]:
        assert _judge(claim_id, _ratio(_scaled(PPL, 1.2), PPL), control=tie)["verdict"] == INCONCLUSIVE


def test_passkey_retrieval_can_fail_and_36_prompts_can_clear_the_bar():
    prop = Measurement.proportion
    assert _judge("passkey-retrieval", prop(0, N_PROMPTS, n_unit="prompts"))["verdict"] == NOT_REPRODUCED
    assert _judge("passkey-retrieval", prop(N_PROMPTS, N_PROMPTS, n_unit="prompts"))["verdict"] == REPRODUCED
    # why 36 (>= 35): with 10 prompts even 10/10 cannot clear the 0.9 bar (Wilson lower bound 0.72)
    assert _judge("passkey-retrieval", prop(10, 10, n_unit="prompts"))["verdict"] == PARTIAL


@pytest.mark.parametrize("claim_id", ["passkey-retrieval", "passkey-beats-streamingllm"])
def test_passkey_claims_are_inconclusive_when_the_full_cache_cannot_recall(claim_id):
    ours = Measurement.proportion(0, N_PROMPTS, n_unit="prompts")
    failed = {"full-cache-recalls": Measurement.proportion(3, N_PROMPTS, n_unit="prompts")}
    result = _judge(claim_id, ours, checks=failed)
    assert result["verdict"] == INCONCLUSIVE and "full-cache-recalls" in result["reason"]


def test_passkey_beats_streamingllm_fails_when_streamingllm_recalls_too():
    ours = Measurement.proportion(0, N_PROMPTS, n_unit="prompts")  # no prompt that TokenSelect alone recalls
    assert _judge("passkey-beats-streamingllm", ours)["verdict"] == NOT_REPRODUCED


def test_selection_cache_claims_can_fail():
    none_reused = Measurement.mean([0.0] * DOCS, n_unit="documents", bounds=(0, 1))
    assert _judge("selection-cache-reuse", none_reused)["verdict"] == NOT_REPRODUCED
    most = Measurement.mean([0.7, 0.8, 0.75, 0.72, 0.78, 0.74], n_unit="documents", bounds=(0, 1))
    assert _judge("selection-cache-reuse", most)["verdict"] == REPRODUCED
    costly = _ratio(_scaled(PPL, 1.2), PPL)
    assert _judge("selection-cache-quality", costly)["verdict"] == NOT_REPRODUCED
    assert _judge("selection-cache-quality", Measurement.ratio([1.0] * DOCS, [1.0] * DOCS))["verdict"] == REPRODUCED


def test_power_precondition_makes_a_small_run_inconclusive():
    from papers.tokenselect_2024.claims import CLAIMS

    few = {"enough-documents": Measurement.exact(DOCS, n_unit="documents")}  # the default's 6 documents
    # a cost that looks decisive on 6 documents is still too few to judge
    cheap = _ratio([1.0, 1.001, 0.999, 1.0, 1.002, 0.998], [1.0] * DOCS)
    result = _judge("selection-cache-quality", cheap, checks=few)
    assert result["verdict"] == INCONCLUSIVE and "enough-documents" in result["reason"]
    assert _judge("selection-cache-quality", cheap)["verdict"] == REPRODUCED  # with MIN_DOCS documents
    carriers = {c.id for c in CLAIMS if any(p.id == "enough-documents" for p in c.preconditions)}
    assert carriers == {"selection-cache-quality"}
    # enough documents, but shorter than the length the minimum was derived at (the 128-token default): inconclusive
    short = {"long-enough-documents": Measurement.exact(128, n_unit="tokens per document")}
    result = _judge("selection-cache-quality", cheap, checks=short)
    assert result["verdict"] == INCONCLUSIVE and "long-enough-documents" in result["reason"]
