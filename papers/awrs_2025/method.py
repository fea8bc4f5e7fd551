"""
Adaptive weighted rejection sampling (AWRS), after Lipkin, LeBrun, Vigly, Loula, MacIver, Du, Eisner, Cotterell,
Mansinghka, O'Donnell, Lew & Vieira, "Fast Controlled Generation from Language Models with Adaptive Weighted Rejection
Sampling" (arXiv:2504.05410).

The samplers live in the shared engine (`shared.speculative.constrained`: `masked_step`, `awrs_step`, `smc_sample`).
This module holds the paper's measurements on toy models: the constraints, locally constrained decoding, and the exact
global constrained distribution of short strings.

Deviations from the paper, on purpose:
- random n-gram LMs (`shared.speculative.TableLM`) and synthetic token-level constraints instead of text-to-SQL,
  molecule, goal-inference, pattern and JSON tasks with Llama models, so that the global constrained distribution
  can be enumerated exactly;
- SMC resamples after every step (multinomial); the paper's SMC variants and their resampling schedules are not
  reproduced.
"""

import itertools

import numpy as np
import torch


def no_repeat_mod(k: int):
    """Constraint: a token may not follow a token with the same residue mod `k` (about 1/k of the mass is banned)."""

    def allowed(prefix: list[int], x: int) -> bool:
        return not prefix or prefix[-1] % k != x % k

    return allowed


def global_distribution(lm, prompt: list[int], length: int, allowed) -> dict[tuple, float]:
    """Exact `p(x | prompt) 1[x allowed] / Z` over all continuations of `length` tokens (`V^length` of them)."""
    out = {}
    for seq in itertools.product(range(lm.vocab_size), repeat=length):
        prob, ctx = 1.0, list(prompt)
        for x in seq:
            if not allowed(ctx, x):
                prob = 0.0
                break
            prob *= float(lm.probs(ctx)[x])
            ctx.append(x)
        if prob > 0:
            out[seq] = prob
    z = sum(out.values())
    return {k: v / z for k, v in out.items()}


def lcd_distribution(lm, prompt: list[int], length: int, allowed) -> dict[tuple, float]:
    """Exact distribution of locally constrained decoding: each step samples `p` renormalised over allowed tokens."""
    out = {}
    for seq in itertools.product(range(lm.vocab_size), repeat=length):
        prob, ctx = 1.0, list(prompt)
        for x in seq:
            p = lm.probs(ctx)
            mask = torch.tensor([allowed(ctx, y) for y in range(lm.vocab_size)])
            if not mask[x]:
                prob = 0.0
                break
            prob *= float(p[x] / p[mask].sum())
            ctx.append(x)
        if prob > 0:
            out[seq] = prob
    return out


def total_variation(counts: dict, exact: dict[tuple, float]) -> float:
    """TV distance between the empirical distribution of `counts` and `exact`."""
    n = sum(counts.values())
    keys = set(counts) | set(exact)
    return 0.5 * sum(abs(counts.get(k, 0) / n - exact.get(k, 0.0)) for k in keys)


def encode(seq, vocab: int) -> int:
    """A string of tokens as one integer (base `vocab`), so that samples can be counted with `np.bincount`."""
    return sum(int(x) * vocab**i for i, x in enumerate(seq))


def exact_vector(dist: dict[tuple, float], vocab: int, length: int) -> np.ndarray:
    """`dist` over strings of `length` tokens as a vector indexed by `encode`."""
    out = np.zeros(vocab**length)
    for seq, pr in dist.items():
        out[encode(seq, vocab)] = pr
    return out


def tv_ratio(units, exacts: list[np.ndarray]) -> float:
    """Mean over models of TV(SMC samples, exact) / TV(LCD samples, exact).

    Each unit is one draw index: `(lcd_0, smc_0, lcd_1, smc_1, ...)`, the encoded LCD and SMC strings drawn for model
    `j` at that index, so that a bootstrap over units resamples every model's draws together.
    """
    arr = np.asarray(units, dtype=np.int64)
    n, ratios = len(arr), []
    for j, exact in enumerate(exacts):
        tv = [0.5 * np.abs(np.bincount(arr[:, 2 * j + m], minlength=len(exact)) / n - exact).sum() for m in (0, 1)]
        ratios.append(tv[1] / tv[0])
    return float(np.mean(ratios))
