"""
Recursive Speculative Decoding with a constant branching factor (RSD-C), after Jeon, Gagrani, Goel, Park, Lee & Lott,
"Recursive Speculative Decoding: Accelerating LLM Inference via Sampling Without Replacement" (arXiv:2402.14160).

The pieces live in the shared engine: Gumbel-top-k drafting (`shared.speculative.BranchingTree`), recursive
rejection sampling with the draft renormalised over tokens not yet drawn (`acceptance_chain(..., mode="wor")`) and
the tree decoder. This module only names the paper's comparisons: the tree shapes for fixed draft length and for a
fixed number of tokens verified per target call, and the toy model pairs.

Deviations from the paper, on purpose:
- random n-gram LMs over a small vocabulary stand in for Llama 2 / OPT (the draft mixes the target's table with its
  own), so that per-node acceptances are exact and the default run takes seconds;
- only RSD-C (constant branching) is replicated, not RSD-S (stochastic beam search);
- the i.i.d. baselines are SpecInfer-style trees (i.i.d. draws, recursive rejection) of the same shape, and k i.i.d.
  draft sequences (SpecTr-style drafts verified by recursive rejection; k = 1 is plain speculative decoding with a
  chain as long as the budget) for the fixed-budget comparison.

Issue 14 moved the block-efficiency claims onto the zoo's real pair (tiny-lm-small drafting for tiny-lm-large) with
prompts cut from held-out text (`held_out_windows`), and the fixed-budget baseline is chosen on selection prompts
(`choose_baselines`) before RSD-C is compared with it on other prompts.
"""

import math

import numpy as np

from shared.speculative import BranchingTree, IIDSequences, TableLM, output_distribution

# fixed draft length: the same tree shape, drawn without replacement (RSD-C) or i.i.d. (SpecInfer)
SHAPES = {"2x2x2": (2, 2, 2), "3x3": (3, 3), "4x1x1": (4, 1, 1)}
# fixed budget: tokens the target verifies per call -> RSD-C shape and i.i.d. sequence baselines (k, L) with k L = budget
BUDGETS = {
    4: ((2, 1), [(1, 4), (2, 2)]),
    6: ((2, 2), [(1, 6), (2, 3), (3, 2)]),
    8: ((2, 1, 1, 1), [(1, 8), (2, 4), (4, 2)]),
    12: ((3, 3), [(1, 12), (2, 6), (3, 4), (4, 3)]),
    14: ((2, 2, 2), [(1, 14), (2, 7), (7, 2)]),
}


def model_pair(vocab: int, seed: int, mix: float, order: int = 2) -> tuple[TableLM, TableLM]:
    """A target n-gram LM and a draft mixing its own random table (weight `1 - mix`) with the target's."""
    target = TableLM(vocab, order=order, scale=2.0, seed=3000 + seed)
    draft = TableLM(vocab, order=order - 1, scale=2.0, seed=4000 + seed, base=target, mix=mix)
    return target, draft


def node_acceptance(p, q, k: int) -> dict:
    """Exact probability that one of `k` draft tokens is accepted at a node: without replacement (RSD) and i.i.d."""
    return {
        "k": k,
        "wor": output_distribution(p, q, k, "wor", "rrs")[1],
        "iid": output_distribution(p, q, k, "iid", "rrs")[1],
    }


def proposers_fixed_length(shapes=None) -> dict:
    """`{(shape, sampling): proposer}` for the fixed-draft-length comparison (all `SHAPES`, or the named ones)."""
    names = list(SHAPES) if shapes is None else shapes
    return {(name, kind): BranchingTree(SHAPES[name], replacement=kind == "iid") for name in names
            for kind in ("wor", "iid")}  # fmt: skip


def proposers_fixed_budget(budget: int) -> dict:
    """`{name: proposer}` verifying at most `budget` draft tokens per target call."""
    shape, seqs = BUDGETS[budget]
    out = {"rsd-c": BranchingTree(shape)}
    out.update({f"iid k={k} L={L}": IIDSequences(k, L) for k, L in seqs})
    return out


def choose_baselines(selection: dict[int, dict[str, list[float]]]) -> dict[int, str]:
    """Per budget, the i.i.d. configuration with the highest geometric-mean block efficiency on the selection prompts
    (`selection[budget][name]`: one block efficiency per selection prompt); ties go to the first listed."""
    out = {}
    for budget, runs in selection.items():
        scores = {name: sum(math.log(b) for b in bes) / len(bes) for name, bes in runs.items() if name != "rsd-c"}
        out[budget] = max(scores, key=scores.get)
    return out


def held_out_windows(stream: np.ndarray, n: int, length: int, seed: int) -> list[list[int]]:
    """`n` non-overlapping windows of `length` tokens from a token stream (the tiny LMs' held-out text), chosen at
    random without replacement by `seed`."""
    slots = len(stream) // length
    picks = np.random.default_rng(seed).choice(slots, size=n, replace=False)
    return [stream[i * length : (i + 1) * length].tolist() for i in sorted(picks)]
