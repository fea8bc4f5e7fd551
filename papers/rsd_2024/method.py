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
  draft sequences (SpecTr-style drafts verified by recursive rejection) for the fixed-budget comparison.
"""

from shared.speculative import BranchingTree, IIDSequences, TableLM, output_distribution

# fixed draft length: the same tree shape, drawn without replacement (RSD-C) or i.i.d. (SpecInfer)
SHAPES = {"2x2x2": (2, 2, 2), "3x3": (3, 3), "4x1x1": (4, 1, 1)}
# fixed budget: tokens the target verifies per call -> RSD-C shape and i.i.d. sequence baselines (k, L) with k L = budget
BUDGETS = {6: ((2, 2), [(2, 3), (3, 2)]), 12: ((3, 3), [(3, 4), (4, 3), (2, 6)]), 14: ((2, 2, 2), [(2, 7), (7, 2)])}


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


def proposers_fixed_length() -> dict:
    """`{(shape, sampling): proposer}` for the fixed-draft-length comparison."""
    return {(name, kind): BranchingTree(shape, replacement=kind == "iid") for name, shape in SHAPES.items()
            for kind in ("wor", "iid")}  # fmt: skip


def proposers_fixed_budget(budget: int) -> dict:
    """`{name: proposer}` verifying at most `budget` draft tokens per target call."""
    shape, seqs = BUDGETS[budget]
    out = {"rsd-c": BranchingTree(shape)}
    out.update({f"iid k={k} L={L}": IIDSequences(k, L) for k, L in seqs})
    return out
