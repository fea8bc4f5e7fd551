"""The shared exactness check: the pair is detectably different, and the placebo sampler fails the test."""

from shared.speculative.exactness import exactness_check, lossy_pvalue


def test_exact_distribution_and_power():
    check = exactness_check(3000, alpha=1e-3)
    assert abs(sum(check.exact.values()) - 1) < 1e-9 and len(check.exact) == 27
    assert check.power > 0.99  # 3000 samples detect the draft's distribution almost surely
    assert exactness_check(30, alpha=1e-3).power < check.power


def test_lossy_placebo_is_rejected_and_seeded():
    assert lossy_pvalue() < 1e-3
    assert lossy_pvalue(seed=1) == lossy_pvalue(seed=1)


def test_exact_sampler_is_rejected_at_the_nominal_rate_only_with_pooling():
    """500 exact samplers of 3000 draws: the pooled test rejects at about its level (1e-3: at most 2 of 500 by a
    wide binomial margin); without pooling, the outcomes of probability ~1e-6 reject it about 18 times as often."""
    from collections import Counter

    import torch

    from shared.speculative.exactness import LENGTH, PROMPT, exactness_pair
    from shared.speculative.stats import chi_square, sequence_distribution

    exact = sequence_distribution(exactness_pair()[0], PROMPT, LENGTH)
    keys = list(exact)
    probs = torch.tensor([exact[k] for k in keys])
    g = torch.Generator().manual_seed(0)
    rejected = {5.0: 0, 0.0: 0}
    for _ in range(500):
        counts = Counter(keys[i] for i in torch.multinomial(probs, 3000, replacement=True, generator=g).tolist())
        for min_expected in rejected:
            rejected[min_expected] += chi_square(counts, exact, min_expected=min_expected)[1] < 1e-3
    assert rejected[5.0] <= 2 and rejected[0.0] >= 5, rejected


def test_pooled_cells_keep_every_outcome_once():
    from shared.speculative.stats import pooled_cells

    expected = {"a": 0.5, "b": 0.3, "c": 0.199, "d": 0.001}
    cells = pooled_cells(expected, n=100)
    assert sorted(k for c in cells for k in c) == ["a", "b", "c", "d"]
    assert ["d"] not in cells  # 0.1 expected: pooled
    assert pooled_cells(expected, n=10_000)[-1] == ["d"]  # 10 expected: a cell of its own
