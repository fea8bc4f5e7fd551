"""Tests of papers.bico_reversal_2023.method: known answers, invariants, and null inputs on which each deciding
measurement says "not reproduced"."""

import pytest
import torch

from papers.bico_reversal_2023 import method
from papers.bico_reversal_2023.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims
from shared.lm.family import ModelSpec, make_model
from shared.lm.tasks import FictitiousFacts
from shared.lm.trainer import TrainConfig

FACTS = method.SlotFacts(facts=20, syllables=8, seed=3)
SPEC = ModelSpec(vocab_size=FACTS.vocab, hidden_size=32, layers=1, heads=2, context=16)


def test_slot_facts_keep_the_shared_facts_and_separate_the_slots():
    shared = FictitiousFacts(facts=20, syllables=8, seed=3)
    S = 8
    # the same syllables in the same order, moved to their slot's pool
    torch.testing.assert_close(FACTS.names - torch.arange(2) * S, shared.names)
    torch.testing.assert_close(FACTS.descriptions + S - (2 + torch.arange(3)) * S, shared.descriptions)
    pools = [set(FACTS.names[:, k].tolist()) for k in range(2)] + [
        set(FACTS.descriptions[:, k].tolist()) for k in range(3)
    ]
    for k, pool in enumerate(pools):
        assert min(pool) >= 5 + k * S and max(pool) < 5 + (k + 1) * S
    assert FACTS.vocab == 5 + 5 * S and int(FACTS.descriptions.max()) < FACTS.vocab


