"""Tests of the embedding-forgetting callback and the probes (known answers and placebos); the part-of-speech task
`PosTask` is tested with the shared tasks, in tests/lm/test_tasks.py."""

import torch

from papers.dual_process_2024 import method
from papers.dual_process_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims
from shared.lm.family import make_model

TASK = method.PosTask(per_class=16, unseen=8, alpha=1.5, ambiguous=0.25)


def _tiny_cfg(**kw):
    return method.RunConfig(steps=30, batch=16, forget_every=10, temporary_stop=15, probe_every=10, probe_n=32,
                            hidden=16, task=TASK, **kw)  # fmt: skip


def test_forgetting_resets_embeddings_and_adam_state():
    cfg = _tiny_cfg()
    out = method.run_condition("active", 0, cfg)
    assert out["resets"] == [10, 20, 30]
    out = method.run_condition("temporary", 0, cfg)
    assert out["resets"] == [10]
    out = method.run_condition("forced", 0, cfg)
    assert out["resets"] == list(range(1, 31))
    out = method.run_condition("vanilla", 0, cfg)
    assert out["resets"] == [] and [r["step"] for r in out["probes"]] == [0, 10, 20, 30]


def test_reset_redraws_only_the_embedding_and_zeroes_its_moments():
    model = make_model(method.make_spec(_tiny_cfg()), seed=0)
    forget = method.EmbeddingForgetting(model, every=5, stop=None, seed=0).attach()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = TASK.sample(8, torch.Generator().manual_seed(0))
    from shared.lm.trainer import loss_on

    loss_on(model, batch).backward()
    opt.step()
    assert forget.optimizer is opt
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    forget(5)
    forget.detach()
    emb = model.model.embed_tokens.weight
    assert not torch.equal(before["model.embed_tokens.weight"], emb)
    assert abs(emb.std().item() - 0.02) < 0.003
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters() if n != "model.embed_tokens.weight")
    assert all((v == 0).all() for v in opt.state[emb].values() if torch.is_tensor(v))
    assert any((v != 0).any() for v in opt.state[model.lm_head.weight].values() if torch.is_tensor(v))
    forget(4)  # not due: nothing changes
    assert forget.resets == [5]


def test_probe_on_an_untrained_model_is_near_chance():
    """Placebo: a fresh model has no strategy; unseen accuracy and the conflict IWL share sit near 1/2."""
    cfg = _tiny_cfg()
    model = make_model(method.make_spec(cfg), seed=0)
    probe = method.Probe(model, TASK, TASK.probe_sets(512, seed=0), every=1, seed=0)
    row = probe.measure(0)
    assert 0.3 < row["unseen_acc"] < 0.7 or row["unseen_acc"] in (0.0, 1.0)  # an untrained head may prefer one label
    assert row["unseen_n"] == 512


def _measure(values):
    return Measurement.mean(values, n_unit="seeds", bounds=(-1.0, 1.0))


def test_rules_can_say_not_reproduced_on_null_inputs():
    """Null inputs (chance everywhere, no drop, no margin) make every claim not reproduced or inconclusive."""
    chance = [0.5, 0.49, 0.51, 0.5, 0.5]
    zero = [0.0, 0.01, -0.01, 0.0, 0.0]
    measurements, controls, checks = {}, {}, {}
    for c in CLAIMS:
        lo_is_good = c.rule.describe().startswith("<=")
        measurements[c.id] = _measure([0.95] * 5 if lo_is_good else (zero if "drop" in c.measures else chance))
        if c.control:
            controls[c.id] = _measure(zero)
        for p in c.preconditions:
            checks[p.id] = _measure([0.99, 0.98, 0.99, 0.97, 0.99])
    results = evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)
    for r in results:
        assert r["verdict"] in ("not reproduced", "inconclusive"), (r["id"], r["verdict"])
    assert sum(r["verdict"] == "not reproduced" for r in results) >= len(results) - 1
