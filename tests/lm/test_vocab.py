import math

import pytest
import torch

from shared.lm.vocab import frequent_vocab, unigram_loss


def test_frequent_vocab_ranks_by_count_and_buckets_the_rest():
    tokens = torch.tensor([5, 5, 5, 2, 2, 7, 9])
    lookup = frequent_vocab(tokens, keep=2, vocab_size=10)
    assert lookup[5] == 0 and lookup[2] == 1
    assert lookup[7] == 2 and lookup[9] == 2 and lookup[0] == 2, "everything else shares id `keep`"
    tie = frequent_vocab(torch.tensor([3, 1, 3, 1]), keep=1, vocab_size=4)
    assert tie[1] == 0 and tie[3] == 1, "ties go to the lower id"


def test_frequent_vocab_rejects_bad_sizes():
    with pytest.raises(ValueError, match="keep"):
        frequent_vocab(torch.tensor([0, 1]), keep=0, vocab_size=2)
    with pytest.raises(ValueError, match="outside vocab_size"):
        frequent_vocab(torch.tensor([0, 7]), keep=1, vocab_size=4)


def test_unigram_loss_known_answers():
    train = torch.tensor([0, 0, 0, 1])
    assert unigram_loss(train, torch.tensor([0, 1]), 2, smoothing=0.0) == pytest.approx(
        -(math.log(0.75) + math.log(0.25)) / 2
    )
    # add-one: counts 4, 2, 1 over 7
    assert unigram_loss(train, torch.tensor([2]), 3, smoothing=1.0) == pytest.approx(math.log(7))
