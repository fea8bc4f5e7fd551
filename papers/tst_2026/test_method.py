"""Tests of papers.tst_2026.method: the paper's worked triad format, round trips, the tasks, and the evaluation."""

import random

import pytest
import torch

from papers.tst_2026 import method
from papers.tst_2026.claims import CLAIMS
from shared.claims import Measurement


@pytest.fixture(scope="module")
def bpe():
    rng = random.Random(0)
    nums = [x for _ in range(2000) for x in method.make_problem(rng.choice(method.OPS), rng, (1, 4))[:2]]
    return method.train_bpe(nums, 200)


def test_tst_known_answers():
    # the author's reference converter writes 1234567 as "1m 234k 567" and 12345678.1234 as
    # "12m 345k 678 . 123p 400pp" (compact form); the suffix-marker variant splits each marker off its triad
    assert method.encode("1234567", "tst") == ["1", "<m>", "234", "<k>", "567"]
    assert method.encode("12345678.1234", "tst") == ["12", "<m>", "345", "<k>", "678", ".", "123", "<p>", "400", "<pp>"]
    assert method.encode("1000", "tst") == ["1", "<k>", "000"]
    assert method.encode("9.9", "tst") == ["9", ".", "900", "<p>"]
    assert method.encode("9.11", "tst") == ["9", ".", "110", "<p>"]
    assert method.encode("7", "tst") == ["7"]
    assert method.encode("1234567", "chunk3") == ["1", "234", "567"]
    assert method.encode("1234567", "placebo") == ["1", "<_>", "234", "<_>", "567"]
    assert method.encode("12.05", "digit") == ["1", "2", ".", "0", "5"]


def test_round_trip_every_scheme(bpe):
    rng = random.Random(1)
    numbers = ["0", "7", "10", "999", "1000", "1234567", "100400", "12.5", "0.001", "9.11", "9.9", "123456.789"]
    numbers += [str(rng.randint(0, 10**9)) for _ in range(200)] + [f"{rng.randint(0, 99)}.{rng.randint(1, 999)}"
                                                                     for _ in range(200)]  # fmt: skip
    for scheme in method.SCHEMES:
        vocab = method.Vocab.build(scheme, bpe)
        for n in numbers:
            pieces = method.encode(n, scheme, bpe)
            assert all(p in vocab.index for p in pieces), (scheme, n, pieces)
            assert method.decode(pieces, scheme) == method.canonical(n), (scheme, n, pieces)


def test_markers_are_checked():
    with pytest.raises(ValueError):
        method.decode(["1", "<k>", "234", "<k>", "567"], "tst")  # a wrong magnitude
    with pytest.raises(ValueError):
        method.decode(["1", "234", "567"], "tst")  # markers missing
    with pytest.raises(ValueError):
        method.encode("1" * 20, "tst")  # beyond the inventory


def test_vocab_sizes_and_bpe_deterministic(bpe):
    assert len(method.Vocab.build("digit")) == len(method.SPECIALS) + 11
    assert len(method.Vocab.build("chunk3")) == len(method.SPECIALS) + 1111
    assert len(method.Vocab.build("tst")) == len(method.SPECIALS) + 1111 + 5 + method.MAX_FRACTION_TRIADS
    assert len(method.Vocab.build("placebo")) == len(method.SPECIALS) + 1112
    rng = random.Random(0)
    nums = [x for _ in range(2000) for x in method.make_problem(rng.choice(method.OPS), rng, (1, 4))[:2]]
    assert method.train_bpe(nums, 200).get_vocab() == bpe.get_vocab()


def test_problems_are_correct():
    rng = random.Random(2)
    seen = {"LT": 0, "EQ": 0, "GT": 0}
    for _ in range(2000):
        a, b, ans = method.make_problem("add", rng, (1, 4))
        assert int(a) + int(b) == int(ans) and 1 <= len(a) <= 4 and 1 <= len(b) <= 4
        a, b, ans = method.make_problem("cmp", rng, (1, 4))
        assert ans == {-1: "LT", 0: "EQ", 1: "GT"}[(int(a) > int(b)) - (int(a) < int(b))]
        seen[ans] += 1
        a, b, ans = method.make_problem("dcmp", rng, (1, 4))
        assert ans == {-1: "LT", 0: "EQ", 1: "GT"}[(float(a) > float(b)) - (float(a) < float(b))]
        assert method.canonical(a) == a and method.canonical(b) == b
    assert min(seen.values()) > 100
    a, b, _ = method.make_problem("add", rng, (5, 5))
    assert len(a) == len(b) == 5


