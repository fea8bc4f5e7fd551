"""Tests of papers.lexinvariant_2023.method: known answers (cipher, counter, frequency-rank decipherer, probe), the
lexinvariance of the random-code model, and null inputs on which every deciding rule says *not reproduced*."""

import math

import pytest
import torch

from papers.lexinvariant_2023 import method
from papers.lexinvariant_2023.claims import CLAIMS
from shared.claims import Measurement

V = len(method.CHARSET) + 1
BY_ID = {c.id: c for c in CLAIMS}


def test_char_stream_known_answer():
    ids = method.char_stream(["Ab  c!", "z\n"])
    # "ab c! z": a b ' ' c other ' ' z
    assert ids.tolist() == [0, 1, 26, 2, 27, 26, 25]


def test_cipher_round_trip_and_bijective():
    x = torch.randint(0, V, (4, 50), generator=torch.Generator().manual_seed(0))
    perms = method.random_ciphers(4, V, seed=1)
    assert all(sorted(p.tolist()) == list(range(V)) for p in perms)
    assert torch.equal(method.encipher(method.encipher(x, perms), perms.argsort(1)), x)


def test_counter_is_a_distribution_and_lexinvariant():
    x = torch.randint(0, V, (3, 40), generator=torch.Generator().manual_seed(2))
    # the probabilities of all next ids sum to one: check through the loss of every candidate at one position
    t = 10
    total = 0.0
    for v in range(V):
        y = x[:1, : t + 2].clone()
        y[0, t + 1] = v
        total += math.exp(-float(method.counter_losses(y, V)[0, t]))
    assert total == pytest.approx(1.0, abs=1e-5)
    perms = method.random_ciphers(3, V, seed=3)
    torch.testing.assert_close(method.counter_losses(x, V), method.counter_losses(method.encipher(x, perms), V))


def test_frequency_rank_decipher_exact_when_ranks_match():
    plain_rank = torch.tensor([2, 0, 1] + list(range(3, V)))  # id 2 most frequent, then 0, then 1
    plain = torch.tensor([[2, 2, 2, 2, 0, 0, 0, 1, 1, 2]])
    perms = method.random_ciphers(1, V, seed=4)
    guess = method.frequency_rank_decipher(method.encipher(plain, perms), plain_rank, V)
    # once the in-context counts rank 2 > 0 > 1 (from position 7 on), every guess is right
    assert torch.equal(guess[0, 7:], plain[0, 7:])


def test_random_codes_model_is_lexinvariant():
    model = method.make_lm("random_codes", V, 32, seed=0, hidden=32, layers=2, heads=2)
    codes = torch.randn(1, V, 32, generator=torch.Generator().manual_seed(1)) / math.sqrt(32)
    perm = torch.randperm(V, generator=torch.Generator().manual_seed(2))
    ids = torch.randint(0, V, (1, 24), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        model._codes = lambda input_ids, generator: codes
        plain = model(input_ids=ids).logits
        model._codes = lambda input_ids, generator: codes[:, perm.argsort()]
        ciphered = model(input_ids=perm[ids]).logits[..., perm]
    torch.testing.assert_close(plain, ciphered)


def test_standard_model_is_not_lexinvariant():
    model = method.make_lm("standard", V, 32, seed=0, hidden=32, layers=2, heads=2)
    x = torch.randint(0, V, (4, 33), generator=torch.Generator().manual_seed(5))
    perms = method.random_ciphers(4, V, seed=6)
    a = method.position_losses(model, x)
    b = method.position_losses(model, method.encipher(x, perms))
    assert not torch.allclose(a, b)


def test_probe_learns_a_linear_readout_and_folds_standardisation():
    g = torch.Generator().manual_seed(7)
    labels = torch.randint(0, 5, (400,), generator=g)
    feats = torch.nn.functional.one_hot(labels, 5).float() * 3 + 10 + 0.1 * torch.randn(400, 5, generator=g)
    probe = method.train_probe(feats, labels, 5, steps=100, seed=0)
    assert (probe(feats).argmax(-1) == labels).float().mean() == 1.0


def test_perplexity_gap_and_ratio_of_means():
    assert method.perplexity_gap(2.0, 2.0) == 0.0
    assert method.perplexity_gap(2.0 + math.log(10), 2.0) == pytest.approx(9.0)
    assert method.ratio_of_means([(1.0, 2.0), (3.0, 2.0)]) == pytest.approx(1.0)
    assert math.isnan(method.ratio_of_means([(1.0, 0.0), (1.0, -1.0)]))


def test_training_is_deterministic_per_seed():
    from shared.lm.trainer import TrainConfig, train

    stream = torch.randint(0, V, (5000,), generator=torch.Generator().manual_seed(8))
    out = []
    for _ in range(2):
        model = method.make_lm("random_codes", V, 32, seed=1, hidden=32, layers=1, heads=2)
        train(model, stream, TrainConfig(steps=3, batch_size=2, seq_len=32, seed=1, threads=1, warmup=1), log=None)
        out.append(method.position_losses(model, stream[:66].view(2, 33), codes_seed=0))
    torch.testing.assert_close(out[0], out[1])


# null inputs: every deciding rule can say "not reproduced"
def test_gap_rules_fail_on_a_gap_that_does_not_shrink():
    flat = Measurement.bootstrap([(2.0 + 0.01 * i, 2.0) for i in range(5)], method.ratio_of_means, n_unit="seeds")
    assert BY_ID["gap-shrinks"].rule.judge(flat)[0] == "not reproduced"
    wide = Measurement.mean([3.0, 3.1, 2.9, 3.05, 2.95], n_unit="seeds")
    assert BY_ID["gap-late"].rule.judge(wide)[0] == "not reproduced"


def test_decipher_rules_fail_on_chance_accuracy():
    chance = Measurement.mean([0.1, 0.12, 0.11, 0.09, 0.1], n_unit="seeds", bounds=(0.0, 1.0))
    assert BY_ID["decipher"].rule.judge(chance)[0] == "not reproduced"
    none = Measurement.paired_difference([0.2] * 5, [0.25, 0.26, 0.24, 0.25, 0.27], n_unit="seeds")
    assert BY_ID["standard-cannot"].rule.judge(none)[0] == "not reproduced"


def test_an_untrained_lexinvariant_model_fails_its_precondition():
    # a model that ignores its context sits at ln V: the precondition lex-learned must not pass
    x = torch.randint(0, V, (8, 65), generator=torch.Generator().manual_seed(9))
    model = method.make_lm("random_codes", V, 64, seed=0, hidden=32, layers=1, heads=2)
    late = [math.log(V) - method.bin_mean(method.position_losses(model, x, codes_seed=s), 48, 64) for s in range(5)]
    pre = next(p for c in CLAIMS for p in c.preconditions if p.id == "lex-learned")
    assert not pre.check(Measurement.mean(late, n_unit="seeds"))["passed"]
