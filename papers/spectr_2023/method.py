"""
SpecTr's draft selection, after Sun, Mendlovic, Leviathan, Aharoni, Beirami, Ro & Suresh, "SpecTr: Fast Speculative
Decoding via Optimal Transport" (arXiv:2310.15141, NeurIPS 2023).

The k-sequential selection rule (K-SEQ, the paper's Alg. 2) and the optimal-transport linear program live in the
shared engine (`shared.speculative.rules`: `acceptance_chain(..., rule="kseq")`, `kseq_rho`, `optimal_acceptance`), as
do the k-draft proposer (`IIDSequences`) and the decoder. This module holds what only this paper measures: the exact
acceptance of every selection rule on a (target, draft) pair of next-token distributions, and the toy model pairs.

Deviations from the paper, on purpose:
- models are random n-gram LMs over a small vocabulary (`shared.speculative.TableLM`) whose draft is a mixture of its
  own table and the target's, not PaLM-2 or LM1B transformers; this makes every distribution enumerable, so
  acceptances are computed exactly rather than estimated, and keeps the default run within seconds;
- block efficiency (tokens per target call) is reported instead of wall-clock time: with n-gram models a target call
  costs what a draft call costs, so wall-clock speedups would be meaningless here.

Issue 14 moved the acceptance-gain and block-efficiency claims onto the zoo's real pair (tiny-lm-small drafting for
tiny-lm-large, one 8k BPE): `held_out_windows` cuts prompts from the held-out text, `kseq_acceptance` gives K-SEQ's
exact acceptance at one node of a real pair in closed form (`1 - (1 - beta)^k`, no enumeration of `V^k` draws), and
`FirstOfK` is the trivial control of the block-efficiency claim.
"""

from dataclasses import dataclass

import numpy as np
import torch

from shared.speculative import IIDSequences, TableLM, kseq_rho, optimal_acceptance, output_distribution
from shared.speculative.drafts import DraftTree, sample


def model_pair(vocab: int, seed: int, mix: float, order: int = 2) -> tuple[TableLM, TableLM]:
    """A target n-gram LM and a draft that mixes its own random table (weight `1 - mix`) with the target's."""
    target = TableLM(vocab, order=order, scale=2.0, seed=1000 + seed)
    draft = TableLM(vocab, order=order - 1, scale=2.0, seed=2000 + seed, base=target, mix=mix)
    return target, draft


def pair_acceptances(p: torch.Tensor, q: torch.Tensor, ks: list[int], with_optimum: bool = True) -> list[dict]:
    """Exact acceptance probability at one node for each number of drafts `k`: single-draft speculative sampling
    (the maximal coupling), SpecTr's K-SEQ, SpecInfer's recursive rejection with i.i.d. drafts, and the LP optimum.

    Returns:
        one row per `k`: `{"k", "single", "kseq", "iid_rrs", "optimal"}`.
    """
    single = float(torch.minimum(p, q).sum())
    rows = []
    for k in ks:
        row = {"k": k, "single": single,
               "kseq": output_distribution(p, q, k, "iid", "kseq")[1],
               "iid_rrs": output_distribution(p, q, k, "iid", "rrs")[1]}  # fmt: skip
        if with_optimum:
            row["optimal"] = optimal_acceptance(p, q, k)
        rows.append(row)
    return rows


def kseq_acceptance(p: torch.Tensor, q: torch.Tensor, k: int) -> float:
    """K-SEQ's exact acceptance probability at one node with `k` i.i.d. draws from `q`: each draw is accepted with
    probability `min(1, p/(rho q))`, so one draw is accepted with probability `beta = sum min(q, p/rho)` and some draw
    among `k` with `1 - (1 - beta)^k` (`rho`: the smallest valid scale, `shared.speculative.kseq_rho`)."""
    _, beta = kseq_rho(p, q, k)
    return 1 - (1 - beta) ** k


def held_out_windows(stream: np.ndarray, n: int, length: int, seed: int) -> list[list[int]]:
    """`n` non-overlapping windows of `length` tokens from a token stream (the tiny LMs' held-out text), chosen at
    random without replacement by `seed`."""
    slots = len(stream) // length
    picks = np.random.default_rng(seed).choice(slots, size=n, replace=False)
    return [stream[i * length : (i + 1) * length].tolist() for i in sorted(picks)]


@dataclass
class FirstOfK(IIDSequences):
    """The trivial control of the block-efficiency claim: the draft samples `k` sequences of `length` tokens (the same
    draft work as SpecTr's proposal), but only the first is handed to the target and verified, with the single-draft
    rule. Its output is single-draft speculative decoding; the extra drafts are drawn and thrown away."""

    @property
    def name(self):
        return f"first of k={self.k} L={self.length}"

    def propose(self, draft, root, generator):
        tree = DraftTree("iid")
        tree.add(root, -1)
        tree.q[0] = draft.grow([root], [-1], ids=[0])[0]
        node = 0
        for depth in range(self.length):  # the first sequence, as a chain: node ids 1..length
            child = tree.add(sample(tree.q[node], generator), node)
            if depth + 1 < self.length:
                tree.q[child] = draft.grow([tree.tokens[child]], [node], ids=[child])[0]
            node = child
        # the other k - 1 sequences: drawn by the draft under ids past the tree (dropped at commit), never verified
        nxt, heads, q_of = len(tree), [0] * (self.k - 1), {0: tree.q[0]}
        for depth in range(self.length - 1):  # the last draws need no draft call, as in IIDSequences
            ids = list(range(nxt, nxt + len(heads)))
            tokens = [sample(q_of[h], generator) for h in heads]
            if ids:
                q_of.update(zip(ids, draft.grow(tokens, heads, ids=ids)))
            heads, nxt = ids, nxt + len(ids)
        return tree
