"""Tests of papers.h2o_2023.method: the budget split and the uniform-attention baseline."""

import pytest
import torch

from papers.h2o_2023.method import h2o_policies, uniform_topk_mass
from shared.kvcache import HeavyHitter, RandomEviction, topk_mass


def test_budget_split_and_policies():
    p = h2o_policies(52)
    assert isinstance(p["H2O"], HeavyHitter) and p["H2O"].n_recent == 26 and p["H2O"].budget == 52
    assert p["random + recent"].n_recent == 26 and p["StreamingLLM"].n_sink == 4 and p["local window"].n_sink == 0
    control = p["random + sinks + recent"]
    assert isinstance(control, RandomEviction) and (control.n_sink, control.n_recent, control.budget) == (4, 26, 52)
    assert p["random + recent"].n_sink == 0
    assert h2o_policies(50, heavy_share=0.2)["H2O"].n_recent == 40


@pytest.mark.parametrize("T", [5, 40])
def test_uniform_topk_mass_matches_the_engine_statistic(T):
    uniform = torch.ones(T, T).tril()
    uniform = (uniform / uniform.sum(-1, keepdim=True))[None, None]  # [1, 1, T, T]
    assert topk_mass(uniform, 0.2).item() == pytest.approx(uniform_topk_mass(T, 0.2), rel=1e-6)


def test_uniform_topk_mass_known_answer():
    # T = 2: key 0 gets 1 + 1/2, key 1 gets 1/2; the top half holds 3/4
    assert uniform_topk_mass(2, 0.5) == pytest.approx(0.75)


def test_sink_protected_random_keeps_sinks_and_recent_tokens():
    policy = h2o_policies(10)["random + sinks + recent"]  # 4 sinks, 5 recent, 1 random
    policy.reset()
    keys = torch.zeros(2, 3, 30, 8)
    keep = policy.keep_indices(0, keys, keys)
    assert keep.shape == (2, 3, 10)
    assert (keep[..., :4] == torch.arange(4)).all() and (keep[..., -5:] == torch.arange(25, 30)).all()
    assert ((keep[..., 4] >= 4) & (keep[..., 4] < 25)).all()
