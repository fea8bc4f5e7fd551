"""Tests of papers.zerotuning_2025.method: the closed form, the attention hook against the paper's literal form on tiny
random models, the shared-prefix scoring, the calibration logic and the task builders."""

import math

import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

from papers.zerotuning_2025.method import (
    Score,
    Task,
    both_effective,
    calibrate,
    clustered_measurement,
    clusters,
    head_effect,
    head_gamma,
    label_logprobs,
    language_id_task,
    nonsink_entropy,
    prior_corrected,
    rescale_initial,
    scaled_initial_attention,
    wordnet_pos_task,
)
from shared.claims import Measurement

L, H = 3, 4


def tiny(kind: str):
    torch.manual_seed(0)
    common = dict(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=L, num_attention_heads=H)
    if kind == "llama":
        return LlamaForCausalLM(LlamaConfig(num_key_value_heads=2, **common)).eval()
    return Gemma3ForCausalLM(Gemma3TextConfig(num_key_value_heads=1, head_dim=8, sliding_window=64, **common)).eval()


def test_rescale_matches_closed_form():
    # one row: a0 = 0.5, then gamma = 3 gives a0' = 1.5 / 2 = 0.75 and the rest halved
    attn = torch.tensor([[[0.5, 0.3, 0.2]]], dtype=torch.float64)  # [H=1, Tq=1, Tk=3]
    out = rescale_initial(attn, torch.tensor([3.0]))
    torch.testing.assert_close(out, torch.tensor([[[0.75, 0.15, 0.10]]], dtype=torch.float64))


def test_rescale_invariants():
    torch.manual_seed(1)
    attn = torch.softmax(torch.randn(2, H, 5, 7, dtype=torch.float64), -1)
    gamma = torch.tensor([0.25, 1.0, 2.0, 5.0])
    out = rescale_initial(attn, gamma)
    torch.testing.assert_close(out.sum(-1), torch.ones(2, H, 5, dtype=torch.float64))
    torch.testing.assert_close(out[:, 1], attn[:, 1])  # gamma = 1 leaves the head alone
    a0 = attn[..., 0]
    denom = 1 + (gamma.view(-1, 1) - 1) * a0  # [2, H, 5]
    torch.testing.assert_close(out[..., 0], gamma.view(-1, 1) * a0 / denom)
    # the paper's "flattening": differences between non-initial weights shrink by exactly 1 / denom
    torch.testing.assert_close(out[..., 1:].diff(dim=-1), attn[..., 1:].diff(dim=-1) / denom.unsqueeze(-1))
    # and the renormalised distribution over the non-initial keys, hence its entropy, does not move
    causal = torch.softmax(torch.randn(1, H, 6, 6, dtype=torch.float64).masked_fill(
        torch.ones(6, 6).triu(1).bool(), -math.inf), -1)  # fmt: skip
    torch.testing.assert_close(nonsink_entropy(rescale_initial(causal, gamma)), nonsink_entropy(causal))


def test_nonsink_entropy_known_answer():
    # query 2 spreads 0.6 over keys 1 and 2 equally: renormalised uniform over 2 keys -> log 2
    attn = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    attn[0, 0, 0, 0] = 1
    attn[0, 0, 1, :2] = torch.tensor([0.5, 0.5])
    attn[0, 0, 2] = torch.tensor([0.4, 0.3, 0.3])
    ent = nonsink_entropy(attn)
    torch.testing.assert_close(ent[0, 0], torch.tensor([0.0, math.log(2)], dtype=torch.float64))


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
def test_fast_path_matches_reference_and_identity(kind):
    model = tiny(kind)
    ids = torch.randint(0, 50, (2, 12))
    gamma = torch.rand(L, H) * 3 + 0.2
    with torch.no_grad():
        stock = model(input_ids=ids).logits
        with scaled_initial_attention(model, torch.ones(L, H)):
            same = model(input_ids=ids).logits
        with scaled_initial_attention(model, gamma):
            fast = model(input_ids=ids).logits
        with scaled_initial_attention(model, gamma, reference=True):
            out = model(input_ids=ids, output_attentions=True)
        with scaled_initial_attention(model, torch.ones(L, H), reference=True):
            plain = model(input_ids=ids, output_attentions=True)
    torch.testing.assert_close(same, stock)
    torch.testing.assert_close(fast, out.logits, rtol=1e-4, atol=1e-5)
    assert (fast - stock).abs().max() > 1e-3, "the scaling must change the output"
    # layer 0 sees the same inputs either way: its scaled attention is the closed form of the untuned one
    torch.testing.assert_close(out.attentions[0], rescale_initial(plain.attentions[0], gamma[0]), rtol=1e-5, atol=1e-6)
    assert model.config._attn_implementation == "sdpa", "the context manager restores the attention implementation"