def test_mirrored_scores_match_the_loop():
    T, D = 7, 8
    q, k = torch.randn(2, 2, 3, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).unbind(0)
    inv = 1.0 / (10000 ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    torch.testing.assert_close(method.mirrored_scores(q, k, inv), method.mirrored_reference(q, k, inv))
    # the lower triangle is ordinary RoPE; the upper one is not (else the mirroring would be a no-op)
    pos = torch.arange(T)
    plain = method._rotate_at(q, pos, inv) @ method._rotate_at(k, pos, inv).transpose(-1, -2)
    low = torch.ones(T, T, dtype=torch.bool).tril()
    torch.testing.assert_close(method.mirrored_scores(q, k, inv)[..., low], plain[..., low])
    assert not torch.allclose(method.mirrored_scores(q, k, inv)[..., ~low], plain[..., ~low])


def test_bico_routing_is_the_family_until_denoising_and_hides_padded_keys():
    ids = torch.randint(5, SPEC.vocab_size, (2, 8), generator=torch.Generator().manual_seed(1))
    plain, routed = make_model(SPEC, seed=0), make_model(SPEC, seed=0)
    method.enable_bico(routed)
    with torch.no_grad():
        torch.testing.assert_close(routed(input_ids=ids).logits, plain(input_ids=ids).logits)
        keep = torch.ones(2, 8, dtype=torch.bool)
        keep[:, 3] = False
        with method.denoising(routed):
            a = routed(input_ids=ids, key_padding=keep).logits
            ids2 = ids.clone()
            ids2[:, 3] = 4  # a hidden key: whatever token sits there, only its own position's output may change
            b = routed(input_ids=ids2, key_padding=keep).logits
        assert routed.bidirectional is False
    others = [i for i in range(8) if i != 3]
    torch.testing.assert_close(a[:, others], b[:, others])
    assert not torch.allclose(a[:, :3], plain(input_ids=ids).logits[:, :3])  # positions see later keys now


def test_denoising_batches_mask_one_whole_entity():
    stm = method.training_statements(FACTS, 10)
    assert stm.shape == (30, 8)
    batch = method.bico_batches(stm, 256, FACTS, denoise_prob=1.0)(0, torch.Generator().manual_seed(0))
    hidden = ~batch["key_padding"]
    sizes = hidden.sum(1)
    assert set(sizes.tolist()) == {2, 3}
    # masked positions are contiguous and never the specials
    assert not hidden[:, 0].any() and not hidden[:, -1].any()
    x = batch["input_ids"]
    assert (x[hidden] == FACTS.MASK).all() and (x[~hidden] != FACTS.MASK).all()
    assert ((batch["targets"][:, :-1] != -100) == hidden[:, 1:]).all()
    ntp = method.bico_batches(stm, 16, FACTS, denoise_prob=0.0)(0, torch.Generator().manual_seed(0))
    assert ntp["denoise"] is False and ntp["input_ids"].shape == (16, 7)
    torch.testing.assert_close(ntp["targets"][:, :-1], ntp["input_ids"][:, 1:])


def test_exact_match_on_a_memorising_oracle():
    oracle = method.LookupOracle(method.training_statements(FACTS, 10))
    assert method.exact_match(oracle, FACTS, range(10)).all()  # forward facts: known
    assert not method.exact_match(oracle, FACTS, range(10), reverse=True).any()  # never seen reversed
    assert method.exact_match(oracle, FACTS, range(10, 20), reverse=True).all()  # trained both ways
    assert not method.exact_match(oracle, FACTS, range(10), shift=1).any()  # rotated targets: the control


def _fake(ntp_rev, bico_rev, bico_shuf, ntp_fwd=1.0, bico_fwd=1.0, both=1.0):
    n = 5
    share = {"n_unit": "seeds", "bounds": (0.0, 1.0)}
    rep = lambda v: [v + 0.01 * (i - 2) * (0 < v < 1) for i in range(n)]  # noqa: E731
    m = {"ntp-reverse-curse": Measurement.mean(rep(ntp_rev), **share),
         "bico-reverse": Measurement.mean(rep(bico_rev), **share),
         "bico-beats-ntp": Measurement.paired_difference(rep(bico_rev), rep(ntp_rev), n_unit="seeds"),
         "bico-keeps-forward": Measurement.paired_difference(rep(ntp_fwd), rep(bico_fwd), n_unit="seeds")}  # fmt: skip
    c = {"bico-reverse": Measurement.paired_difference(rep(bico_rev), rep(bico_shuf), n_unit="seeds")}
    k = {"ntp-learned-facts": Measurement.mean(rep(min(ntp_fwd, both)), **share),
         "bico-learned-facts": Measurement.mean(rep(min(bico_fwd, both)), **share)}  # fmt: skip
    return {r["id"]: r["verdict"] for r in evaluate_claims(CLAIMS, m, controls=c, checks=k)}


def test_rules_say_reproduced_on_the_papers_numbers():
    v = _fake(ntp_rev=0.0, bico_rev=0.70, bico_shuf=0.0)
    assert all(x == "reproduced" for x in v.values()), v


def test_rules_can_say_not_reproduced_on_null_inputs():
    # BICO no better than NTP (both cursed), or NTP not cursed, or BICO losing the forward facts
    null = _fake(ntp_rev=0.0, bico_rev=0.0, bico_shuf=0.0)
    assert null["bico-reverse"] == "not reproduced" and null["bico-beats-ntp"] == "not reproduced"
    assert _fake(ntp_rev=0.6, bico_rev=0.6, bico_shuf=0.0)["ntp-reverse-curse"] == "not reproduced"
    assert _fake(ntp_rev=0.0, bico_rev=0.7, bico_shuf=0.0, bico_fwd=0.5)["bico-keeps-forward"] == "not reproduced"
    # a placebo: BICO's answers right against another fact's name at least as often as against their own
    assert _fake(ntp_rev=0.0, bico_rev=0.6, bico_shuf=0.7)["bico-reverse"] == "not reproduced"
    # exactly as often: the margin straddles 0, so the control is not beaten and the verdict cannot be reproduced
    assert _fake(ntp_rev=0.0, bico_rev=0.6, bico_shuf=0.6)["bico-reverse"] == "inconclusive"


def test_unlearned_facts_make_the_verdicts_inconclusive():
    v = _fake(ntp_rev=0.0, bico_rev=0.0, bico_shuf=0.0, ntp_fwd=0.1, bico_fwd=0.1, both=0.1)
    assert all(x == "inconclusive" for x in v.values()), v


@pytest.mark.parametrize("arm", ["ntp", "bico"])
def test_train_arm_is_deterministic_and_learns(arm):
    cfg = TrainConfig(steps=60, batch_size=16, seq_len=7, lr=3e-3, warmup=5, seed=0, threads=1)
    m1, r1 = method.train_arm(arm, FACTS, 10, SPEC, cfg)
    m2, r2 = method.train_arm(arm, FACTS, 10, SPEC, cfg)
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r2.history]
    assert r1.history[-1]["loss"] < r1.history[0]["loss"]
    scores = method.score_arm(m1, FACTS, 10)
    assert set(scores) == {"forward", "reverse", "reverse_shuffled", "reverse_both"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())
