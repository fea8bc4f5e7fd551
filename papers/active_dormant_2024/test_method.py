"""Tests of the paper's Bigram-Backcopy setting on the shared engine: the task's known answers, the extreme-token
statistics on a planted sink in a family model, and training through the shared trainer."""

import math

import pytest
import torch

from papers.active_dormant_2024 import method
from papers.active_dormant_2024.method import BBConfig, extreme_token_stats, make_model, split_loss, train_bb
from shared.lm.tasks import BigramBackcopy

TEXT = "the cat sat on the mat. a hat that is flat: the end.\n" * 20


@pytest.fixture(scope="module")
def task():
    return BigramBackcopy.from_text(TEXT, k=3)


def test_bigram_estimate_and_triggers(task):
    torch.testing.assert_close(task.transition.sum(1), torch.ones(len(task.itos), dtype=torch.float64))
    # ' ', 't' and 'a' are the three most frequent characters of TEXT
    assert sorted(task.itos[i] for i in task.triggers) == [" ", "a", "t"]
    h, e = task.itos.index("h"), task.itos.index("e")
    # after 'h' the text always continues with 'e' or 'a'
    assert task.transition[h, e] > 0.5 and task.transition[h].count_nonzero() == 2
    assert task.bos == len(task.itos) == task.vocab


def test_samples_follow_the_bb_rules(task):
    seq = task.sample(200, 40, torch.Generator().manual_seed(0))
    assert seq.shape == (200, 41) and (seq[:, 0] == task.bos).all()
    assert not task.is_trigger(seq[:, 1]).any(), "the first token is drawn from the trigger-free marginal"
    body = seq[:, 1:]
    trig = task.is_trigger(body[:, 1:-1])
    # after a trigger: a copy of the token before it
    assert torch.equal(body[:, 2:][trig], body[:, :-2][trig])
    # elsewhere: a transition the bigram chain allows
    prev, nxt = body[:, 1:-1][~trig], body[:, 2:][~trig]
    assert (task.transition[prev, nxt] > 0).all()
    assert trig.float().mean() > 0.1, "triggers are the most frequent tokens: they must occur often"


def test_sampled_bigram_frequencies_match_the_chain(task):
    # a statistical check on the most frequent non-trigger character's row: each frequency within 4 standard errors
    seq = task.sample(400, 60, torch.Generator().manual_seed(1))
    x, y = seq[:, 1:-1].flatten(), seq[:, 2:].flatten()
    counts = torch.bincount(x[~task.is_trigger(x) & (x != task.bos)], minlength=task.vocab + 1)
    h = int(counts.argmax())
    nxt = y[x == h]
    p = task.transition[h]
    freq = torch.bincount(nxt, minlength=task.vocab + 1)[: len(p)].double() / len(nxt)
    se = (p * (1 - p) / len(nxt)).sqrt()
    assert len(nxt) > 1000 and ((freq - p).abs() <= 4 * se + 1e-12).all()


def test_model_is_the_papers_architecture(task):
    cfg = BBConfig(layers=2, dim=16, length=12)
    model = make_model(task, cfg, seed=0)
    spec = model.spec
    assert (spec.vocab_size, spec.hidden_size, spec.layers, spec.heads, spec.context) == (task.vocab + 1, 16, 2, 1, 13)
    assert (spec.position, spec.norm, spec.mlp, spec.tie_embeddings) == ("learned", "layer", "relu", False)
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr(), "untied readout"
    relu = make_model(task, BBConfig(layers=1, dim=16, length=12, attention="relu"), seed=0)
    assert relu.spec.per_layer() == ("relu",)


def _planted_model(task, head_on_bos: bool):
    """A 1-layer family model whose head attends to BOS with a large logit (or uniformly) and whose values ignore the
    BOS flag; attention output and MLP are zero, so the residual after the block is the input."""
    model = make_model(task, BBConfig(layers=1, dim=8, length=15), seed=0)
    layer = model.model.layers[0]
    attn = layer.self_attn
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        layer.input_layernorm.weight.fill_(1.0)
        # residual coordinate 0 flags BOS, coordinate 1 is a constant; LayerNorm keeps them apart
        emb = model.model.embed_tokens.weight
        emb[:, 1] = 1.0
        emb[task.bos, 0] = 5.0
        emb[: task.bos, 2:] = torch.randn(task.bos, 6, generator=torch.Generator().manual_seed(0))
        if head_on_bos:
            attn.q_proj.weight[0, 1] = 20.0  # query: constant
            attn.k_proj.weight[0, 0] = 1.0  # key: BOS flag
        attn.v_proj.weight[1:, 2:] = torch.eye(7, 6)  # values ignore coordinates 0 and 1
    return model