def test_one_head_only_changes_with_its_gamma():
    model = tiny("llama")
    ids = torch.randint(0, 50, (1, 10))
    with torch.no_grad(), scaled_initial_attention(model, torch.ones(L, H), reference=True):
        base = model(input_ids=ids, output_attentions=True).attentions[0][0]  # [H, T, T]
    with torch.no_grad(), scaled_initial_attention(model, head_gamma(L, H, [2], 4.0), reference=True):
        att = model(input_ids=ids, output_attentions=True).attentions[0][0]
    changed = (att - base).abs().amax((1, 2)) > 1e-6  # [H]
    assert changed.tolist() == [False, False, True, False]


def test_shared_prefix_scoring_matches_full_prompts():
    model = tiny("gemma3")
    ids = torch.randint(0, 50, (3, 14))
    prefix, queries, labels = ids[0, :6], [ids[0, 6:], ids[1, 6:9], ids[2, 6:12]], [3, 5, 7]
    gamma = torch.rand(L, H) * 2 + 0.5
    with torch.no_grad(), scaled_initial_attention(model, gamma):
        got = label_logprobs(model, prefix, queries, labels, batch=2)
        want = torch.stack([model(input_ids=torch.cat([prefix, q]).view(1, -1)).logits[0, -1, labels].double()
                            .log_softmax(-1) for q in queries])  # fmt: skip
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def fake_evaluate(acc_by_head: dict[int, float], best_gamma: float, base: float = 0.5):
    """An evaluator where head h scaled alone by the probe scores `acc_by_head[h]`, and a multi-head gamma scores
    best at `best_gamma`."""

    def evaluate(g):
        scaled = sorted({h for h in range(H) if (g[:, h] != 1).any()})
        if not scaled:
            return Score(base, -1.0)
        if len(scaled) == 1 and float(g[0, scaled[0]]) == 2.0:
            return Score(acc_by_head[scaled[0]], -1.0)
        value = float(g[0, scaled[0]])
        return Score(base + 0.2 - 0.1 * abs(math.log(value / best_gamma)), -1.0)

    return evaluate


def test_calibrate_picks_dominant_type_and_scale():
    # heads 0, 1, 3 hurt when scaled up: down-effective dominate, so the search runs below 1
    cal = calibrate(
        fake_evaluate({0: 0.4, 1: 0.45, 2: 0.6, 3: 0.3}, best_gamma=0.5), L, H, 2.0, [1.5, 3.0], [0.5, 0.75]
    )
    assert (cal.up, cal.down, cal.head_type, cal.heads, cal.value) == ([2], [0, 1, 3], "down", [0, 1, 3], 0.5)
    torch.testing.assert_close(cal.gamma, head_gamma(L, H, [0, 1, 3], 0.5))
    assert [g for g, _ in cal.search] == [1.0, 0.5, 0.75]


def test_calibrate_keeps_untuned_when_nothing_helps():
    def evaluate(g):
        return Score(0.5, -1.0 - float((g - 1).abs().sum()))  # any scaling lowers the tie-breaker

    cal = calibrate(evaluate, L, H, 2.0, [1.5], [0.5])
    assert cal.head_type == "none" and cal.value == 1.0 and bool((cal.gamma == 1).all())


def test_task_split_is_balanced_and_disjoint():
    task = Task("t", [" a", " b"], [(f"q{i}", i % 2) for i in range(20)], "{query}:{label}")
    demos, cal, test = task.split(1, 3, 6)
    assert [len(s) for s in (demos, cal, test)] == [2, 6, 12]
    assert not {q for q, _ in demos} & {q for q, _ in cal + test} and not {q for q, _ in cal} & {q for q, _ in test}
    assert sorted(y for _, y in cal) == [0, 0, 0, 1, 1, 1]
    assert task.prefix(demos[:1]) == "q0: a\n\n" and task.query("x") == "x:"
    with pytest.raises(AssertionError):
        task.split(5, 6)


