"""Tests of papers.scan_snap_2023.method: known answers of the attention statistics, the paper's starting point, and
null inputs that make every deciding rule say "not reproduced"."""

import math

import torch

from papers.scan_snap_2023 import method
from papers.scan_snap_2023.claims import CLAIMS
from shared.claims import Measurement
from shared.lm.tasks import KeyTokenModel

TASK = KeyTokenModel(common_mass=0.8)
BY_ID = {c.id: c for c in CLAIMS}


def test_type_mass_gain_entropy_known_answers():
    ctx = torch.tensor([[3, 3, 4, 6]])
    attn = torch.tensor([[0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    mass = method.type_mass(attn, ctx, 8)
    assert mass[0].tolist() == [0, 0, 0, 0.5, 0.25, 0, 0.25, 0]
    gain = method.occurrence_gain(mass, method.type_counts(ctx, 8))
    assert gain[0, [3, 4, 6]].tolist() == [1.0, 1.0, 1.0] and torch.isnan(gain[0, 0])  # uniform: gain 1
    assert math.isclose(float(method.type_entropy(mass)[0]), -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))


def test_spearman_snap_late_share():
    assert method.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert method.spearman([1, 2, 3, 4], [1, 1, 1, 1]) == 0.0  # constant: no order
    assert math.isclose(method.spearman([1, 2, 3, 4], [1, 2, 2, 3]), 0.9486832980505138)
    # a drop that settles at step 20 of 60; a steady decline has half its drop in the second half
    assert method.snap_step([0, 20, 40, 60], [2.0, 1.05, 1.01, 1.0]) == 20.0
    assert math.isclose(method.late_share([0, 20, 40], [2.0, 1.0, 0.0]), 0.5)
    assert method.late_share([0, 20, 40], [2.0, 2.0, 2.0]) == 1.0


def test_interpolated_snap_and_slope():
    # the crossing of 10% of the drop (0.1) lies between the probes at 10 (0.1 away... 0.5 away) and 20
    assert math.isclose(method.snap_step([0, 10, 20, 30], [2.0, 1.5, 1.05, 1.0], interpolate=True), 10 + 10 * 0.4 / 0.45)
    assert method.snap_step([0, 10, 20], [2.0, 2.0, 2.0], interpolate=True) == 0.0  # no drop: nothing to wait for
    assert math.isclose(method.slope([math.log(r) for r in (4, 8, 16)], [math.log(t) for t in (400, 200, 100)]), -1.0)
    assert method.slope([2, 2, 2], [1, 2, 3]) == 0.0


def test_final_probe_is_a_separate_larger_set():
    kw = dict(eta_y=0.4, eta_z=0.05, steps=20, batch=16, length=16, seed=0, probe_seqs=16, every=10)
    out = method.train_run(TASK, final_probe_seqs=64, **kw)
    assert out["final"] is not None and len(out["final"]["gain"]) == TASK.classes
    assert method.train_run(TASK, **kw)["final"] is None


def test_runs_in_worker_processes_equal_serial_runs():
    # the notebook trains its runs two at a time (shared.parallel.map_jobs): the records must be the serial ones
    from shared.parallel import map_jobs

    kw = dict(task=TASK, eta_y=0.4, eta_z=0.05, steps=20, batch=16, length=16, probe_seqs=16, every=10,
              final_probe_seqs=32)  # fmt: skip
    jobs = [dict(kw, seed=0), dict(kw, seed=1, shuffle_labels=True)]
    # repr: exact for floats, and NaN (a class absent from the probe) equals NaN
    assert repr(map_jobs(method.train_run, jobs, workers=2)) == repr(map_jobs(method.train_run, jobs, workers=1))


def test_paper_init_uniform_and_lr_split():
    model = method.make_model(method.make_spec(TASK, 32, 1, 16), seed=0)
    method.paper_init(model)
    batch = TASK.sample(8, 16, torch.Generator().manual_seed(0))
    a = method.query_attention(model, batch["input_ids"])
    torch.testing.assert_close(a, torch.full_like(a, 1 / 16))
    mult = method.lr_mult(0.4, 0.05)
    assert set(mult) == set(method.ATTENTION_PREFIXES) and all(math.isclose(v, 0.125) for v in mult.values())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert "model.embed_tokens.weight" not in names and any(n.startswith(method.ATTENTION_PREFIXES[0]) for n in names)


def test_probe_at_uniform_attention_is_the_null():
    # the untrained model (Z = 0) is the null of every scan statistic: gain 1 for every token, shares = token counts
    model = method.make_model(method.make_spec(TASK, 32, 1, 16), seed=0)
    method.paper_init(model)
    batch = TASK.sample(64, 16, torch.Generator().manual_seed(1))
    probe = method.Probe(TASK, batch["input_ids"], batch["classes"], every=1)
    probe(model, 0)
    row = probe.rows[0]
    assert all(math.isclose(g, 1.0) for gs in row["gain"] for g in gs if not math.isnan(g))
    assert math.isclose(row["distinct"] + row["common"], 1.0)
    rho = [method.spearman([0.4, 0.3, 0.2, 0.1], g) for g in row["gain"]]
    assert all(r == 0.0 for r in rho)


def test_short_run_is_deterministic_and_learns():
    kw = dict(eta_y=0.4, eta_z=0.05, steps=30, batch=16, length=16, seed=0, probe_seqs=32, every=10)
    a, b = method.train_run(TASK, **kw), method.train_run(TASK, **kw)
    assert repr(a["rows"]) == repr(b["rows"]) and a["final_loss"] == b["final_loss"]  # repr: NaN-safe
    assert [r["step"] for r in a["rows"]] == [0, 10, 20, 30]
    assert a["final_loss"] < math.log(TASK.classes + 1) and a["diverged"] is None
    blown = method.train_run(TASK, **{**kw, "eta_y": 1e6, "eta_z": 1e6})
    assert all(math.isfinite(r["entropy"]) for r in blown["rows"])  # a blown-up run keeps only finite probes


def _verdict(cid, m, control=None, checks=None):
    return BY_ID[cid].evaluate(m, control=control, checks=checks)["verdict"]


def test_rules_can_say_not_reproduced_on_null_inputs():
    seeds = {"n_unit": "seeds"}
    null = [0.0, 0.001, -0.001, 0.002, -0.002]
    ok = {"no-run-diverged": Measurement.exact(0, n=5)}
    moved = {**ok, "attention-moved": Measurement.mean([1.0] * 5, **seeds)}
    every = {**ok, "attention-moved-every-ratio": Measurement.exact(1.0, n=5),
             "froze-every-ratio": Measurement.exact(0.1, n=5)}
    ctrl = Measurement.paired_difference([0.5] * 5, [0.0] * 5, **seeds)
    # no move towards distinct tokens, no order, a steady decline, winner-takes-all, no learning-rate dependence
    assert _verdict("scan-distinct", Measurement.mean(null, **seeds), control=ctrl, checks=ok) == "not reproduced"
    assert _verdict("order-cooccurrence", Measurement.mean(null, **seeds), control=ctrl, checks=ok) == "not reproduced"
    assert _verdict("snap-freezes", Measurement.mean([0.5, 0.49, 0.51, 0.5, 0.5], **seeds), checks=moved) == "not reproduced"
    assert _verdict("no-winner-takes-all", Measurement.mean([0.0, 0.01, 0.02, 0.0, 0.01], **seeds), checks=moved) == "not reproduced"
    assert _verdict("snap-time-lr", Measurement.mean(null, **seeds), checks=every) == "not reproduced"
    assert _verdict("snap-entropy-lr", Measurement.mean(null, **seeds), checks=every) == "not reproduced"


def test_control_and_precondition_guard_the_verdict():
    seeds = {"n_unit": "seeds"}
    big = Measurement.mean([0.6, 0.62, 0.58, 0.61, 0.6], **seeds)
    # the shuffled-label control does as well: not reproduced; the attention never moved: inconclusive
    tie = Measurement.paired_difference([0.0, 0.01, -0.01, 0.0, 0.0], [0.0] * 5, **seeds)
    ok = {"no-run-diverged": Measurement.exact(0, n=5)}
    assert _verdict("scan-distinct", big, control=tie, checks=ok) in ("not reproduced", "inconclusive")
    frozen = Measurement.mean([0.01] * 5, **seeds)
    still = {**ok, "attention-moved": Measurement.mean([0.0, 0.01, 0.0, 0.02, 0.0], **seeds)}
    assert _verdict("snap-freezes", frozen, checks=still) == "inconclusive"


def test_run_summary_keeps_what_the_claims_read(tmp_path):
    # the shipped store holds run_summary's output: the curve without per-probe mass and gain, the last row and the
    # end-of-training record whole; through the store it reads back equal (JSON keeps NaN and exact floats)
    from shared.lm import runlogs

    kw = dict(task=TASK, eta_y=0.4, eta_z=0.05, steps=20, batch=16, length=16, probe_seqs=16, every=10,
              final_probe_seqs=32, seed=0)  # fmt: skip
    full, slim = method.train_run(**kw), method.run_summary(**kw)
    assert [set(r) for r in slim["rows"][:-1]] == [{"step", "entropy", "distinct", "common"}] * 2
    assert repr(slim["rows"][-1]) == repr(full["rows"][-1]) and repr(slim["final"]) == repr(full["final"])
    assert [r["entropy"] for r in slim["rows"]] == [r["entropy"] for r in full["rows"]]
    (stored,), trained = runlogs.cached_map(method.run_summary, [kw], tmp_path / "s.json.gz", code="x", log=None)
    assert trained == 1 and repr(stored["final"]) == repr(slim["final"]) and stored["rows"][0] == slim["rows"][0]
