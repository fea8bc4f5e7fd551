"""Verification rules of speculative sampling, at one tree node: which draft token the target accepts, if any.

Every rule here is *lossless*: whatever the draft distribution `q`, the token it emits is distributed exactly as the
target distribution `p`. A rule is written as its deterministic part, `acceptance_chain`, which says, for draws
`x_1..x_m` proposed at a node, the probability `a_i` of accepting draw `i` given that draws `1..i-1` were rejected, and
the residual distribution sampled when all are rejected. The sampler (`verify_node`) draws uniforms against it; the
exact enumerator (`output_distribution`) integrates it over every possible set of draws. Both share the same code, so
an exact test of the enumerator is a test of the sampler's arithmetic.

Rules:
- `"rrs"`: recursive rejection sampling. With one draw it is standard speculative sampling (Leviathan et al. 2023,
  Chen et al. 2023). With draws i.i.d. from `q` it is SpecInfer's multi-draft rule; with draws without replacement
  (Gumbel-top-k) it is Recursive Speculative Decoding's rule (Jeon et al. 2024), where `q` is renormalised over the
  tokens not yet drawn.
- `"kseq"`: SpecTr's k-sequential draft selection (Sun et al. 2023, Alg. 2): draws i.i.d. from `q`, each accepted with
  probability `min(1, p(x) / (rho q(x)))`, with the smallest valid `rho`.

All arithmetic is float64 on `[V]` probability vectors.
"""

import itertools
import math

import torch

RULES = ("rrs", "kseq")
DRAWS = ("iid", "wor")  # i.i.d. draws from q (with replacement), or draws without replacement


def _normalise(x: torch.Tensor) -> torch.Tensor:
    s = x.sum()
    # a residual with (numerically) no mass is only reached with probability 0; keep it finite
    return x / s if s > 1e-300 else x


def kseq_rho(p: torch.Tensor, q: torch.Tensor, k: int, iters: int = 60) -> tuple[float, float]:
    """SpecTr's acceptance scale for `k` i.i.d. draws: the smallest `rho` in `[1, k]` with `(1-(1-beta)^k)/beta <= rho`.

    `beta(rho) = sum_x min(q(x), p(x)/rho)` is the chance that one draw is accepted. Every `x` is then emitted through
    an accepted draw with probability `min(q, p/rho) (1-(1-beta)^k)/beta <= p(x)`, so the residual is a distribution.
    The acceptance `1-(1-beta)^k` falls as `rho` grows, hence the smallest valid `rho`, found by bisection.

    Returns:
        (rho, beta).
    """

    def beta(rho):
        return float(torch.minimum(q, p / rho).sum())

    def valid(rho):
        b = beta(rho)
        # no overlap (beta = 0): nothing is ever accepted and any rho is valid
        return b <= 0 or b >= 1 - 1e-15 or (1 - (1 - b) ** k) / b <= rho * (1 + 1e-12)

    if k == 1 or valid(1.0):
        return 1.0, beta(1.0)
    lo, hi = 1.0, float(k)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if valid(mid) else (mid, hi)
    return hi, beta(hi)


def acceptance_chain(p: torch.Tensor, q: torch.Tensor, draws: list[int], mode: str = "iid", rule: str = "rrs"
                     ) -> tuple[list[float], torch.Tensor]:  # fmt: skip
    """The deterministic part of a rule at one node.

    Args:
        p (torch.Tensor): target distribution `[V]`, float64.
        q (torch.Tensor): draft distribution the draws came from `[V]`, float64.
        draws (list[int]): the proposed tokens in draw order (`m` of them; `m = 0` means a leaf: sample from `p`).
        mode (str): `"iid"` or `"wor"` (without replacement: `q` is renormalised over tokens not yet drawn).
        rule (str): `"rrs"` or `"kseq"` (i.i.d. draws only).

    Returns:
        (a, residual): `a[i]` is the probability of accepting draw `i` given draws `< i` were rejected, and
        `residual` `[V]` is the distribution sampled when every draw is rejected.
    """
    if rule not in RULES or mode not in DRAWS:
        raise ValueError(f"unknown rule {rule!r} or mode {mode!r}")
    if rule == "kseq":
        if mode != "iid":
            raise ValueError("SpecTr's k-sequential rule is defined for i.i.d. draws")
        k = len(draws)
        if k == 0:
            return [], p
        rho, beta = kseq_rho(p, q, k)
        accepted_mass = torch.minimum(q, p / rho)  # [V] per-draw joint probability of drawing x and accepting it
        a = [min(1.0, float(p[x] / (rho * q[x]))) if q[x] > 0 else 0.0 for x in draws]
        through_drafts = accepted_mass * (1 - (1 - beta) ** k) / max(beta, 1e-300)
        residual = _normalise((p - through_drafts).clamp_min(0))
        return a, residual
    a, p_cur, q_cur = [], p.clone(), q.clone()
    for x in draws:
        ratio = float(p_cur[x] / q_cur[x]) if q_cur[x] > 0 else 0.0
        a.append(min(1.0, ratio))
        p_cur = _normalise((p_cur - q_cur).clamp_min(0))
        if mode == "wor":
            q_cur = q_cur.clone()
            q_cur[x] = 0
            q_cur = _normalise(q_cur)
    return a, p_cur