def test_task_builders():
    messages = [{"en": f"open the file number {i}", "fr": f"ouvrir {i}", "de": f"öffnen {i}"} for i in range(30)]
    task = language_id_task(messages, ["fr", "de"], 5, seed=0)
    assert task.labels == [" French", " German"] and len(task.examples) == 10
    assert sorted(y for _, y in task.examples) == [0] * 5 + [1] * 5
    numbers = [q.split()[-1] for q, _ in task.examples]
    assert len(set(numbers)) == 10, "every example is a different message"
    assert all(q.startswith(("ouvrir", "öffnen")[y]) for q, y in task.examples)
    glosses = [{"pos": p, "text": f"{p} gloss {i}"} for p in ["noun", "verb", "adj", "adv"] for i in range(4)]
    wn = wordnet_pos_task(glosses, 2, seed=0)
    assert all(q.split()[0] == ["noun", "verb", "adj", "adv"][y] for q, y in wn.examples)
    assert wn.labels == [" noun", " verb", " adjective", " adverb"]


# heads-differ: the claim can fail on noise (issue 14) ---------------------------------------------------------------


def test_head_effect_needs_more_than_noise():
    torch.manual_seed(0)
    assert head_effect(torch.randn(24) + 1.0) == 1 and head_effect(torch.randn(24) - 1.0) == -1
    assert head_effect(torch.zeros(12)) == 0 and head_effect(torch.full((12,), 0.3)) == 0  # no spread: no test


def test_heads_differ_fails_on_noise_and_the_old_sign_rule_did_not():
    from papers.zerotuning_2025.claims import CLAIMS

    claim = next(c for c in CLAIMS if c.id == "heads-differ")
    gen = torch.Generator().manual_seed(3)
    splits = [{h: torch.randn(12, generator=gen, dtype=torch.float64) for h in range(4)} for _ in range(200)]
    # the old rule: the sign of the mean change decides, so noise gives both signs 7 times in 8
    old = [int(any(d.mean() > 0 for d in s.values()) and any(d.mean() < 0 for d in s.values())) for s in splits]
    assert 0.8 < sum(old) / len(old) < 0.95
    new = [int(both_effective(s)) for s in splits]
    placebo = [int(both_effective(s, placebo_seed=7 * i)) for i, s in enumerate(splits)]
    assert sum(new) / len(new) < 0.05 and sum(placebo) / len(placebo) < 0.05
    keys = [("m", "t")] * len(new)
    m = clustered_measurement(new, keys, bounds=(0.0, 1.0), proportion=True)
    margin = clustered_measurement([a - b for a, b in zip(new, placebo)], keys, bounds=(-1.0, 1.0))
    assert claim.evaluate(m, control=margin, checks=splits_check(len(new)))["verdict"] == "not reproduced"
    # and real opposite effects pass, beating the placebo
    real = [{0: d[0] + 2.0, 1: d[1] - 2.0, 2: d[2], 3: d[3]} for d in splits[:30]]
    r = [int(both_effective(s)) for s in real]
    rp = [int(both_effective(s, placebo_seed=7 * i)) for i, s in enumerate(real)]
    k30 = keys[:30]
    got = claim.evaluate(clustered_measurement(r, k30, bounds=(0.0, 1.0), proportion=True),
                         control=clustered_measurement([a - b for a, b in zip(r, rp)], k30, bounds=(-1.0, 1.0)),
                         checks=splits_check(30))  # fmt: skip
    assert got["verdict"] == "reproduced", got["reason"]


def test_calibrate_records_per_example_changes():
    def evaluate(g):
        shift = float(g[0, 1] - 1) - float(g[0, 2] - 1)  # head 1 helps, head 2 hurts
        correct = torch.linspace(-2, -1, 6, dtype=torch.float64) + shift + 0.01 * torch.arange(6) * float(g[0, 0] - 1)
        return Score(0.5, float(correct.mean()), correct)

    cal = calibrate(evaluate, L, H, 2.0, [1.5], [0.5])
    assert sorted(cal.diffs) == list(range(H)) and float(cal.diffs[1].mean()) == pytest.approx(1.0)
    assert [head_effect(cal.diffs[h] + 0.01 * torch.randn(6)) for h in (1, 2)] == [1, -1]


def splits_check(n: int) -> dict:
    """The measurement of the `enough-splits` precondition for a run of `n` splits."""
    return {"enough-splits": Measurement.exact(n, n_unit="splits")}


