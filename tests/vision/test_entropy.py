"""Tests of shared.vision.entropy: the matrix entropy on known answers, the dual-Gram identity (fast path = reference),
and the EntropyPrune scorer on a case with a known ranking."""

import math

import pytest
import torch

from shared.vision import TokenContext, build_selector
from shared.vision.entropy import (
    TokenEntropy,
    dual_gram_speedup,
    layer_entropy,
    matrix_entropy,
    matrix_entropy_fast,
    matrix_entropy_reference,
    token_entropy,
)


def test_known_answers():
    # n orthonormal rows: rho = I / n, the maximum log n (normalised: 1)
    eye = torch.eye(4, 6)
    assert abs(float(matrix_entropy_reference(eye, normalised=False)) - math.log(4)) < 1e-12
    assert abs(float(matrix_entropy_fast(eye)) - 1.0) < 1e-6
    # every row on one line: rank 1, entropy 0
    line = torch.arange(1.0, 6.0)[:, None] * torch.tensor([[1.0, -2.0, 0.5]])
    assert float(matrix_entropy_reference(line)) < 1e-9 and float(matrix_entropy_fast(line)) < 1e-6
    # two equal-weight orthogonal directions out of 4 possible: log 2 / log 4 = 0.5
    two = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    assert abs(float(matrix_entropy_fast(two)) - 0.5) < 1e-6
    # all-zero input carries no information
    assert float(matrix_entropy_fast(torch.zeros(3, 5), unit_rows=False)) == 0.0


@pytest.mark.parametrize("n,d", [(64, 384), (384, 64), (6, 64), (32, 128), (7, 7)])
@pytest.mark.parametrize("center,unit_rows", [(False, True), (True, False), (True, True)])
def test_dual_gram_identity(n, d, center, unit_rows):
    """The nonzero spectrum of X X^T equals that of X^T X: the fast path (smaller Gram, batched) gives the reference's
    entropy (d x d covariance, float64, a loop) to float64 precision."""
    g = torch.Generator().manual_seed(n * 1000 + d)
    x = torch.randn(3, n, d, generator=g, dtype=torch.float64) @ torch.randn(d, d, generator=g, dtype=torch.float64)
    ref = matrix_entropy_reference(x, center=center, unit_rows=unit_rows)
    fast = matrix_entropy_fast(x, center=center, unit_rows=unit_rows)
    assert torch.allclose(ref, fast, atol=1e-10, rtol=0)
    # the spectra themselves: the nonzero eigenvalues coincide
    a = torch.linalg.eigvalsh(x[0] @ x[0].T)
    b = torch.linalg.eigvalsh(x[0].T @ x[0])
    k = min(n, d)
    assert torch.allclose(a[-k:], b[-k:], rtol=1e-8, atol=1e-8 * float(a[-1]))


def test_fast_path_float32_close_to_reference():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 64, 384, generator=g)
    assert torch.allclose(layer_entropy(x), layer_entropy(x, impl="reference"), atol=1e-5, rtol=0)
    m = torch.randn(2, 64, 384, generator=g)
    assert torch.allclose(token_entropy(m, 6), token_entropy(m, 6, impl="reference"), atol=1e-5, rtol=0)


def test_invariances():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 20, 30, generator=g)
    # permuting tokens, rotating features and scaling tokens change nothing (unit rows)
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=g))
    base = matrix_entropy(x)
    assert torch.allclose(base, matrix_entropy(x[:, torch.randperm(20, generator=g)]), atol=1e-6)
    assert torch.allclose(base, matrix_entropy(x @ q), atol=1e-5)
    assert torch.allclose(base, matrix_entropy(x * torch.rand(2, 20, 1, generator=g).add(0.5)), atol=1e-6)


def test_dual_gram_speedup_arithmetic():
    assert dual_gram_speedup(32, 128) == 64.0  # the paper's "up to 64x": 32 heads of 128 dimensions
    assert dual_gram_speedup(128, 32) == 64.0


def test_token_entropy_scorer_known_ranking():
    # token 0: every head the same vector (centred over heads: zero -> entropy 0); token 1: four orthogonal heads
    # (centred: rank 3, high entropy); token 2: three distinct head vectors (centred: rank 2, in between)
    heads, dh = 4, 8
    t0 = torch.ones(heads, dh)
    t1 = torch.eye(heads, dh) * 3.0
    t2 = torch.zeros(heads, dh)
    t2[0, 0], t2[1, 1], t2[2:, 2] = 1.0, 1.0, 1.0
    hidden = torch.stack([t0, t1, t2]).reshape(1, 3, heads * dh)
    s = token_entropy(hidden, heads)
    assert float(s[0, 0]) == 0.0 and float(s[0, 1]) > float(s[0, 2]) > 0.0
    ctx = TokenContext(hidden=hidden)
    assert TokenEntropy(heads=heads).select(ctx, 1).keep.tolist() == [[1]]
    assert TokenEntropy(heads=heads, impl="reference").select(ctx, 2).keep.tolist() == [[1, 2]]
    assert isinstance(build_selector("token_entropy", heads=heads), TokenEntropy)
    with pytest.raises(ValueError):
        token_entropy(torch.zeros(1, 2, 10), 4)
