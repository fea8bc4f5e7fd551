"""Tests of papers.deconstructing_attention_2025.method: Non-approximate attention against its formula, the hybrid
patterns, no-mixing and static mixing invariants, the copy probe, checkpoints, and placebo inputs that make every
claim's rule answer "not reproduced"."""


import pytest
import torch

from papers.deconstructing_attention_2025 import method
from papers.deconstructing_attention_2025.claims import CLAIMS
from shared.claims import Measurement
from shared.lm import family

CLAIM = {c.id: c for c in CLAIMS}


def test_nonapx_weights_known_answer():
    # one head, three positions: scores s_j = silu(q_j) . k_j * scale, weights softmax over j <= i
    q = torch.tensor([[[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]]])
    k = torch.tensor([[[[2.0, 0.0], [0.0, 1.0], [-1.0, 3.0]]]])
    s = (torch.nn.functional.silu(q) * k).sum(-1)[0, 0]
    w = method.nonapx_weights(q, k, 1.0, family.visible_keys(3, 3, "cpu"))[0, 0]
    expected = torch.zeros(3, 3)
    for i in range(3):
        expected[i, : i + 1] = s[: i + 1].softmax(-1)
    torch.testing.assert_close(w, expected)


def test_rotate_back_inverts_rope():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 8, generator=g)
    half = torch.randn(1, 1, 5, 4, generator=g)
    angle = torch.cat([half, half], dim=-1)  # Llama's halves share their phases
    cos, sin = angle.cos(), angle.sin()
    torch.testing.assert_close(method._rotate_back(family._rotate(x, cos, sin), cos, sin), x)


def test_nonapx_layer_uses_unrotated_projections():
    model = method.make_model(("nonapx", "softmax"), 40, seed=1, hidden_size=16, heads=2, context=16)
    ids = torch.randint(0, 40, (2, 9), generator=torch.Generator().manual_seed(2))
    attn = model.model.layers[0].self_attn
    with torch.no_grad():
        x = model.model.layers[0].input_layernorm(model.model.embed_tokens(ids))
        shape = (2, 9, 2, 8)
        q = attn.q_proj(x).view(shape).transpose(1, 2)
        k = attn.k_proj(x).view(shape).transpose(1, 2)
        direct = method.nonapx_weights(q, k, attn.scaling, family.visible_keys(9, 9, "cpu"))
    torch.testing.assert_close(family.attention_probs(model, ids)[:, 0], direct)


def test_architectures_follow_the_paper_pattern():
    archs = method.architectures(["static"], layers=4)
    assert archs["standard"] == ("softmax",) * 4
    assert archs["uniform-static"] == ("static",) * 4
    assert archs["hybrid-static"] == ("static", "softmax", "static", "softmax")  # odd layers (1, 3) relaxed


def test_mlp_only_sees_no_context_and_copy_gain_is_zero():
    model = method.make_model(("none", "none"), 30, seed=0, hidden_size=16, heads=2, context=32)
    ids = method.copy_probe(4, 6, 30, seed=0)
    assert abs(method.copy_gain(model, ids)) < 1e-6  # identical (input, target) pairs in both copies
    other = ids.clone()
    other[:, :3] = (other[:, :3] + 1) % 30
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits[:, 3:], model(input_ids=other).logits[:, 3:])


def test_static_mixing_is_input_independent():
    model = method.make_model(("static", "static"), 30, seed=0, hidden_size=16, heads=2, context=16)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.static_logits.normal_()
    g = torch.Generator().manual_seed(3)
    a = family.attention_probs(model, torch.randint(0, 30, (2, 10), generator=g))
    b = family.attention_probs(model, torch.randint(0, 30, (2, 10), generator=g))
    torch.testing.assert_close(a, b)


