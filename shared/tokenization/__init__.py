"""The tokenizer toolkit: real tokenizers by name, training, compression and premium metrics, merge lists, and
byte-level probabilities of tokenized LMs, and StochasTok's stochastic splitting of tokens.

    from shared.tokenization import load, train, compression, premiums, merge_list, Replay, ByteVocab, SplitTable, expand
"""

from shared.tokenization.byteprobs import (
    ByteVocab,
    naive_next_byte,
    next_byte_distribution,
    prefix_probability,
    token_healing_next_byte,
)
from shared.tokenization.merges import Replay, merge_list, merges_from_ranks, pair_counts_reference, word_counts
from shared.tokenization.metrics import compression, compression_reference, gini, premiums, throughput
from shared.tokenization.stochastok import SplitTable, expand, expand_reference
from shared.tokenization.train import train
from shared.tokenization.vocab import Tok, from_hf, load

__all__ = [
    "ByteVocab", "Replay", "SplitTable", "Tok", "compression", "compression_reference", "expand", "expand_reference",
    "from_hf", "gini", "load", "merge_list", "merges_from_ranks", "naive_next_byte", "next_byte_distribution",
    "pair_counts_reference", "prefix_probability", "premiums", "throughput", "token_healing_next_byte", "train",
    "word_counts",
]  # fmt: skip
