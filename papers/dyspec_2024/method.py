"""
DySpec's dynamic token tree, after Xiong et al., "DySpec: Faster Speculative Decoding with Dynamic Token Tree
Structure" (arXiv:2410.11744).

The greedy tree builder is the shared engine's `DynamicTree` (a max-heap over "next child of u" slots keyed by the
estimated probability that verification reaches the slot; siblings drawn without replacement and verified by
recursive rejection sampling). This module holds the paper's measurements: how the draft probability of a token
predicts its acceptance, and the fixed-tree baselines at equal budgets.

Deviations from the paper, on purpose:
- random n-gram target/draft pairs over a small vocabulary instead of Llama-2 models (exact acceptances; seconds);
- the slot keys are our reading of the paper's greedy rule: the expected value (product of draft probabilities) of
  the node a slot would add (see `shared.speculative.DynamicTree`); the draft scores each node when it is created (one
  call each), where the paper batches expansions;
- fixed baselines are chains and k-ary trees drawn without replacement (SpecInfer/Sequoia-like shapes of the same
  size), not Sequoia's optimised static trees.
"""

import torch

from shared.speculative import BranchingTree, DynamicTree, IIDSequences, TableLM

# budget (draft tokens per target call) -> fixed shapes of exactly that size
FIXED = {4: {"chain": (1,) * 4, "2-then-1": (2, 1)}, 8: {"chain": (1,) * 8, "2-then-1": (2, 1, 1, 1), "2x3": (2, 3)},
         14: {"chain": (1,) * 14, "2x2x2": (2, 2, 2), "2-then-1": (2, 1, 1, 1, 1, 1, 1)}}  # fmt: skip


def tree_size(shape: tuple[int, ...]) -> int:
    size, width = 0, 1
    for b in shape:
        width *= b
        size += width
    return size


def model_pair(vocab: int, seed: int, mix: float, order: int = 2) -> tuple[TableLM, TableLM]:
    """A target n-gram LM and a draft mixing its own random table (weight `1 - mix`) with the target's."""
    target = TableLM(vocab, order=order, scale=2.0, seed=5000 + seed)
    draft = TableLM(vocab, order=order - 1, scale=2.0, seed=6000 + seed, base=target, mix=mix)
    return target, draft


def proposers(budget: int) -> dict:
    """`{name: proposer}` with `budget` draft tokens each: DySpec and the fixed shapes of `FIXED[budget]`."""
    out = {"dyspec": DynamicTree(budget=budget, max_depth=budget)}
    for name, shape in FIXED[budget].items():
        out[name] = IIDSequences(1, budget) if name == "chain" else BranchingTree(shape)
    return out


def draft_prob_vs_acceptance(target, draft, contexts: list[list[int]], generator: torch.Generator) -> list[dict]:
    """For one draft token `x ~ q` per context: its draft probability and its exact acceptance `min(1, p(x)/q(x))`."""
    rows = []
    for ctx in contexts:
        p, q = target.probs(ctx), draft.probs(ctx)
        x = int(torch.multinomial(q, 1, generator=generator))
        rows.append({"q": float(q[x]), "accept": min(1.0, float(p[x] / q[x]))})
    return rows
