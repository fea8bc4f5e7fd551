"""
One-layer linear self-attention (LSA) trained on in-context linear regression, after Zhang, Frei & Bartlett,
"Trained Transformers Learn Linear Models In-Context" (arXiv:2306.09927, JMLR 2024).

A prompt embeds N labelled examples and a query as the columns of
`E = [[x_1 ... x_N x_q], [y_1 ... y_N 0]]`, shape `[d+1, N+1]`; the model is
`f(E) = E + W_PV E (E^T W_KQ E) / N` and its prediction is the bottom-right entry of `f(E)`.
With `W_PV` reduced to its bottom-right entry `u` and `W_KQ` to its top-left block `W11`, the prediction is
`y_hat = h^T (u W11) x_q` with `h = (1/N) sum_i y_i x_i`; the paper's Theorem 4.1 says gradient flow from its
initialisation reaches `u W11 = Gamma^{-1}`, `Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I`.

Deviations from the paper, on purpose:
- gradient flow is approximated by gradient descent with a small step on fresh Monte-Carlo batches of prompts
  (stochastic, so the limit is reached up to sampling noise; the notebook measures how close);
- both matrices are trained in full (all `(d+1)^2` entries each), so that the claim "the other blocks stay at zero"
  is tested rather than built in.
"""

from dataclasses import dataclass

import torch

from shared.lm.trainer import TrainConfig
from shared.lm.trainer import train as shared_train