def test_checkpoint_round_trip(tmp_path):
    size = {"hidden_size": 16, "heads": 2, "context": 16, "mlp_ratio": 2}
    cfg = {"steps": 3, "batch_size": 2, "seq_len": 8, "lr": 1e-2, "warmup": 1, "weight_decay": 0.1, "threads": 1}
    stream = torch.randint(0, 20, (500,), generator=torch.Generator().manual_seed(0))
    model = method.train_lm(("static", "softmax"), 0, stream, 20, size, cfg)
    again = method.train_lm(("static", "softmax"), 0, stream, 20, size, cfg)
    for a, b in zip(model.parameters(), again.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # deterministic per seed
    key = method.run_key(("static", "softmax"), 0, 20, size, cfg, [500])
    method.save_checkpoint(tmp_path / "m.safetensors", model, key)
    fresh = method.load_checkpoint(tmp_path / "m.safetensors", method.make_model(("static", "softmax"), 20, 7, **size),
                                   key)  # fmt: skip
    ids = stream[:16].view(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(fresh(input_ids=ids).logits, model(input_ids=ids).logits)
    with pytest.raises(ValueError, match="other settings"):
        method.load_checkpoint(tmp_path / "m.safetensors", method.make_model(("static", "softmax"), 20, 7, **size), "x")


def test_shares_known_answers():
    assert method.share_of_gain([(3.0, 2.5, 2.0)]) == pytest.approx(0.5)
    assert method.recovered_share([(10.0, 2.1, 2.0)]) == pytest.approx(7.9 / 8.0)
    # gains instead of losses: uniform 0.1, hybrid 1.9, standard 2.1 -> 0.9
    assert method.recovered_share([(0.1, 1.9, 2.1)]) == pytest.approx(0.9)
    assert method.ratio_of_means([(1.0, 4.0), (3.0, 4.0)]) == pytest.approx(0.5)


# placebo inputs: what each rule must call "not reproduced"
SEEDS = 5
STD = [2.40, 2.41, 2.39, 2.40, 2.42]
MLP = [2.70, 2.71, 2.69, 2.70, 2.72]


# the hybrid MLP-only control off par (the paper's 1.051), so that the on-par claims can be judged
OFF_PAR = {"hybrid-mlp-off-par": Measurement.ratio([x * 1.05 for x in STD], STD, n_unit="seeds")}

# a control margin wholly above zero, so that the rule alone decides
BEATEN = Measurement.paired_difference([1.0] * SEEDS, [0.90, 0.91, 0.92, 0.93, 0.94], n_unit="seeds")


def _verdict(cid, m, control=None, checks=None):
    if control is None and CLAIM[cid].control is not None:
        control = BEATEN
    return CLAIM[cid].evaluate(m, control=control, checks=checks)["verdict"]


def test_placebos_are_not_reproduced():
    learned = {"standard-learned": Measurement.ratio(STD, [3.4] * SEEDS, n_unit="seeds")}
    matters = {**learned, "mixing-matters": Measurement.ratio(MLP, STD, n_unit="seeds")}
    # MLP-only as good as standard: no collapse
    assert (
        _verdict("mlp-only-collapses", Measurement.ratio(STD, STD, n_unit="seeds"), checks=learned) == "not reproduced"
    )
    # a uniform variant no better than MLP-only keeps nothing
    share = Measurement.bootstrap(list(zip(MLP, MLP, STD)), method.share_of_gain, n_unit="seeds")
    assert _verdict("uniform-static-keeps-most", share, checks=matters) == "not reproduced"
    assert _verdict("uniform-linear-keeps-most", share, checks=matters) == "not reproduced"
    # Non-approximate as good as standard does not fail
    share = Measurement.bootstrap(list(zip(MLP, STD, STD)), method.share_of_gain, n_unit="seeds")
    assert _verdict("uniform-nonapx-fails", share, checks=matters) == "not reproduced"
    # a hybrid that sits at MLP-only's loss is not on par (in a setup where the hybrid MLP-only is off par)
    ratio = Measurement.ratio(MLP, STD, n_unit="seeds")
    for v in ("static", "linear", "nonapx"):
        assert _verdict(f"hybrid-{v}-on-par", ratio, checks={**learned, **OFF_PAR}) == "not reproduced"
    # a hybrid that recovers nothing of the uniform's deficit
    units = list(zip([3.0] * SEEDS, [3.0 + 0.01 * i for i in range(SEEDS)], STD))
    rec = Measurement.bootstrap(units, method.recovered_share, n_unit="seeds")
    fails = {**learned, "nonapx-fails-alone": Measurement.bootstrap(list(zip(MLP, [3.0] * SEEDS, STD)),
                                                                    method.share_of_gain, n_unit="seeds")}  # fmt: skip
    assert _verdict("cooperation-nonapx", rec, checks=fails) == "not reproduced"
    copy_checks = {"standard-copies": Measurement.mean([2.0, 2.1, 1.9, 2.0, 2.2], n_unit="seeds"),
                   "static-fails-copy": Measurement.exact(0.0)}  # fmt: skip
    rec = Measurement.bootstrap(list(zip([0.0] * SEEDS, [0.01 * i for i in range(SEEDS)], [2.0] * SEEDS)),
                                method.recovered_share, n_unit="seeds")  # fmt: skip
    assert _verdict("cooperation-static-copy", rec, checks=copy_checks) == "not reproduced"


def test_a_hybrid_that_only_matches_its_control_is_not_reproduced():
    # on par with standard, but no better than the hybrid whose variant layer mixes nothing
    learned = {"standard-learned": Measurement.ratio(STD, [3.4] * SEEDS, n_unit="seeds"), **OFF_PAR}
    ratio = Measurement.ratio([x * 1.005 for x in STD], STD, n_unit="seeds")
    margin = Measurement.paired_difference([x - 0.01 for x in STD], STD, n_unit="seeds")  # control 0.01 better
    assert _verdict("hybrid-static-on-par", ratio, control=margin, checks=learned) == "not reproduced"


def test_on_par_cannot_be_judged_where_the_hybrid_mlp_is_on_par_too():
    # the hybrid MLP-only control itself within the band (our 2-layer setup: 1.006): every hybrid is on par
    # trivially, so an on-par ratio and a beaten control still give inconclusive, never reproduced
    checks = {"standard-learned": Measurement.ratio(STD, [3.4] * SEEDS, n_unit="seeds"),
              "hybrid-mlp-off-par": Measurement.ratio([x * 1.006 for x in STD], STD, n_unit="seeds")}  # fmt: skip
    ratio = Measurement.ratio([x * 1.002 for x in STD], STD, n_unit="seeds")
    for v in ("static", "linear", "nonapx"):
        assert _verdict(f"hybrid-{v}-on-par", ratio, checks=checks) == "inconclusive"
    # and the same hybrid passes where dropping the variant layer's mixing leaves the band (the paper: 1.051)
    assert _verdict("hybrid-static-on-par", ratio, checks={**checks, **OFF_PAR}) == "reproduced"


def test_failed_preconditions_give_inconclusive():
    unlearned = {"standard-learned": Measurement.ratio(STD, STD, n_unit="seeds")}
    assert (
        _verdict("mlp-only-collapses", Measurement.ratio(MLP, STD, n_unit="seeds"), checks=unlearned) == "inconclusive"
    )