def test_stats_on_a_planted_sink(task):
    tokens = task.sample(8, 15, torch.Generator().manual_seed(2))[:, :-1]
    sink = extreme_token_stats(_planted_model(task, True), task, tokens)[0]
    flat = extreme_token_stats(_planted_model(task, False), task, tokens)[0]
    assert sink["sink_nontrigger"] > 0.99 and sink["sink_share_nontrigger"] > 0.99 and sink["logit_gap"] > 10
    # uniform attention over i + 1 keys puts 1 / (i + 1) on BOS, and the logit gap is 0
    assert flat["sink_nontrigger"] < 0.5 and abs(flat["logit_gap"]) < 1e-6
    positions = torch.arange(1, tokens.shape[1]).expand_as(tokens[:, 1:])
    mask = task.is_trigger(tokens)[:, 1:]
    assert flat["sink_nontrigger"] == pytest.approx((1.0 / (positions[~mask] + 1)).mean().item(), rel=1e-5)
    assert flat["prev_trigger"] == pytest.approx((1.0 / (positions[mask] + 1)).mean().item(), rel=1e-5)
    # the norm ratios, recomputed by hand from the block's pieces
    model = _planted_model(task, True)
    layer = model.model.layers[0]
    with torch.no_grad():
        h0 = model.model.embed_tokens(tokens) + model.position_table(torch.arange(tokens.shape[1]))
        v = layer.self_attn.v_proj(layer.input_layernorm(h0)).norm(dim=-1)
        h1 = h0.norm(dim=-1)  # attention output and MLP are zero
    assert sink["value_ratio"] == pytest.approx((v[:, 0].mean() / v[:, 1:].mean()).item(), abs=1e-6)
    assert sink["residual_ratio"] == pytest.approx((h1[:, 0].mean() / h1[:, 1:].median()).item(), rel=1e-5)


def test_relu_rows_need_not_sum_to_one(task):
    """ReLU attention with every logit negative gives zero weight everywhere: no sink share, no NaN."""
    model = _planted_model(task, True)
    relu = make_model(task, BBConfig(layers=1, dim=8, length=15, attention="relu"), seed=0)
    relu.load_state_dict(model.state_dict())
    with torch.no_grad():
        relu.model.layers[0].self_attn.q_proj.weight[0, 1] = -20.0  # BOS logit very negative, others 0
    tokens = task.sample(8, 15, torch.Generator().manual_seed(2))[:, :-1]
    stats = extreme_token_stats(relu, task, tokens)[0]
    assert stats["sink_nontrigger"] == 0 and stats["sink_share_nontrigger"] == 0 and stats["logit_gap"] < -10


def test_training_learns_the_copy_and_logs_dynamics(task):
    cfg = BBConfig(dim=32, length=24, batch=32, steps=150, lr=1e-2, log_every=50)
    probe = task.sample(32, 24, torch.Generator().manual_seed(3))
    model, hist = train_bb(task, cfg, seed=0, probe=probe)
    assert [r["step"] for r in hist] == [0, 50, 100, 150]
    assert hist[-1]["loss"] < hist[0]["loss"] - 1.0
    assert hist[0]["loss"] == pytest.approx(math.log(task.vocab + 1), abs=0.5), "untrained: near log V"
    losses = split_loss(model, task, probe)
    # copying is learnable to near zero loss; an untrained model sits near log V
    assert losses["copy_loss"] < 0.5 * math.log(task.vocab + 1)
    assert losses["bigram_loss"] >= losses["bigram_optimum"] - 0.2
    again, hist2 = train_bb(task, cfg, seed=0, probe=probe)
    assert hist2 == hist, "the same seed gives the same run"


