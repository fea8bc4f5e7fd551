"""The exactness check that speculative-sampling papers share: a fixed small model pair whose output distribution can
be enumerated, the power of the chi-square test against the draft's own distribution (a precondition of every
"lossless" claim), and a lossy placebo sampler that the rule must judge *not reproduced*."""

from collections import Counter
from dataclasses import dataclass

import torch

from shared.speculative.lm import TableLM
from shared.speculative.stats import chi_square, chi_square_power, sequence_distribution

PROMPT = [0, 1]
LENGTH = 3  # tokens generated after the prompt: 3^3 = 27 sequences to enumerate


@dataclass
class ExactnessCheck:
    """The pair, the target's exact distribution over `LENGTH`-token continuations of `PROMPT`, and the power of a
    level-`alpha` chi-square test with `n` samples against the draft's distribution."""

    target: TableLM
    draft: TableLM
    exact: dict
    power: float


def exactness_pair() -> tuple[TableLM, TableLM]:
    """A 3-token second-order target and a first-order draft half-mixed with it: far enough apart to detect."""
    target = TableLM(3, order=2, scale=1.5, seed=7)
    return target, TableLM(3, order=1, scale=1.5, seed=8, base=target, mix=0.5)


def exactness_check(n: int, alpha: float = 1e-3) -> ExactnessCheck:
    target, draft = exactness_pair()
    exact = sequence_distribution(target, PROMPT, LENGTH)
    power = chi_square_power(exact, sequence_distribution(draft, PROMPT, LENGTH), n, alpha)
    return ExactnessCheck(target, draft, exact, power)


def lossy_pvalue(n: int = 3000, seed: int = 0) -> float:
    """The chi-square p-value of `n` samples from the draft's distribution (an always-accepting verifier) tested
    against the target's: what a lossy sampler scores on the lossless claim's test."""
    target, draft = exactness_pair()
    exact, lossy = sequence_distribution(target, PROMPT, LENGTH), sequence_distribution(draft, PROMPT, LENGTH)
    keys = list(lossy)
    g = torch.Generator().manual_seed(seed)
    draws = torch.multinomial(torch.tensor([lossy[k] for k in keys]), n, replacement=True, generator=g)
    return chi_square(Counter(keys[i] for i in draws.tolist()), exact)[1]