def verify_node(p, q, draws, mode="iid", rule="rrs", rand=None) -> tuple[int | None, int]:
    """Sample one verification step: `(index of the accepted draw or None, emitted token)`.

    `rand()` returns one uniform in `[0, 1)` (default: `torch.rand`); one is used per tested draw and one for the
    residual, in that order, so that a fast path given the same uniforms must make the same choices.
    """
    rand = rand or (lambda: float(torch.rand((), dtype=torch.float64)))
    a, residual = acceptance_chain(p, q, draws, mode, rule)
    for i, (x, ai) in enumerate(zip(draws, a)):
        if rand() < ai:
            return i, x
    return None, inverse_cdf(residual, torch.tensor(rand(), dtype=torch.float64))


def draw_probability(q: torch.Tensor, draws: tuple[int, ...], mode: str) -> float:
    """Probability of proposing exactly `draws` (in this order) from `q`: i.i.d. product, or Plackett-Luce."""
    prob, left = 1.0, 1.0
    for x in draws:
        if mode == "iid":
            prob *= float(q[x])
        else:
            if left <= 0:
                return 0.0
            prob *= float(q[x]) / left
            left -= float(q[x])
    return prob


def output_distribution(p: torch.Tensor, q: torch.Tensor, k: int, mode: str = "iid", rule: str = "rrs"
                        ) -> tuple[torch.Tensor, float]:  # fmt: skip
    """Exact distribution of the emitted token, and the probability that some draw is accepted, enumerating every
    ordered set of `k` draws (`V^k` of them; for small `V` only).

    Returns:
        (out `[V]`, acceptance probability).
    """
    V = p.shape[0]
    out = torch.zeros(V, dtype=torch.float64)
    accept = 0.0
    support = [x for x in range(V) if q[x] > 0]
    tuples = (
        itertools.product(support, repeat=k) if mode == "iid" else itertools.permutations(support, min(k, len(support)))
    )
    for draws in tuples:
        w = draw_probability(q, draws, mode)
        if w == 0:
            continue
        a, residual = acceptance_chain(p, q, list(draws), mode, rule)
        reach = 1.0
        for x, ai in zip(draws, a):
            out[x] += w * reach * ai
            accept += w * reach * ai
            reach *= 1 - ai
        out += w * reach * residual
    return out, accept


def optimal_acceptance(p: torch.Tensor, q: torch.Tensor, k: int) -> float:
    """The best acceptance of any valid k-draft selection (SpecTr's optimal transport with membership cost, Sec. 3),
    by linear programming over couplings of `(X_1..X_k) ~ q^k` and `Y ~ p`; `V^k * V` variables, small `V` only.

    For `k = 1` this is the maximal coupling, `sum_x min(p, q)`.
    """
    import numpy as np
    from scipy.optimize import linprog

    V = p.shape[0]
    tuples = list(itertools.product(range(V), repeat=k))
    # only pairs (draws, y) with y among the draws count; the rest of the coupling can always be completed, so the
    # optimum is a max flow: member mass bounded by both marginals
    pairs = [(t, y) for t, tup in enumerate(tuples) for y in sorted(set(tup))]
    A = np.zeros((len(tuples) + V, len(pairs)))
    for j, (t, y) in enumerate(pairs):
        A[t, j] = 1
        A[len(tuples) + y, j] = 1
    b = [math.prod(float(q[x]) for x in tup) for tup in tuples] + p.tolist()
    res = linprog(-np.ones(len(pairs)), A_ub=A, b_ub=np.array(b), bounds=(0, None), method="highs")
    if not res.success:
        raise RuntimeError(res.message)
    return float(-res.fun)


def verify_chain_fast(p: torch.Tensor, q: torch.Tensor, draft: torch.Tensor, u: torch.Tensor, residual_u: torch.Tensor
                      ) -> tuple[int, int]:  # fmt: skip
    """Standard speculative sampling along one chain, vectorised: the fast path of `verify_node` for `k = 1`.

    Args:
        p (torch.Tensor): target distributions at the root and after each draft token, `[L+1, V]`.
        q (torch.Tensor): draft distributions the draft tokens came from, `[L, V]`.
        draft (torch.Tensor): draft tokens `[L]`.
        u (torch.Tensor): one uniform per draft token `[L]` (the same uniforms the reference would draw).
        residual_u (torch.Tensor): a uniform for the residual / bonus draw `[]`, used by inverse-CDF sampling.

    Returns:
        (n_accepted, next_token).
    """
    L = draft.shape[0]
    idx = torch.arange(L)
    ratio = p[idx, draft] / q[idx, draft]  # [L]
    rejected = (u >= ratio.clamp(max=1)).nonzero()
    n = int(rejected[0]) if len(rejected) else L
    dist = p[n] if n == L else _normalise((p[n] - q[n]).clamp_min(0))
    return n, inverse_cdf(dist, residual_u)


def inverse_cdf(dist: torch.Tensor, u: torch.Tensor) -> int:
    """The token `x` with `cdf(x-1) <= u * total < cdf(x)`: sampling from `dist` `[V]` with a given uniform."""
    cdf = dist.cumsum(0)
    return int(torch.searchsorted(cdf, u * cdf[-1], right=True).clamp(max=dist.shape[0] - 1))
