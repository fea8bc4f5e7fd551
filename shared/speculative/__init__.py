"""Speculative and constrained decoding on one verification engine: draft trees, lossless acceptance rules, KV-cache
rollback, ragged batches, and rejection-sampling constrained generation. See each module's docstring."""

from .decode import GenResult, autoregressive_generate, speculative_generate, verify_tree
from .drafts import BranchingTree, DraftTree, DynamicTree, IIDSequences, Proposer, gumbel_top_k
from .lm import HFSession, TableLM, TreeSession, probs_from_logits
from .rules import acceptance_chain, kseq_rho, optimal_acceptance, output_distribution, verify_chain_fast, verify_node

__all__ = [
    "BranchingTree", "DraftTree", "DynamicTree", "GenResult", "HFSession", "IIDSequences", "Proposer", "TableLM",
    "TreeSession", "acceptance_chain", "autoregressive_generate", "gumbel_top_k", "kseq_rho", "optimal_acceptance",
    "output_distribution", "probs_from_logits", "speculative_generate", "verify_chain_fast", "verify_node",
    "verify_tree",
]  # fmt: skip
