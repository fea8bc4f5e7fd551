"""The whole decoder: tree scoring against plain forward passes, greedy equivalence, and the output distribution of every
lossless method against the exact target distribution (chi-square with a stated power)."""

from collections import Counter

import pytest
import torch

from shared.speculative import (
    BranchingTree,
    DynamicTree,
    HFSession,
    IIDSequences,
    TableLM,
    autoregressive_generate,
    speculative_generate,
)
from shared.speculative.stats import chi_square, chi_square_power, sequence_distribution

pytestmark = pytest.mark.slow  # tiny models and Monte Carlo loops: tens of seconds on 2 cores

METHODS = {
    "chain": (IIDSequences(1, 3), "rrs"),
    "iid-rrs": (IIDSequences(3, 2), "rrs"),
    "spectr-kseq": (IIDSequences(3, 2), "kseq"),
    "rsd-wor": (BranchingTree((2, 2)), "rrs"),
    "iid-tree": (BranchingTree((2, 2), replacement=True), "rrs"),
    "dyspec": (DynamicTree(budget=4), "rrs"),
}


def test_tree_scoring_matches_plain_forward(llama_pair):
    # every node's distribution from one tree call equals a fresh forward pass over context + its path
    target, _ = llama_pair
    session = HFSession(target, temperature=1.0)
    prompt = [3, 17, 5, 9]
    session.reset(prompt)
    tokens, parents = [9, 11, 12, 40, 41, 7], [-1, 0, 0, 1, 1, 2]
    got = session.grow(tokens, parents)
    paths = [[9], [9, 11], [9, 12], [9, 11, 40], [9, 11, 41], [9, 12, 7]]
    for i, path in enumerate(paths):
        with torch.no_grad():
            ref = torch.softmax(target(torch.tensor([prompt[:-1] + path])).logits[0, -1].double(), -1)
        torch.testing.assert_close(got[i], ref, atol=1e-5, rtol=1e-4)
    # rollback: keep the path 0 -> 2 -> 5, then the next root must see exactly that context
    session.commit([0, 2, 5], [9, 12, 7], 33)
    nxt = session.grow([33], [-1])[0]
    with torch.no_grad():
        ref = torch.softmax(target(torch.tensor([prompt[:-1] + [9, 12, 7, 33]])).logits[0, -1].double(), -1)
    torch.testing.assert_close(nxt, ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", list(METHODS))
def test_greedy_speculative_equals_greedy_autoregressive(llama_pair, name):
    target, draft = llama_pair
    proposer, rule = METHODS[name]
    for prompt in ([1, 2, 3], [60, 7, 7, 30, 2]):
        ref = autoregressive_generate(HFSession(target, 0.0), prompt, 24).tokens
        got = speculative_generate(HFSession(target, 0.0), HFSession(draft, 0.0), prompt, 24, proposer, rule)
        assert got.tokens == ref
        assert got.target_calls <= len(ref)


def test_draft_equal_to_target_accepts_every_chain_token(llama_pair):
    target, _ = llama_pair
    got = speculative_generate(HFSession(target, 1.0), HFSession(target, 1.0), [5, 6], 20, IIDSequences(1, 4))
    assert all(a == 4 for a in got.accepted[:-1])


# the exactness harness: V = 3, three new tokens -> 27 outcomes, enumerated exactly
V, LENGTH, N_SAMPLES, ALPHA = 3, 3, 3000, 1e-3
PROMPT = [0, 1]


def table_pair():
    target = TableLM(V, order=2, scale=1.5, seed=7)
    draft = TableLM(V, order=1, scale=1.5, seed=8, base=target, mix=0.5)
    return target, draft


def sampled(method, n, seed0=0):
    target, draft = table_pair()
    proposer, rule = method
    return Counter(tuple(speculative_generate(target, draft, PROMPT, LENGTH, proposer, rule, seed=seed0 + s).tokens)
                   for s in range(n))  # fmt: skip


def test_harness_has_power():
    # stated power: against the draft's own sequence distribution (what an always-accepting verifier would emit), the
    # level-1e-3 test with N_SAMPLES samples rejects with probability >= 0.99
    target, draft = table_pair()
    exp = sequence_distribution(target, PROMPT, LENGTH)
    alt = sequence_distribution(draft, PROMPT, LENGTH)
    assert chi_square_power(exp, alt, N_SAMPLES, ALPHA) >= 0.99


@pytest.mark.parametrize("name", list(METHODS))
def test_output_distribution_matches_target(name):
    target, _ = table_pair()
    exp = sequence_distribution(target, PROMPT, LENGTH)
    stat, pvalue, dof = chi_square(sampled(METHODS[name], N_SAMPLES), exp)
    assert pvalue > ALPHA, f"{name}: chi2={stat:.1f} on {dof} dof, p={pvalue:.2e}"


def test_harness_rejects_a_biased_verifier(monkeypatch):
    # the same harness catches a plausible bug: sampling the correction token from p instead of the residual
    import shared.speculative.rules as rules

    original = rules.acceptance_chain

    def biased(p, q, draws, mode="iid", rule="rrs"):
        a, _ = original(p, q, draws, mode, rule)
        return a, p

    monkeypatch.setattr(rules, "acceptance_chain", biased)
    target, _ = table_pair()
    exp = sequence_distribution(target, PROMPT, LENGTH)
    _, pvalue, _ = chi_square(sampled(METHODS["chain"], N_SAMPLES), exp)
    assert pvalue < ALPHA
