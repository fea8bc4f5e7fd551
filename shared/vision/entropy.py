"""Matrix (von Neumann) entropy of token representations, and the EntropyPrune scorer (Wang et al., 2026;
arXiv:2602.17196).

The matrix entropy of a set of `n` vectors `X` `[n, d]` is the Shannon entropy of the eigenvalues of the
trace-normalised Gram matrix `rho = X X^T / tr(X X^T)`: `S = -sum_i l_i log l_i` (nats). It is 0 when every vector
lies on one line and `log min(n, d)` at most; `normalised=True` divides by that bound, so values lie in [0, 1].

The dual-Gram identity: `X X^T` (`n x n`) and `X^T X` (`d x d`) have the same nonzero eigenvalues, and the same trace,
so the entropy may be computed from whichever is smaller. The reference always takes the `d x d` covariance in float64
with a loop; the fast path takes the smaller of the two, batched. Tests check that both give the same numbers.

Two uses, both on this interface:
- `layer_entropy`: one value per image for the patch tokens of one layer (rows = tokens), the quantity whose sharp drop
  across depth EntropyPrune calls the Entropy Collapse Layer.
- `TokenEntropy`: one value per token (EntropyPrune's token score): the token's vector is folded into a
  `heads x head_dim` matrix, centred over the heads, and its matrix entropy scored; tokens of higher entropy are kept.
  This follows the authors' released code (the paper's method section was not available here): a token whose heads
  carry many independent directions holds more information than one whose heads repeat each other.
"""

import math
from dataclasses import dataclass

import torch

from shared.vision.select import Scorer, TokenContext, register

EPS = 1e-12


def _spectral_entropy(eig: torch.Tensor, bound: int, normalised: bool) -> torch.Tensor:
    """Entropy of the eigenvalues `[..., k]` of a PSD matrix after dividing them by their sum; `bound` = max rank."""
    lam = eig.clamp(min=0)
    total = lam.sum(dim=-1, keepdim=True)
    p = lam / total.clamp(min=EPS)
    h = -(p * torch.log(p.clamp(min=EPS))).sum(dim=-1)
    h = torch.where(total.squeeze(-1) > EPS, h, torch.zeros_like(h))  # all-zero input: no information, entropy 0
    return h / math.log(bound) if normalised and bound > 1 else h


def prepare(x: torch.Tensor, center: bool, unit_rows: bool) -> torch.Tensor:
    """Rows of `x` `[..., n, d]` centred over the rows (the mean row subtracted) and/or scaled to unit L2 norm."""
    if center:
        x = x - x.mean(dim=-2, keepdim=True)
    if unit_rows:
        x = x / x.norm(dim=-1, keepdim=True).clamp(min=EPS)
    return x


def matrix_entropy_reference(x: torch.Tensor, center: bool = False, unit_rows: bool = True,
                             normalised: bool = True) -> torch.Tensor:  # fmt: skip
    """Plain reference: for each matrix `[n, d]` of `x` `[..., n, d]`, float64, one at a time, the eigenvalues of the
    `d x d` covariance `X^T X` (the definition in feature space, whatever `n` is). Returns `[...]`."""
    x = prepare(x.double(), center, unit_rows)
    n, d = x.shape[-2:]
    flat = x.reshape(-1, n, d)
    out = torch.empty(flat.shape[0], dtype=torch.float64)
    for i in range(flat.shape[0]):
        cov = flat[i].T @ flat[i]
        out[i] = _spectral_entropy(torch.linalg.eigvalsh(cov), min(n, d), normalised)
    return out.reshape(x.shape[:-2])


def matrix_entropy_fast(x: torch.Tensor, center: bool = False, unit_rows: bool = True,
                        normalised: bool = True) -> torch.Tensor:  # fmt: skip
    """Fast path: batched, and through the dual Gram `X^T X` (`d x d`) whenever `d < n`; float64 eigenvalues of a
    matrix formed in the input's dtype, so the cost is `O(min(n, d)^3)` per matrix. Returns `[...]`."""
    x = prepare(x, center, unit_rows)
    n, d = x.shape[-2:]
    gram = x.transpose(-1, -2) @ x if d < n else x @ x.transpose(-1, -2)
    return _spectral_entropy(torch.linalg.eigvalsh(gram.double()), min(n, d), normalised)


def matrix_entropy(x: torch.Tensor, center: bool = False, unit_rows: bool = True, normalised: bool = True,
                   impl: str = "fast") -> torch.Tensor:  # fmt: skip
    """Dispatch: `impl="fast"` (batched, dual Gram) or `"reference"` (loop, `n x n` Gram, float64)."""
    f = matrix_entropy_fast if impl == "fast" else matrix_entropy_reference
    return f(x, center=center, unit_rows=unit_rows, normalised=normalised)


def layer_entropy(patches: torch.Tensor, impl: str = "fast") -> torch.Tensor:
    """Matrix entropy of each image's patch tokens `[B, N, D]` -> `[B]`, normalised to [0, 1]: tokens scaled to unit
    norm (so every token weighs the same and `rho = Z Z^T / N`), not centred (a component shared by all tokens counts
    as redundancy, which is what a collapse is)."""
    return matrix_entropy(patches, center=False, unit_rows=True, normalised=True, impl=impl)


def token_entropy(hidden: torch.Tensor, heads: int, impl: str = "fast") -> torch.Tensor:
    """EntropyPrune's per-token score: each token `[D]` of `hidden` `[B, N, D]` folded into `[heads, D / heads]`,
    centred over the heads, and its matrix entropy taken (normalised by `log heads`). Returns `[B, N]`.

    The `heads x heads` Gram is the dual of the `head_dim x head_dim` covariance: with `heads < head_dim` the fast
    path works on the smaller one (the paper's speed-up: `(head_dim / heads)^3`, 64 for 32 heads of 128)."""
    B, N, D = hidden.shape
    if D % heads:
        raise ValueError(f"hidden size {D} is not a multiple of {heads} heads")
    m = hidden.reshape(B, N, heads, D // heads)
    return matrix_entropy(m, center=True, unit_rows=False, normalised=True, impl=impl)


def dual_gram_speedup(rows: int, cols: int) -> float:
    """Theoretical speed-up of an eigendecomposition on the smaller Gram of a `rows x cols` matrix: `(max/min)^3`."""
    return (max(rows, cols) / min(rows, cols)) ** 3


@register("token_entropy")
@dataclass
class TokenEntropy(Scorer):
    """EntropyPrune: keep the patch tokens whose `heads x head_dim` matrix has the highest matrix entropy.

    Args:
        heads (int): how many rows each token's vector is folded into (the model's attention heads). Default: 6
            (DINOv2-S).
        impl (str): `"fast"` (dual Gram, batched) or `"reference"` (loop, float64).
    """

    heads: int = 6
    impl: str = "fast"

    def score(self, ctx: TokenContext) -> torch.Tensor:
        return token_entropy(ctx.hidden, self.heads, impl=self.impl)
