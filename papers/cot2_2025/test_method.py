import torch

from papers.cot2_2025 import method
from papers.cot2_2025.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims


def test_equal_lengths_and_losses_run():
    task = method.MNNS(m=4, high=5)
    a = task.instances()[:8]
    model = method.train_model(task, "cot2", task.instances(), hidden=16, layers=1, heads=2, steps=2, batch=4, lr=1e-3,
                               seed=0)  # fmt: skip
    loss = method.csft_loss(model, method.csft_batch(task, a))
    assert torch.isfinite(loss) and loss > 0
    for name in ("discrete", "no_cot"):
        b = method.BATCHES[name](task, a)
        assert b["input_ids"].shape[1] == task.seq_len and (b["targets"] != -100).sum(1).tolist() == (
            [task.m] * 8 if name == "discrete" else [1] * 8
        )


def test_rollouts_share_the_first_step_and_differ_after():
    # every method sees only the prompt at step 1; CoT2 then feeds a mixture, discrete CoT a token, no-CoT a filler
    task = method.MNNS(m=4, high=5)
    model = method.train_model(task, "cot2", task.instances(), hidden=16, layers=1, heads=2, steps=1, batch=4, lr=1e-3,
                               seed=0)  # fmt: skip
    a = task.instances()[:16]
    outs = {name: method.rollout(model, task, a, name)["probs"] for name in method.METHODS}
    assert outs["cot2"].shape == (16, 4, task.vocab)
    assert torch.allclose(outs["cot2"][:, 0], outs["discrete"][:, 0]) and torch.allclose(
        outs["cot2"][:, 0], outs["no_cot"][:, 0]
    )
    assert not torch.allclose(outs["cot2"][:, 1], outs["no_cot"][:, 1])


def test_overlap_known_values():
    p = torch.tensor([0.5, 0.5, 0.0])
    assert method.overlap(p, p).item() == 1.0
    assert method.overlap(p, torch.tensor([0.0, 0.0, 1.0])).item() == 0.0
    assert abs(method.overlap(torch.tensor([1.0, 0.0, 0.0]), p).item() - 0.5) < 1e-12


def _judge(gap, gap_narrow, overlap_cot2, overlap_disc, no_cot_margin, learned=0.3):
    seeds = {"n_unit": "seeds"}
    zeros = [0.0] * 5
    measurements = {
        "cot2-beats-discrete": Measurement.paired_difference(gap, zeros, **seeds),
        "advantage-needs-width": Measurement.paired_difference(gap, gap_narrow, **seeds),
        "tracks-reachable-sums": Measurement.mean(overlap_cot2, bounds=(0.0, 1.0), **seeds),
    }
    controls = {
        "cot2-beats-discrete": Measurement.paired_difference(no_cot_margin, zeros, **seeds),
        "tracks-reachable-sums": Measurement.paired_difference(overlap_cot2, overlap_disc, **seeds),
    }
    checks = {"task-learned": Measurement.exact(learned, n=5, n_unit="seeds")}
    return {r["id"]: r["verdict"] for r in evaluate_claims(CLAIMS, measurements, controls=controls, checks=checks)}


def test_rules_can_say_reproduced():
    v = _judge([0.4, 0.45, 0.5, 0.42, 0.48], [0.0, 0.05, -0.02, 0.03, 0.01], [0.95, 0.97, 0.96, 0.94, 0.98],
               [0.3] * 5, [0.4, 0.5, 0.45, 0.42, 0.47])  # fmt: skip
    assert set(v.values()) == {"reproduced"}, v


def test_null_inputs_say_not_reproduced():
    # placebo: CoT2 no better than discrete at either width, its state a single trace (overlap like discrete)
    v = _judge([-0.1, -0.12, -0.09, -0.11, -0.1], [0.1, 0.12, 0.09, 0.11, 0.1], [0.3, 0.31, 0.29, 0.3, 0.32],
               [0.3] * 5, [0.2] * 5)  # fmt: skip
    assert v == {k: "not reproduced" for k in v}, v


def test_untrained_setup_is_inconclusive():
    v = _judge([0.0] * 5, [0.0] * 5, [0.9] * 5, [0.3] * 5, [0.0] * 5, learned=0.0)
    assert v["cot2-beats-discrete"] == "inconclusive" and v["advantage-needs-width"] == "inconclusive"
