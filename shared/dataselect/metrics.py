"""Feature distributions and DSIR's data metric, KL reduction (Sec. 4 of arXiv:2302.03169), and the within-group
correlation of a selection metric with target loss (`within_group_r`, with its group-bootstrap statistic).

KL reduction of a selection: `KL(p_target || q_raw) - KL(p_target || p_selected)`, where each `p` is the distribution
over hashed n-gram buckets of a set of documents (bucket counts summed over the documents, plus a pseudo-count per
bucket so that no bucket has probability 0). Positive means the selection sits closer to the target than the raw pool.
"""

import numpy as np


def distribution(counts, pseudo: float = 1.0) -> np.ndarray:
    """A probability vector `[buckets]` from a count matrix `[n, buckets]` (dense or sparse) or vector, add-`pseudo`."""
    total = np.asarray(counts.sum(axis=0)).ravel() if getattr(counts, "ndim", 1) == 2 else np.asarray(counts)
    total = total.astype(np.float64) + pseudo
    return total / total.sum()


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats; `q` must be positive wherever `p` is."""
    nz = p > 0
    return float(np.sum(p[nz] * (np.log(p[nz]) - np.log(q[nz]))))


def kl_reduction(target, raw, selected, pseudo: float = 1.0) -> float:
    """`KL(target || raw) - KL(target || selected)` over hashed n-gram buckets; each argument a count matrix or vector."""
    p = distribution(target, pseudo)
    return kl(p, distribution(raw, pseudo)) - kl(p, distribution(selected, pseudo))


def within_group_r(groups, x, y) -> float:
    """Pearson r of `x` and `y` after subtracting each group's mean from both (`groups` labels the rows): the
    correlation across the selections within a group, free of the differences between targets and splits. NaN when
    either centred variable is constant."""
    groups, x, y = np.asarray(groups), np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xc, yc = x.copy(), y.copy()
    for g in np.unique(groups):
        m = groups == g
        xc[m] -= x[m].mean()
        yc[m] -= y[m].mean()
    den = np.sqrt((xc**2).sum() * (yc**2).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")


def within_group_r_over(groups, x, y):
    """The statistic for a bootstrap over whole groups: a function of a resample of group labels (a label drawn twice
    counts as two groups) returning `within_group_r` over the rows of the drawn groups."""
    groups, x, y = np.asarray(groups), np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    members = {g: np.flatnonzero(groups == g) for g in np.unique(groups)}

    def stat(sample) -> float:
        rows = np.concatenate([members[g] for g in sample])
        labels = np.concatenate([np.full(len(members[g]), j) for j, g in enumerate(sample)])
        return within_group_r(labels, x[rows], y[rows])

    return stat