def test_relu_model_and_sgd_run():
    task = BigramBackcopy.from_text(TEXT, k=2)
    cfg = BBConfig(dim=16, length=12, batch=8, steps=5, lr=1e-2, optimizer="sgd", attention="relu")
    model, hist = train_bb(task, cfg, seed=0, probe=task.sample(4, 12, torch.Generator().manual_seed(0)))
    assert len(hist) == 2 and all(math.isfinite(v) for r in hist for v in r.values())
    with pytest.raises(ValueError):
        train_bb(task, BBConfig(steps=1, optimizer="lion"), seed=0)


def test_bos_clamp_holds_the_value_norm_and_runs_share_their_first_steps(task):
    probe = task.sample(16, 12, torch.Generator().manual_seed(4))
    placebo = int(probe[:, 1].mode().values)
    base = dict(layers=1, dim=16, length=12, batch=8, lr=1e-2, log_every=10)
    _, long = train_bb(task, BBConfig(steps=30, **base), seed=0, probe=probe)
    _, short = train_bb(task, BBConfig(steps=20, **base), seed=0, probe=probe)
    assert short == long[: len(short)], "a shorter run is the prefix of a longer one (constant lr, same data)"
    clamped, hist = train_bb(task, BBConfig(steps=20, clamp="bos", **base), seed=0, probe=probe)
    assert all(abs(r["value_ratio"] - 1.0) < 0.05 for r in hist), "the BOS value norm is held at the others' mean"
    _, hist_p = train_bb(task, BBConfig(steps=20, clamp="placebo", **base), seed=0, probe=probe, placebo_token=placebo)
    assert hist_p != short, "the placebo clamp edits the model too"
    # it edits along the placebo's input: BOS's value moves only through the overlap of the two inputs
    assert hist_p[0]["value_ratio"] == pytest.approx(short[0]["value_ratio"], abs=0.05)
    with pytest.raises(ValueError):
        train_bb(task, BBConfig(steps=1, clamp="placebo", **base), seed=0, probe=probe)


def test_clamp_is_a_rank_one_edit_along_the_input(task):
    from papers.active_dormant_2024.method import clamp_value_norm

    model = make_model(task, BBConfig(layers=1, dim=16, length=12), seed=0)
    probe = task.sample(8, 12, torch.Generator().manual_seed(5))[:, :-1]
    w = model.model.layers[0].self_attn.v_proj.weight
    x = torch.randn(16, generator=torch.Generator().manual_seed(6))
    y = torch.randn(16, generator=torch.Generator().manual_seed(7))
    y -= y.dot(x) / x.dot(x) * x  # orthogonal to x
    before_y = (w @ y).clone()
    with torch.no_grad():  # the target: the mean value norm at positions 1.. before the edit
        h = model.model.embed_tokens(probe) + model.position_table(torch.arange(probe.shape[1]))
        target = (model.model.layers[0].input_layernorm(h)[:, 1:] @ w.T).norm(dim=-1).mean()
    c = clamp_value_norm(model, probe, x)
    torch.testing.assert_close(w @ y, before_y)  # inputs orthogonal to x keep their values
    assert (w @ x).norm().item() == pytest.approx(target.item(), rel=1e-5) and c > 0


