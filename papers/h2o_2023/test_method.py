"""Tests of papers.h2o_2023.method: the budget split, the sink-protected control and the paper's sparsity statistic
(including a null input that the `heavy-hitters` rule must judge *not reproduced*)."""

import pytest
import torch

from papers.h2o_2023.claims import CLAIMS
from papers.h2o_2023.method import h2o_policies, layer_sparsity, sparsity, with_masked_entries
from shared.claims import Measurement
from shared.kvcache import HeavyHitter, RandomEviction


def test_budget_split_and_policies():
    p = h2o_policies(52)
    assert isinstance(p["H2O"], HeavyHitter) and p["H2O"].n_recent == 26 and p["H2O"].budget == 52
    assert p["random + recent"].n_recent == 26 and p["StreamingLLM"].n_sink == 4 and p["local window"].n_sink == 0
    control = p["random + sinks + recent"]
    assert isinstance(control, RandomEviction) and (control.n_sink, control.n_recent, control.budget) == (4, 26, 52)
    assert p["random + recent"].n_sink == 0
    assert h2o_policies(50, heavy_share=0.2)["H2O"].n_recent == 40


def test_sink_protected_random_keeps_sinks_and_recent_tokens():
    policy = h2o_policies(10)["random + sinks + recent"]  # 4 sinks, 5 recent, 1 random
    policy.reset()
    keys = torch.zeros(2, 3, 30, 8)
    keep = policy.keep_indices(0, keys, keys)
    assert keep.shape == (2, 3, 10)
    assert (keep[..., :4] == torch.arange(4)).all() and (keep[..., -5:] == torch.arange(25, 30)).all()
    assert ((keep[..., 4] >= 4) & (keep[..., 4] < 25)).all()


def _uniform(T):
    a = torch.ones(T, T).tril()
    return a / a.sum(-1, keepdim=True)


def test_sparsity_known_answers():
    # uniform causal attention: every score equals its row's maximum, nothing is sparse
    assert sparsity(_uniform(50)).item() == 0.0
    # all attention on the first key: each row keeps 1 of its t + 1 causal entries
    T = 20
    sink = torch.zeros(T, T)
    sink[:, 0] = 1.0
    assert sparsity(sink).item() == pytest.approx((T * (T + 1) / 2 - T) / (T * (T + 1) / 2))
    # a score just under / over 1% of the row maximum
    row = torch.tensor([[1.0, 0.0], [1.0, 0.0099]])
    assert sparsity(row).item() == pytest.approx(1 / 3)
    row[1, 1] = 0.0101
    assert sparsity(row).item() == 0.0
    # counting the masked upper triangle adds T(T-1)/2 sparse entries
    assert with_masked_entries(0.0, 4) == pytest.approx(6 / 16)


def test_sparsity_rule_can_fail():
    """A null input (uniform attention: no layer sparse) must give *not reproduced*; all layers sparse, reproduced."""
    claim = next(c for c in CLAIMS if c.id == "heavy-hitters")
    layer_sp = torch.stack([sparsity(_uniform(64)).expand(30) for _ in range(6)])  # [docs, L]
    share = (layer_sp > 0.95).double().mean(1).tolist()
    assert claim.evaluate(Measurement.mean(share, n_unit="documents", bounds=(0, 1)))["verdict"] == "not reproduced"
    full = [1.0] * 6
    assert claim.evaluate(Measurement.mean(full, n_unit="documents", bounds=(0, 1)))["verdict"] == "reproduced"


class _Attn(torch.nn.Module):
    def __init__(self, i, weights):
        super().__init__()
        self.layer_idx, self.k_proj, self.weights = i, torch.nn.Identity(), weights

    def forward(self, x):
        return x, self.weights


class _Model(torch.nn.Module):
    """A stand-in causal LM whose layers return fixed attention weights (eager), to test the hook."""

    def __init__(self, maps):
        super().__init__()
        self.config = type("C", (), {"_attn_implementation": "sdpa"})()
        self.layers = torch.nn.ModuleList(_Attn(i, m[None]) for i, m in enumerate(maps))

    def set_attn_implementation(self, name):
        self.config._attn_implementation = name

    def forward(self, input_ids):
        x = input_ids.float()
        for layer in self.layers:
            x, _ = layer(x)
        return x


def test_layer_sparsity_reduces_each_layer_and_restores_the_model():
    T = 12
    sink = torch.zeros(2, T, T)
    sink[..., 0] = 1.0
    model = _Model([_uniform(T).expand(2, T, T), sink])
    sp = layer_sparsity(model, torch.arange(T))
    assert sp.tolist() == pytest.approx([0.0, sparsity(sink[0]).item()])
    assert model.config._attn_implementation == "sdpa"
    assert not any(layer._forward_hooks for layer in model.layers)
