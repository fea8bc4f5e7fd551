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
"""

import torch

from shared.speculative import TableLM, optimal_acceptance, output_distribution


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