def test_mutual_reinforcement_rule_can_fail():
    """The redesigned claim (geometric mean of per-seed shares, log-scale control margin, as the notebook measures it)
    answers "not reproduced" when the clamp leaves the sink's growth intact, and not "reproduced" when the placebo
    clamp removes as much growth as the BOS clamp."""
    import numpy as np

    from papers.active_dormant_2024.claims import CLAIMS, MIN_SEEDS
    from shared.claims import Measurement

    claim = next(c for c in CLAIMS if c.id == "mutual-reinforcement")
    plain = np.array([3.0, 4.0, 5.0, 4.5, 3.5])  # per-seed mean logit gap of the plain runs
    enough = {"enough-seeds-mutual-reinforcement": Measurement.exact(MIN_SEEDS["mutual-reinforcement"])}
    grows = {"sink-grows": Measurement.mean(plain, n_unit="seeds"), **enough}

    def judge(bos_share, placebo_share, checks=grows):
        bos, placebo = plain * np.array(bos_share), plain * np.array(placebo_share)  # the clamped runs' gaps
        share = Measurement.bootstrap(list(zip(bos, plain, strict=True)), method.ratio_of_means, n_unit="seeds")
        margin = Measurement.paired_difference(placebo, bos, n_unit="seeds")
        return claim.evaluate(share, margin, checks)["verdict"]

    null = [1.02, 0.97, 1.05, 0.99, 1.01]  # the clamp changes nothing
    assert judge(null, [1.0, 0.9, 1.1, 1.0, 1.0]) == "not reproduced"
    strong = [0.2, 0.3, 0.25, 0.35, 0.3]
    assert judge(strong, [0.2, 0.3, 0.2, 0.3, 0.25]) in ("not reproduced", "inconclusive"), "placebo as good"
    beats = [1.0, 1.1, 0.9, 1.0, 1.05]
    assert judge(strong, beats) == "reproduced"
    flat = {"sink-grows": Measurement.mean([0.1, 0.2, 0.1, 0.3, 0.2], n_unit="seeds"), **enough}
    assert judge(strong, beats, flat) == "inconclusive", "no sink to slow: the setup cannot tell"
    gone = [-0.1, 0.3, 0.25, 0.35, 0.3]  # one clamped run ends with no growth at all: still defined
    assert judge(gone, beats) == "reproduced"
    assert method.ratio_of_means([(1.0, 0.0), (1.0, -1.0)]) != method.ratio_of_means([(1.0, 0.0)])  # NaN: dropped


def test_too_few_seeds_is_inconclusive():
    """The power preconditions: a training claim judged on fewer seeds than `MIN_SEEDS` is inconclusive whatever its
    value; with enough seeds the rule decides. Every claim (all are trained) has one."""
    from papers.active_dormant_2024.claims import CLAIMS, MIN_SEEDS
    from shared.claims import Measurement

    assert set(MIN_SEEDS) == {c.id for c in CLAIMS}
    claim = next(c for c in CLAIMS if c.id == "active-copy")
    m = Measurement.mean([0.99, 0.98, 0.995, 0.97, 0.985, 0.99], n_unit="seeds", bounds=(0.0, 1.0))
    pid = "enough-seeds-active-copy"
    assert claim.evaluate(m, checks={pid: Measurement.exact(MIN_SEEDS["active-copy"] - 1)})["verdict"] == "inconclusive"
    assert claim.evaluate(m, checks={pid: Measurement.exact(MIN_SEEDS["active-copy"])})["verdict"] == "reproduced"


def test_relu_claims_count_only_seeds_that_learned_the_copy():
    """The ReLU claims' precondition is the number of seeds whose ReLU model learned the copy (copy loss at most
    RELU_COPY_BAR), not the mean copy loss: one seed that never learned it no longer decides the precondition, and too
    few seeds that learned it leave the claim inconclusive."""
    from papers.active_dormant_2024.claims import CLAIMS, MIN_SEEDS, RELU_COPY_BAR
    from shared.claims import Measurement

    claim = next(c for c in CLAIMS if c.id == "relu-no-drain")
    assert [p.id for p in claim.preconditions] == ["enough-seeds-relu-no-drain"]
    copy_loss = [0.05, 0.1, 2.0, 0.08, 0.2, 0.06, 0.04, 0.3, 0.02]  # one seed never learned the copy
    ratios = [0.9, 1.0, 0.4, 0.95, 1.1, 0.85, 1.05, 0.9, 1.0]
    kept = [r for r, c in zip(ratios, copy_loss, strict=True) if c <= RELU_COPY_BAR]
    m = Measurement.mean(kept, n_unit="seeds")
    n = len(kept)
    assert n >= MIN_SEEDS["relu-no-drain"]
    assert claim.evaluate(m, checks={"enough-seeds-relu-no-drain": Measurement.exact(n)})["verdict"] == "reproduced"
    few = Measurement.exact(MIN_SEEDS["relu-no-drain"] - 1)
    assert claim.evaluate(m, checks={"enough-seeds-relu-no-drain": few})["verdict"] == "inconclusive"
    drained = Measurement.mean([0.05, 0.1, 0.08, 0.12, 0.07], n_unit="seeds")  # a drain with ReLU: the rule can fail
    assert claim.evaluate(drained, checks={"enough-seeds-relu-no-drain": Measurement.exact(n)})["verdict"] == (
        "not reproduced"
    )