def test_collate_targets_only_the_answer():
    vocab = method.Vocab.build("tst")
    seq, start = method.sequence(vocab, "add", "1234", "5", "1239")
    batch = method.collate([(seq, start), method.sequence(vocab, "cmp", "3", "4", "LT")])
    tgt = batch["targets"][0]
    answer = vocab.ids("1239") + [method.EOS]
    assert tgt[tgt != -100].tolist() == answer
    assert batch["targets"][1][batch["targets"][1] != -100].tolist() == [vocab.index["LT"], method.EOS]
    assert batch["input_ids"][1, -1].item() == method.PAD


class Oracle(torch.nn.Module):
    """Logits that put all mass on the true next token (read from the batch's own continuation)."""

    def __init__(self, vocab_size, wrong=False):
        super().__init__()
        self.vocab_size, self.wrong, self.nexts = vocab_size, wrong, None

    def forward(self, input_ids):
        logits = torch.zeros(*input_ids.shape, self.vocab_size)
        nxt = torch.roll(input_ids, -1, dims=1)
        nxt[:, -1] = method.EOS
        nxt = torch.where(nxt == method.PAD, torch.full_like(nxt, method.EOS), nxt)
        if self.wrong:
            nxt = (nxt + 1) % self.vocab_size
        logits.scatter_(2, nxt.unsqueeze(-1), 1.0)
        return type("Out", (), {"logits": logits})()


def test_exact_match_oracle_and_null():
    vocab = method.Vocab.build("digit")
    problems = method.eval_problems("add", (1, 3), 50, seed=0)
    assert all(method.exact_match(Oracle(len(vocab)), vocab, problems))
    assert not any(method.exact_match(Oracle(len(vocab), wrong=True), vocab, problems))


def test_rules_can_fail():
    # a null input (TST no better than the other scheme) must not reproduce, and a worse TST must not reproduce
    by_id = {c.id: c for c in CLAIMS}
    null = Measurement.paired_difference([0.5, 0.6, 0.55, 0.52, 0.58], [0.5, 0.6, 0.55, 0.52, 0.58], n_unit="seeds")
    worse = Measurement.paired_difference([0.3, 0.35, 0.32, 0.31, 0.33], [0.5, 0.6, 0.55, 0.52, 0.58], n_unit="seeds")
    learned = Measurement.mean([0.9, 0.92, 0.95, 0.91, 0.93], n_unit="seeds")
    for cid, claim in by_id.items():
        checks = {p.id: learned for p in claim.preconditions}
        ctrl = worse if claim.control else None
        assert claim.evaluate(worse, ctrl, checks)["verdict"] == "not reproduced", cid
        assert claim.evaluate(null, ctrl, checks)["verdict"] != "reproduced", cid
    # an unlearned task gives inconclusive, never not reproduced
    claim = by_id["suffix-add"]
    unlearned = Measurement.mean([0.0, 0.01, 0.0, 0.02, 0.0], n_unit="seeds")
    out = claim.evaluate(worse, worse, {p.id: unlearned for p in claim.preconditions})
    assert out["verdict"] == "inconclusive"


def test_tiny_training_runs(tmp_path):
    from shared.lm.family import ModelSpec
    from shared.lm.trainer import TrainConfig

    vocab = method.Vocab.build("tst")
    spec = ModelSpec(vocab_size=len(vocab), hidden_size=16, layers=1, heads=2, context=32)
    cfg = TrainConfig(steps=3, batch_size=4, warmup=1, seed=0, eval_every=10**9, log_every=10**9, threads=1)
    batches = method.sampler(vocab, method.OPS, (1, 3), 4)
    model, log = method.train_or_load(spec, cfg, batches, tmp_path / "m.safetensors", "k1")
    assert log["trained_here"]
    again, log2 = method.train_or_load(spec, cfg, batches, tmp_path / "m.safetensors", "k1")
    assert not log2["trained_here"]
    problems = method.eval_problems("cmp", (1, 3), 20, seed=0)
    assert method.exact_match(model, vocab, problems) == method.exact_match(again, vocab, problems)