def test_gain_rule_and_clusters():
    from papers.zerotuning_2025.claims import CLAIMS

    gain = next(c for c in CLAIMS if c.id == "zerotuning-gain")
    # six (model, task) clusters of five splits: the interval is over the six clusters
    keys = [(m, t) for m in "ab" for t in "xyz" for _ in range(5)]
    units, n_unit = clusters(list(range(30)), keys)
    assert n_unit == "model x task clusters" and len(units) == 6 and all(len(u) == 5 for u in units)
    assert clusters([1.0, 2.0], [("a", "x")] * 2) == ([[1.0], [2.0]], "splits")
    beaten = clustered_measurement([3.0, 4.0, 5.0, 3.5, 4.5, 4.0] * 5, sorted(keys), unit="points")  # margin > 0

    def verdict(values):
        m = clustered_measurement(values, sorted(keys), unit="points")
        return gain.evaluate(m, control=beaten, checks=splits_check(30))["verdict"]

    assert verdict([0.0, 4.0, -4.0, 0.0, 4.0, -4.0] * 5) in ("not reproduced", "inconclusive")
    assert (
        verdict([0.5, 0.6, 0.4, 0.5, 0.55, 0.45] * 5) == "not reproduced"
    )  # a positive gain below a tenth of the paper's
    assert verdict([1.8, 2.0, 2.2, 1.9, 2.1, 2.0] * 5) == "partially reproduced"
    assert verdict([6.0, 5.0, 7.0, 6.5, 5.5, 6.0] * 5) == "reproduced"


def test_prior_correction_removes_a_label_bias_and_nothing_else():
    gen = torch.Generator().manual_seed(5)
    y_cal, y_test = torch.arange(4).repeat(6), torch.arange(4).repeat(20)  # class-balanced, as the splits are
    signal = lambda y: 1.5 * torch.nn.functional.one_hot(y, 4).double() + torch.randn(len(y), 4, generator=gen)  # noqa: E731
    bias = torch.tensor([4.0, 0.0, 0.0, 0.0], dtype=torch.float64)  # the model prefers label 0 whatever the input
    cal, test = (torch.log_softmax(signal(y) + bias, -1) for y in (y_cal, y_test))
    biased, fixed = Score.of(test, y_test), Score.of(prior_corrected(test, cal), y_test)
    assert biased.accuracy < 0.4 < 0.6 < fixed.accuracy  # the bias hid the signal; the correction recovers it
    torch.testing.assert_close(prior_corrected(test, cal).exp().sum(-1), torch.ones(len(y_test), dtype=torch.float64))
    # an unbiased model: the correction is a no-op up to the noise of the calibration mean
    unb_cal, unb_test = (torch.log_softmax(signal(y), -1) for y in (y_cal, y_test))
    assert (
        abs(Score.of(prior_corrected(unb_test, unb_cal), y_test).accuracy - Score.of(unb_test, y_test).accuracy) < 0.1
    )


def test_gain_explained_away_by_the_control_is_not_reproduced():
    from papers.zerotuning_2025.claims import CLAIMS

    gain = next(c for c in CLAIMS if c.id == "zerotuning-gain")
    keys = [(m, t) for m in "ab" for t in "xyz" for _ in range(5)]
    big = clustered_measurement([6.0, 5.0, 7.0, 6.5, 5.5, 6.0] * 5, keys, unit="points")  # beats the untuned model

    def verdict(margins):
        return gain.evaluate(big, control=clustered_measurement(margins, keys, unit="points"),
                             checks=splits_check(30))["verdict"]  # fmt: skip

    assert verdict([3.0, 4.0, 5.0, 3.5, 4.5, 4.0] * 5) == "reproduced"  # beats the prior correction too
    assert verdict([2.0, -3.0, 1.0, -2.0, 3.0, -1.0] * 5) == "inconclusive"  # cannot be told from it
    assert verdict([-2.0, -3.0, -1.0, -2.5, -1.5, -2.0] * 5) == "not reproduced"  # the prior correction does better


def test_power_precondition_makes_a_small_run_inconclusive():
    from papers.zerotuning_2025.claims import CLAIMS, MIN_SPLITS

    gain = next(c for c in CLAIMS if c.id == "zerotuning-gain")
    keys = [("m", "t")] * 5
    lucky = clustered_measurement([16.0, 18.0, 15.0, 17.0, 16.0], keys, unit="points")  # 5 splits that look decisive
    margin = clustered_measurement([5.0, 6.0, 4.0, 5.0, 6.0], keys, unit="points")
    small = gain.evaluate(lucky, control=margin, checks=splits_check(5))
    assert small["verdict"] == "inconclusive" and "enough-splits" in small["reason"]
    assert gain.evaluate(lucky, control=margin, checks=splits_check(MIN_SPLITS))["verdict"] == "reproduced"
    assert all(any(p.id == "enough-splits" for p in c.preconditions) for c in CLAIMS if c.id != "entropy-direction")
