"""Tests of papers.streamingllm_2023.method: known answers on small inputs."""

import math

import torch

from papers.streamingllm_2023.method import ppl_after, sink_share


def test_ppl_after_known_answer():
    nll = torch.tensor([[9.0, 9.0, math.log(2), math.log(8)], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(ppl_after(nll, 2), torch.tensor([4.0, 1.0], dtype=torch.float64))


def test_sink_share_counts_only_upper_layers_and_late_queries():
    attn = torch.zeros(4, 2, 20, 20)
    attn[2:, :, 16:, 0] = 1.0  # all late queries of upper layers on the first token
    attn[:2, :, :, 0] = 0.5  # lower layers do not count
    assert sink_share(attn, first_layer=2, skip=16) == 1.0
    assert sink_share(attn, first_layer=0, skip=16) == 0.75
