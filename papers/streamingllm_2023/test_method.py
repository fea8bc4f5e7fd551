"""Tests of papers.streamingllm_2023.method: known answers on small inputs."""

import math

import pytest
import torch

from papers.streamingllm_2023.claims import CLAIMS
from papers.streamingllm_2023.method import ppl_after, sink_share, substitute_sinks
from shared.claims import Measurement


def test_ppl_after_known_answer():
    nll = torch.tensor([[9.0, 9.0, math.log(2), math.log(8)], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(ppl_after(nll, 2), torch.tensor([4.0, 1.0], dtype=torch.float64))


def test_sink_share_counts_only_upper_layers_and_late_queries():
    attn = torch.zeros(4, 2, 20, 20)
    attn[2:, :, 16:, 0] = 1.0  # all late queries of upper layers on the first token
    attn[:2, :, :, 0] = 0.5  # lower layers do not count
    assert sink_share(attn, first_layer=2, skip=16) == 1.0
    assert sink_share(attn, first_layer=0, skip=16) == 0.75


def test_substitute_sinks_replaces_only_the_first_k_tokens():
    docs = torch.arange(12).view(2, 6)
    out = substitute_sinks(docs, 99, 4)
    assert out[:, :4].eq(99).all() and out[:, 4:].equal(docs[:, 4:])
    assert docs[0, 0] == 0  # the input is left unchanged
    with pytest.raises(ValueError):
        substitute_sinks(docs, 99, 6)


def _claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def test_newline_claim_can_fail_and_needs_its_control():
    claim = _claim("newline-sinks-restore")
    checks = {"sinks-matter": Measurement.ratio([3.0] * 6, [1.0] * 6, n_unit="documents")}
    beaten = Measurement.paired_difference([1.0, 1.1, 0.9, 1.2, 1.0, 1.05], [0.0] * 6, n_unit="documents")
    # "\n" sinks twice as bad as the text's first tokens: not comparable
    bad = Measurement.ratio([2.0, 2.1, 1.9, 2.2, 2.0, 1.95], [1.0] * 6, n_unit="documents")
    assert claim.evaluate(bad, control=beaten, checks=checks)["verdict"] == "not reproduced"
    same = Measurement.ratio([1.0, 1.01, 0.99, 1.02, 1.0, 0.98], [1.0] * 6, n_unit="documents")
    assert claim.evaluate(same, control=beaten, checks=checks)["verdict"] == "reproduced"
    # a placebo: "\n" sinks no better than no sinks at all -> the control is not beaten
    placebo = Measurement.paired_difference([0.0, -0.1, -0.05, -0.2, -0.1, -0.02], [0.0] * 6, n_unit="documents")
    assert claim.evaluate(same, control=placebo, checks=checks)["verdict"] == "not reproduced"


def test_paper_values_follow_from_the_cited_cells():
    # Fig. 1: window 5158, re-computation 5.43, StreamingLLM 5.40; Table 1: 4"\n"+1020 5.60, 4+1020 5.40
    assert round(5158 / 5.43, -1) == _claim("window-collapse").paper_value
    assert round(5.40 / 5.43, 3) == _claim("sinks-restore").paper_value
    assert round(5.60 / 5.40, 3) == _claim("newline-sinks-restore").paper_value
    assert "Fig. 1" in _claim("sinks-restore").paper_ref and "Fig. 1" in _claim("window-collapse").paper_ref


def test_power_precondition_makes_a_small_run_inconclusive():
    from papers.streamingllm_2023.claims import MIN_DOCS

    claim = _claim("four-sinks-enough")
    assert [p.id for p in claim.preconditions] == ["sinks-matter", "enough-documents"]

    def checks(n):
        return {"sinks-matter": Measurement.ratio([3.0] * n, [1.0] * n, n_unit="documents"),
                "enough-documents": Measurement.exact(n, n_unit="documents")}  # fmt: skip

    # 16 documents whose ratios look decisive (4 sinks as good as 8) are still too few
    lucky = Measurement.ratio([1.0, 0.99, 1.01, 0.98, 1.0, 0.995, 1.005, 0.99] * 2, [1.0] * 16, n_unit="documents")
    small = claim.evaluate(lucky, checks=checks(16))
    assert small["verdict"] == "inconclusive" and "enough-documents" in small["reason"]
    many = Measurement.ratio(([1.0, 0.99, 1.01, 0.98, 1.0, 0.995, 1.005, 0.99] * 9)[:MIN_DOCS], [1.0] * MIN_DOCS,
                             n_unit="documents")  # fmt: skip
    assert claim.evaluate(many, checks=checks(MIN_DOCS))["verdict"] == "reproduced"
    # and with enough documents the claim can fail: 8 sinks clearly better than 4
    worse = Measurement.ratio(([1.1, 1.12, 1.09, 1.11] * 20)[:MIN_DOCS], [1.0] * MIN_DOCS, n_unit="documents")
    assert claim.evaluate(worse, checks=checks(MIN_DOCS))["verdict"] == "not reproduced"
    # one-sink-not-enough carries no power precondition (its derivation asks for fewer documents than the default has)
    assert all(p.id != "enough-documents" for p in _claim("one-sink-not-enough").preconditions)