@dataclass(frozen=True)
class PromptDistribution:
    """Linear-regression prompts: `x ~ N(0, cov_scale * I_d)`, `w ~ N(task_mean * 1, task_scale^2 * D_w^2)`,
    `y = w . x`.

    `query_scale` rescales the query's covariates alone (a query shift); `query_mean` adds `query_mean * 1` to the query
    alone (a mean-shifted query). `task_aniso` and `query_aniso` make the task or the query non-isotropic: coordinate
    `k` of `w` (or of the query) has standard deviation `aniso ** (k / (d - 1) - 1/2)` times its scale (from
    `aniso^-1/2` to `aniso^1/2`; 1 is isotropic). The defaults are the training distribution.
    """

    d: int
    n: int
    cov_scale: float = 1.0
    task_scale: float = 1.0
    query_scale: float = 1.0
    task_mean: float = 0.0
    task_aniso: float = 1.0
    query_mean: float = 0.0
    query_aniso: float = 1.0

    def stds(self, aniso: float) -> torch.Tensor:
        """Per-coordinate standard deviations of an anisotropy `aniso`, `[d]` float64."""
        k = torch.arange(self.d, dtype=torch.float64)
        return aniso ** (k / max(self.d - 1, 1) - 0.5)

    def moments(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(Lambda, E[w w^T], E[x_q x_q^T])`: the second moments the closed form `shifted_error` needs, `[d, d]`."""
        ones = torch.ones(self.d, dtype=torch.float64)
        lam = self.cov_scale * torch.eye(self.d, dtype=torch.float64)
        w_std = self.task_scale * self.stds(self.task_aniso)
        w2 = torch.diag(w_std**2) + self.task_mean**2 * torch.outer(ones, ones)
        q_std = self.cov_scale**0.5 * self.query_scale * self.stds(self.query_aniso)
        q2 = torch.diag(q_std**2) + self.query_mean**2 * torch.outer(ones, ones)
        return lam, w2, q2

    def sample(self, batch: int, generator: torch.Generator, dtype=torch.float64):
        """Returns `(E, y_query, xs, ys, x_query)`: `E` is `[B, d+1, n+1]`, the others `[B]`, `[B, n, d]`, `[B, n]`,
        `[B, d]`."""
        d, n = self.d, self.n
        xs = torch.randn(batch, n, d, generator=generator, dtype=dtype) * self.cov_scale**0.5
        xq = torch.randn(batch, d, generator=generator, dtype=dtype) * (self.cov_scale**0.5 * self.query_scale)
        w = torch.randn(batch, d, generator=generator, dtype=dtype) * self.task_scale
        if self.query_aniso != 1.0 or self.query_mean != 0.0:
            xq = xq * self.stds(self.query_aniso).to(dtype) + self.query_mean
        if self.task_aniso != 1.0 or self.task_mean != 0.0:
            w = w * self.stds(self.task_aniso).to(dtype) + self.task_mean
        ys = (xs @ w.unsqueeze(-1)).squeeze(-1)  # [B, n]
        yq = (xq * w).sum(-1)  # [B]
        E = torch.zeros(batch, d + 1, n + 1, dtype=dtype)
        E[:, :d, :n] = xs.transpose(1, 2)
        E[:, d, :n] = ys
        E[:, :d, n] = xq
        return E, yq, xs, ys, xq


class LinearSelfAttention(torch.nn.Module):
    """The paper's single-layer LSA with its initialisation (Assumption 3.3).

    Args:
        d (int): covariate dimension.
        sigma (float): initial scale: `W_PV = sigma * e_{d+1} e_{d+1}^T`, `W_KQ = sigma * [[Theta Theta^T, 0], [0, 0]]`
            with `||Theta Theta^T||_F = 1`.
        generator (torch.Generator): draws `Theta`.
    """

    def __init__(self, d: int, sigma: float, generator: torch.Generator, dtype=torch.float64):
        super().__init__()
        theta = torch.randn(d, d, generator=generator, dtype=dtype)
        tt = theta @ theta.T
        w_pv = torch.zeros(d + 1, d + 1, dtype=dtype)
        w_pv[d, d] = sigma
        w_kq = torch.zeros(d + 1, d + 1, dtype=dtype)
        w_kq[:d, :d] = sigma * tt / tt.norm()
        self.w_pv = torch.nn.Parameter(w_pv)
        self.w_kq = torch.nn.Parameter(w_kq)
        self.d = d

    def forward(self, E: torch.Tensor) -> torch.Tensor:
        """Predictions for the query column, `[B]`, from prompts `E` of shape `[B, d+1, n+1]`."""
        n = E.shape[-1] - 1
        # only the last column of f(E) is needed: W_PV (E E^T / n) W_KQ e_q, bottom row
        gram = E @ E.transpose(1, 2) / n  # [B, d+1, d+1]
        out = torch.einsum("i,bij,jk,bk->b", self.w_pv[self.d], gram, self.w_kq, E[:, :, n])  # [B]
        return out + E[:, self.d, n]

    def effective_matrix(self) -> torch.Tensor:
        """`u * W11`: the matrix `A` of `y_hat = h^T A x_q` when the other blocks are zero, `[d, d]`."""
        return (self.w_pv[self.d, self.d] * self.w_kq[: self.d, : self.d]).detach()

    def off_block_norm(self) -> float:
        """Frobenius norm of every entry outside `u` and `W11`, relative to `||u W11||`: 0 at the paper's minimum."""
        d = self.d
        pv, kq = self.w_pv.detach().clone(), self.w_kq.detach().clone()
        pv[d, d] = 0
        kq[:d, :d] = 0
        return float((pv.norm() ** 2 + kq.norm() ** 2).sqrt() / self.effective_matrix().norm())


def gamma(d: int, n: int, cov_scale: float = 1.0) -> torch.Tensor:
    """`Gamma = (1 + 1/n) Lambda + tr(Lambda)/n I` for `Lambda = cov_scale * I`, `[d, d]` float64."""
    lam = cov_scale * torch.eye(d, dtype=torch.float64)
    return (1 + 1 / n) * lam + torch.trace(lam) / n * torch.eye(d, dtype=torch.float64)


def global_minimum(d: int, n: int) -> torch.Tensor:
    """The paper's limit of `u W11` for isotropic training covariates: `Gamma^{-1}`, `[d, d]`."""
    return torch.linalg.inv(gamma(d, n))


def predicted_error(A: torch.Tensor, m: int, cov_scale: float = 1.0, task_scale: float = 1.0,
                    query_scale: float = 1.0) -> float:  # fmt: skip
    """Closed-form `E[(y_hat - y)^2]` of the predictor `y_hat = h^T A x_q` on prompts of length `m`.

    With `S = (1/m) sum x_i x_i^T`, `E[S] = Lambda` and `E[S^2] = Lambda Gamma_m` for Gaussian covariates, so
    `E[(w^T (S A - I) x_q)^2] = task_scale^2 * q * [tr(A^T Lambda Gamma_m A) - 2 tr(A Lambda) + d]` with
    `Lambda = c I` and query covariance `q Lambda`, `q = query_scale^2`.
    """
    d = A.shape[0]
    lam = cov_scale * torch.eye(d, dtype=torch.float64)
    A = A.to(torch.float64)
    second = lam @ gamma(d, m, cov_scale)  # E[S^2]
    inner = torch.trace(A.T @ second @ A @ lam) - 2 * torch.trace(lam @ A @ lam) + torch.trace(lam)
    return float(task_scale**2 * query_scale**2 * inner)


def shifted_error(A: torch.Tensor, dist: PromptDistribution) -> tuple[float, float]:
    """Closed-form `(E[(y_hat - y)^2], E[y^2])` of `y_hat = h^T A x_q` on prompts of `dist` (length `dist.n`), for any
    task and query second moments (mean-shifted, non-isotropic).

    `y_hat - y = w^T (S A - I) x_q` with `S = (1/m) sum x_i x_i^T`; for Gaussian covariates `E[S B S] = (1 + 1/m)
    Lambda B Lambda + tr(Lambda B)/m Lambda` for symmetric `B`, so the error is `tr(W2 [E[S A Q2 A^T S] - Lambda A Q2 -
    Q2 A^T Lambda + Q2])` with `W2 = E[w w^T]`, `Q2 = E[x_q x_q^T]`; `E[y^2] = tr(W2 Q2)`.
    """
    lam, w2, q2 = dist.moments()
    A = A.to(torch.float64)
    m = dist.n
    B = A @ q2 @ A.T
    ssb = (1 + 1 / m) * lam @ B @ lam + torch.trace(lam @ B) / m * lam
    inner = ssb - lam @ A @ q2 - q2 @ A.T @ lam + q2
    return float(torch.trace(w2 @ inner)), float(torch.trace(w2 @ q2))


def ols_predict(xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """Least squares (or ridge, `ridge > 0`) fitted on each prompt's examples, applied to its query: `[B]`."""
    d = xs.shape[-1]
    gram = xs.transpose(1, 2) @ xs + ridge * torch.eye(d, dtype=xs.dtype)  # [B, d, d]
    w_hat = torch.linalg.lstsq(gram, (xs.transpose(1, 2) @ ys.unsqueeze(-1))).solution  # [B, d, 1]
    return (xq.unsqueeze(1) @ w_hat).squeeze(-1).squeeze(-1)


def lsa_loss(model: LinearSelfAttention, batch: dict) -> torch.Tensor:
    """The squared-error objective `E[(y_hat - y)^2] / 2` on a batch `{"prompts" [B, d+1, n+1], "y" [B]}`."""
    return 0.5 * (model(batch["prompts"]) - batch["y"]).pow(2).mean()


def train(d: int, n: int, steps: int, lr: float, batch: int, sigma: float, seed: int,
          log_every: int = 0) -> tuple[LinearSelfAttention, list[dict]]:  # fmt: skip
    """Gradient descent on the population loss `E[(y_hat - y)^2] / 2`, one fresh batch of prompts per step, on the
    shared trainer (`shared.lm.trainer.train`: plain SGD, no clipping, no weight decay).

    The step is constant for the first half, then decays linearly to zero (`schedule="linear"`, `decay_start=0.5`),
    so that the Monte-Carlo noise of the last steps averages out and the end point approaches the gradient-flow limit.
    One generator seeded by `seed` draws the initial `Theta` and then every batch of prompts (the sampler ignores the
    trainer's own generator), so a seed gives the same run as before the move to the shared trainer.
    """
    g = torch.Generator().manual_seed(seed)
    model = LinearSelfAttention(d, sigma, g)
    dist = PromptDistribution(d, n)
    target = global_minimum(d, n)
    history = []

    def batches(step: int, _trainer_gen: torch.Generator) -> dict:
        E, yq, *_ = dist.sample(batch, g)
        return {"prompts": E, "y": yq}

    def probe(step: int, row: dict) -> None:  # step counts from 1 after the update; history keeps 0-based steps
        s = step - 1
        if log_every and (s % log_every == 0 or s == steps - 1):
            dist_to_min = float((model.effective_matrix() - target).norm() / target.norm())
            history.append({"step": s, "loss": row["loss"], "rel_dist": dist_to_min})

    cfg = TrainConfig(steps=steps, lr=lr, optimizer="sgd", momentum=0.0, weight_decay=0.0, warmup=0,
                      schedule="linear", decay_start=0.5, min_lr_ratio=0.0, grad_clip=None, seed=seed,
                      log_every=max(steps, 1), eval_every=max(steps, 1))  # fmt: skip
    shared_train(model, None, cfg, batches=batches, loss_fn=lsa_loss, callback=probe, log=None)
    return model, history
