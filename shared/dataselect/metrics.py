"""Feature distributions and the paper's data metric, KL reduction (Sec. 4 of the paper).

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
