"""Constrained sampling by rejection: token masking, adaptive weighted rejection sampling (AWRS), and SMC over it.

A constraint is a predicate `allowed(prefix, token) -> bool` over token ids ("may `token` follow `prefix`?"); every
call is one *constraint evaluation*, the cost the AWRS paper counts.

- `masked_step` (locally constrained decoding, LCD): evaluate every token, sample from `p` restricted to the allowed
  ones. Cost: `V` evaluations. Its product over steps is *not* the global constrained distribution
  `p(x) 1[x allowed] / Z`: it renormalises locally at every step.
- `awrs_step` (Lipkin et al. 2025, arXiv:2504.05410): draw tokens without replacement (Gumbel-max order) and stop at the
  first allowed one: exactly a sample of the local constrained distribution, usually after a few evaluations. A
  second, independent round of the same kind counts further rejections, and
  `w = (1 - rejected mass of round 1) / (rejections in both rounds + 1)` is an unbiased estimate of the local
  constrained mass `Z = sum of p over allowed tokens`.
- `smc_sample`: particles extended with `awrs_step` (or `masked_step`, whose weight is `Z` exactly), weighted by the
  product of the step weights and resampled, so that one particle drawn at the end follows the global constrained
  distribution as the number of particles grows.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

Allowed = Callable[[list[int], int], bool]


@dataclass
class StepResult:
    token: int | None  # None: no token is allowed (a dead end)
    weight: float  # estimate (AWRS) or exact value (masking) of the local constrained mass Z
    evaluations: int


def masked_step(p: torch.Tensor, prefix: list[int], allowed: Allowed, generator: torch.Generator) -> StepResult:
    """Token masking: evaluate all `V` tokens of `p` `[V]` and sample from the allowed ones."""
    mask = torch.tensor([allowed(prefix, x) for x in range(p.shape[0])])
    z = float(p[mask].sum())
    if z <= 0:
        return StepResult(None, 0.0, p.shape[0])
    token = int(torch.multinomial(torch.where(mask, p, 0.0), 1, generator=generator))
    return StepResult(token, z, p.shape[0])


def _gumbel_order(p: torch.Tensor, generator: torch.Generator) -> list[int]:
    u = torch.rand(p.shape, generator=generator, dtype=torch.float64).clamp_min(1e-300)
    keys = p.double().log() - (-u.log()).log()
    order = keys.argsort(descending=True)
    return [int(x) for x in order if p[x] > 0]


def awrs_step(p: torch.Tensor, prefix: list[int], allowed: Allowed, generator: torch.Generator) -> StepResult:
    """Adaptive weighted rejection sampling of one token from `p` `[V]` restricted to `allowed` (see module doc)."""
    rejected: set[int] = set()
    evaluations, token, mass_round1, n_rejected = 0, None, 0.0, 0
    for round_ in range(2):
        for x in _gumbel_order(p, generator):
            if x in rejected:
                continue
            evaluations += 1
            if allowed(prefix, x):
                if round_ == 0:
                    token = x
                break
            rejected.add(x)
            n_rejected += 1
            if round_ == 0:
                mass_round1 += float(p[x])
        if token is None:
            # round 1 exhausted the support: nothing is allowed
            return StepResult(None, 0.0, evaluations)
    return StepResult(token, (1 - mass_round1) / (n_rejected + 1), evaluations)


def smc_sample(next_probs: Callable[[list[int]], torch.Tensor], prompt: list[int], length: int, allowed: Allowed,
               n_particles: int, generator: torch.Generator, step=awrs_step) -> tuple[list[int] | None, int]:  # fmt: skip
    """One sample of `length` tokens from `n_particles` particles with multinomial resampling after every step.

    Args:
        next_probs: `context -> p(. | context)` `[V]`.
        step: `awrs_step` or `masked_step`.

    Returns:
        (tokens or None when every particle died, constraint evaluations spent).
    """
    particles = [list(prompt) for _ in range(n_particles)]
    logw = torch.zeros(n_particles, dtype=torch.float64)
    evals = 0
    for _ in range(length):
        for i, ctx in enumerate(particles):
            if logw[i] == float("-inf"):
                continue
            res = step(next_probs(ctx), ctx, allowed, generator)
            evals += res.evaluations
            if res.token is None:
                logw[i] = float("-inf")
                continue
            ctx.append(res.token)
            logw[i] += torch.tensor(res.weight, dtype=torch.float64).log()
        if torch.isinf(logw).all():
            return None, evals
        w = torch.softmax(logw, 0)
        idx = torch.multinomial(w, n_particles, replacement=True, generator=generator).tolist()
        particles = [list(particles[i]) for i in idx]
        logw = torch.zeros(n_particles, dtype=torch.float64)
    return particles[0][len(prompt) :], evals
