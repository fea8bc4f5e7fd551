"""
DySpec's dynamic token tree, after Xiong et al., "DySpec: Faster Speculative Decoding with Dynamic Token Tree
Structure" (arXiv:2410.11744).

The greedy tree builder is the shared engine's `DynamicTree` (a max-heap over "next child of u" slots keyed by the
estimated probability that verification reaches the slot; siblings drawn without replacement and verified by
recursive rejection sampling). This module holds the paper's measurements: how the draft probability of a token
predicts its acceptance, and the fixed-tree baselines at equal budgets.

Models: the zoo's tiny-LM pair (`tiny-lm-small` drafts for `tiny-lm-large`: same BPE-8k tokenizer and training data)
for the correlation and block-efficiency measurements, on contexts and prompts cut from the held-out BPE-8k stream;
random n-gram `TableLM`s only for the exactness test, which needs the enumerated target distribution.

Deviations from the paper, on purpose:
- a 2.1M/8.4M-parameter pair trained by this project instead of Llama-2 models (seconds on CPU);
- the slot keys are our reading of the paper's greedy rule: the expected value (product of draft probabilities) of
  the node a slot would add (see `shared.speculative.DynamicTree`); the draft scores each node when it is created (one
  call each), where the paper batches expansions;
- fixed baselines are chains and k-ary trees drawn without replacement (SpecInfer/Sequoia-like shapes of the same
  size), not Sequoia's optimised static trees.
"""

import numpy as np
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


def real_pair():
    """`(target, draft)`: `tiny-lm-large` and `tiny-lm-small` from the zoo (eval mode, float32, CPU)."""
    from shared.models import load

    target, _ = load("tiny-lm-large")
    draft, _ = load("tiny-lm-small")
    return target, draft


def heldout_stream() -> np.ndarray:
    """The held-out token stream of the BPE-8k corpus (the tiny LMs never trained on it)."""
    from shared.models import stage_dir

    return np.load(stage_dir("bpe-8k") / "val.npy").astype(np.int64)


def windows(stream: np.ndarray, n: int, length: int, seed: int) -> list[list[int]]:
    """`n` windows of `length` tokens at independent random offsets of `stream` (seeded)."""
    offsets = np.random.default_rng(seed).integers(0, len(stream) - length, n)
    return [stream[o : o + length].tolist() for o in offsets]


@torch.no_grad()
def hf_draft_prob_vs_acceptance(target, draft, contexts: list[list[int]], generator: torch.Generator,
                                batch: int = 250) -> list[dict]:  # fmt: skip
    """For one draft token `x ~ q(. | context)` per context (real models, temperature 1): its draft probability
    `q(x)` and its exact acceptance `min(1, p(x)/q(x))`; also the context's `1 - TV(p, q)` (the mean acceptance)."""
    rows = []
    for i in range(0, len(contexts), batch):
        ids = torch.tensor(contexts[i : i + batch])
        q = torch.softmax(draft(input_ids=ids, logits_to_keep=1).logits[:, -1].double(), -1)
        p = torch.softmax(target(input_ids=ids, logits_to_keep=1).logits[:, -1].double(), -1)
        x = torch.multinomial(q, 1, generator=generator)[:, 0]
        qx, px = q.gather(1, x[:, None])[:, 0], p.gather(1, x[:, None])[:, 0]
        overlap = torch.minimum(p, q).sum(-1)
        for a, b, c in zip(qx.tolist(), (px / qx).clamp(max=1).tolist(), overlap.tolist()):
            rows.append({"q": a, "accept": b, "overlap": c})
    return rows
