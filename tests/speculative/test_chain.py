"""The real-model chain decoder: greedy output identical to plain greedy decoding (fixed, confidence-stopped and
adaptive draft lengths), the cache rollback checked against fresh forward passes, and speculative sampling's output
distribution against the exact target distribution (chi-square with a stated power) on a tiny vocabulary."""

import itertools
from collections import Counter

import pytest
import torch

from shared.speculative.batch import greedy_reference
from shared.speculative.chain import chain_generate, plain_generate
from shared.speculative.stats import chi_square, chi_square_power

pytestmark = pytest.mark.slow  # tiny models and a Monte Carlo loop: ~20 s on 2 cores

PROMPTS = ([1, 2, 3], [60, 7, 7, 30, 2], [9])
SETTINGS = {
    "fixed-1": {"draft_len": 1},
    "fixed-4": {"draft_len": 4},
    "confidence-stop": {"draft_len": 6, "stop_below": 0.5},
    "adaptive": {"draft_len": 2, "adaptive": True},
}


def test_plain_greedy_equals_reference(llama_pair):
    target, _ = llama_pair
    for prompt in PROMPTS:
        assert plain_generate(target, prompt, 20).tokens == greedy_reference(target, prompt, 20)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_greedy_chain_equals_plain_greedy(llama_pair, name):
    target, draft = llama_pair
    accepted, rejected = 0, 0
    for prompt in PROMPTS:
        got = chain_generate(target, draft, prompt, 21, **SETTINGS[name])
        assert got.tokens == greedy_reference(target, prompt, 21)
        assert sum(got.accepted) + got.target_calls == len(got.tokens)
        accepted += sum(got.accepted)
        rejected += sum(a < s for a, s in zip(got.accepted, got.tree_sizes))
    assert accepted > 0 and rejected > 0  # both the accepting path and the rollback were exercised


def test_draft_equal_to_target_accepts_everything(llama_pair):
    target, _ = llama_pair
    got = chain_generate(target, target, [5, 6], 20, draft_len=4)
    assert got.accepted == [4, 4, 4, 4] and got.target_calls == 4
    # the adaptive schedule grows L by 2 after every fully accepted chain: 2, 4, 6 (15 tokens with the bonuses), then
    # only 5 tokens are left (4 drafts + bonus)
    got = chain_generate(target, target, [5, 6], 20, draft_len=2, adaptive=True)
    assert got.tree_sizes == [2, 4, 6, 4] and got.block_efficiency == 5


def test_eos_stops_and_cuts(llama_pair):
    target, draft = llama_pair
    ref = greedy_reference(target, [1, 2, 3], 20)
    eos = ref[5]
    got = chain_generate(target, draft, [1, 2, 3], 20, draft_len=4, eos=eos)
    assert got.tokens == ref[: ref.index(eos) + 1]


# speculative sampling on `sampling_pair` (V = 6): the first two tokens have 36 outcomes, enumerated exactly
V, N_SAMPLES, ALPHA, PROMPT = 6, 1500, 1e-3, [0, 1, 2]


def exact_pairs(model) -> dict[tuple[int, int], float]:
    with torch.no_grad():
        p1 = torch.softmax(model(torch.tensor([PROMPT])).logits[0, -1].double(), -1)
        out = {}
        for a in range(V):
            p2 = torch.softmax(model(torch.tensor([PROMPT + [a]])).logits[0, -1].double(), -1)
            for b in range(V):
                out[(a, b)] = float(p1[a] * p2[b])
    return out


def test_sampling_harness_has_power(sampling_pair):
    # against the draft's own distribution (an always-accepting verifier) the test rejects with probability >= 0.99
    target, draft = sampling_pair
    assert chi_square_power(exact_pairs(target), exact_pairs(draft), N_SAMPLES, ALPHA) >= 0.99


def test_sampling_output_distribution_is_the_target(sampling_pair):
    # draft_len=2 with two new tokens: one draft token is tested, then the residual or bonus draw
    target, draft = sampling_pair
    counts = Counter(tuple(chain_generate(target, draft, PROMPT, 2, draft_len=2, temperature=1.0, seed=s).tokens)
                     for s in range(N_SAMPLES))  # fmt: skip
    assert set(counts) <= set(itertools.product(range(V), repeat=2))
    stat, pvalue, dof = chi_square(counts, exact_pairs(target))
    assert pvalue > ALPHA, f"chi2={stat:.1f} on {dof} dof, p={pvalue:.2e}"


def test_speed_comparison_agrees_with_plain_decoding(llama_pair):
    # the benchmark harness: every method emits plain greedy decoding's tokens, and the methods rotate their slots
    from shared.speculative.speed import compare, summary

    target, draft = llama_pair
    df = compare(target, draft, [list(p) for p in PROMPTS], 12, eos=[63], ours={"draft_len": 3})
    assert df.same_as_plain.all()
    assert sorted(df[df.prompt == 1].slot) == [0, 1, 2]
    assert df[df.prompt == 0].slot.tolist() != df[df.prompt == 1].slot.tolist()
    table = summary(df)
    assert table.loc["plain", "vs_plain"] == 1.0 and table.loc["ours", "block_efficiency"] > 1
