"""Selectors on one interface: `selector.select(task, k, seed) -> indices into task.raw` (distinct, sorted).

- `DSIR`: hashed n-gram importance resampling (the paper's method): bag-of-ngrams models of the target sample and of the
  raw pool over hashed buckets, log importance weights `sum_j x_ij (log p_target[j] - log p_raw[j])`, then `k` draws
  without replacement with probability proportional to the weights (Gumbel top-k); `top_k=True` keeps the `k` largest
  weights instead (the paper's "top-k DSIR").
- `Classifier`: a target-vs-raw logistic regression on hashed n-gram frequencies, top `k` by score (the paper's
  heuristic-classification baseline, in its top-k form).
- `DomainOracle`: `k` random documents of the target domain (the labels of the pool: an analogue of expert curation).
- `Mixture`: a share of another selector's picks, the rest random (graded selections between a method and random).
- `RandomSelection` and `AllData`: the trivial controls (`AllData` returns the whole raw pool; the trainer then sees
  the same number of tokens as the other arms).

`log_importance_reference` and `sample_without_replacement_reference` are the plain definitions the fast paths are
tested against.
"""

import math

import numpy as np

from shared.dataselect.features import HashedNgrams, hashed_counts_reference


def pool_features(task, buckets: int = 10000, ngrams: int = 2):
    """The hashed n-gram count matrix of the whole pool (computed once per pool and kept in `pool.cache`)."""
    key = ("features", buckets, ngrams)
    if key not in task.pool.cache:
        task.pool.cache[key] = HashedNgrams(buckets, ngrams).transform(task.pool.texts)
    return task.pool.cache[key]


def log_ratio(raw_counts, target_counts, pseudo: float = 1.0) -> np.ndarray:
    """`log p_target - log p_raw` per bucket, each a bag-of-ngrams model: summed counts plus `pseudo` per bucket."""
    pt = np.asarray(target_counts.sum(axis=0)).ravel().astype(np.float64) + pseudo
    pr = np.asarray(raw_counts.sum(axis=0)).ravel().astype(np.float64) + pseudo
    return np.log(pt / pt.sum()) - np.log(pr / pr.sum())


def log_importance(raw_counts, target_counts, pseudo: float = 1.0) -> np.ndarray:
    """Log importance weights `[n_raw]` of the raw documents (the fast path: one sparse matrix-vector product)."""
    return np.asarray(raw_counts @ log_ratio(raw_counts, target_counts, pseudo)).ravel()


def log_importance_reference(raw_texts, target_texts, buckets: int = 10000, ngrams: int = 2,
                             pseudo: float = 1.0) -> list[float]:  # fmt: skip
    """The plain definition, document by document in Python (for tests on small inputs)."""
    raw = [hashed_counts_reference(t, buckets, ngrams) for t in raw_texts]
    tgt = [hashed_counts_reference(t, buckets, ngrams) for t in target_texts]
    pr = [sum(int(c[j]) for c in raw) + pseudo for j in range(buckets)]
    pt = [sum(int(c[j]) for c in tgt) + pseudo for j in range(buckets)]
    sr, st = sum(pr), sum(pt)
    diff = [math.log(pt[j] / st) - math.log(pr[j] / sr) for j in range(buckets)]
    return [sum(int(c[j]) * diff[j] for j in range(buckets) if c[j]) for c in raw]


def gumbel_top_k(log_weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` distinct indices drawn without replacement with probability proportional to `exp(log_weights)` (the Gumbel
    top-k trick: the `k` largest `log_weights + Gumbel noise`), sorted."""
    n = len(log_weights)
    if not 0 <= k <= n:
        raise ValueError(f"cannot select {k} of {n}")
    keys = np.asarray(log_weights, dtype=np.float64) + rng.gumbel(size=n)
    return np.sort(np.argpartition(-keys, k - 1)[:k]) if k else np.array([], dtype=np.int64)


def sample_without_replacement_reference(weights, k: int, rng: np.random.Generator) -> list[int]:
    """Sequential draws: each pick with probability proportional to the weights of the documents not yet picked."""
    w = np.asarray(weights, dtype=np.float64).copy()
    out = []
    for _ in range(k):
        i = int(rng.choice(len(w), p=w / w.sum()))
        out.append(i)
        w[i] = 0.0
    return sorted(out)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The `k` largest scores (ties by lower index), sorted indices."""
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores)))
    return np.sort(order[:k])


class RandomSelection:
    name = "random"

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return np.sort(np.random.default_rng([seed, 1]).choice(len(task.raw), k, replace=False))


class AllData:
    """The whole raw pool (the trainer then sees as many tokens as every other arm)."""

    name = "all data"

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return np.arange(len(task.raw))


class DSIR:
    def __init__(self, buckets: int = 10000, ngrams: int = 2, pseudo: float = 1.0, top_k: bool = False):
        self.buckets, self.ngrams, self.pseudo, self.top_k = buckets, ngrams, pseudo, top_k
        self.name = "DSIR top-k" if top_k else "DSIR"

    def weights(self, task) -> np.ndarray:
        x = pool_features(task, self.buckets, self.ngrams)
        return log_importance(x[task.raw], x[task.sample], self.pseudo)

    def _pick(self, logw, k, seed):
        return top_k(logw, k) if self.top_k else gumbel_top_k(logw, k, np.random.default_rng([seed, 2]))

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return self._pick(self.weights(task), k, seed)

    def select_texts(self, raw_texts: list[str], target_texts: list[str], k: int, seed: int) -> np.ndarray:
        """The whole selection from text: featurise raw and target, fit both models, weigh, resample (benchmarks)."""
        f = HashedNgrams(self.buckets, self.ngrams)
        raw, tgt = f.transform(raw_texts), f.transform(target_texts)
        return self._pick(log_importance(raw, tgt, self.pseudo), k, seed)


class Classifier:
    """Logistic regression, target sample (label 1) against as many random raw documents (label 0), on L2-normalised
    hashed n-gram counts; the `k` raw documents with the highest score."""

    name = "classifier top-k"

    def __init__(self, buckets: int = 10000, ngrams: int = 2, C: float = 10.0):
        self.buckets, self.ngrams, self.C = buckets, ngrams, C

    def select(self, task, k: int, seed: int) -> np.ndarray:
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import normalize

        x = normalize(pool_features(task, self.buckets, self.ngrams).astype(np.float64))
        neg = np.random.default_rng([seed, 3]).choice(len(task.raw), len(task.sample), replace=False)
        xs = sparse.vstack([x[task.sample], x[task.raw[neg]]])
        ys = np.r_[np.ones(len(task.sample)), np.zeros(len(neg))]
        clf = LogisticRegression(C=self.C, max_iter=1000).fit(xs, ys)
        return top_k(clf.decision_function(x[task.raw]), k)


class DomainOracle:
    """`k` random raw documents of the target domain (needs at least `k` of them)."""

    name = "domain oracle"

    def select(self, task, k: int, seed: int) -> np.ndarray:
        own = np.flatnonzero(task.raw_domains == task.target_id)
        if len(own) < k:
            raise ValueError(f"only {len(own)} raw documents of {task.target!r}, fewer than k = {k}")
        return np.sort(np.random.default_rng([seed, 4]).choice(own, k, replace=False))


class Mixture:
    """`round(share * k)` of `base`'s picks (chosen at random among them) and the rest random among the others."""

    def __init__(self, base, share: float):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must lie in [0, 1], got {share}")
        self.base, self.share = base, share
        self.name = f"{share:.0%} {base.name} + random"

    def select(self, task, k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 5])
        picks = self.base.select(task, k, seed)
        m = int(round(self.share * k))
        keep = rng.choice(picks, m, replace=False)
        rest = np.setdiff1d(np.arange(len(task.raw)), keep)
        return np.sort(np.r_[keep, rng.choice(rest, k - m, replace=False)])


SELECTORS = {"random": RandomSelection, "all data": AllData, "DSIR": DSIR, "classifier top-k": Classifier,
             "domain oracle": DomainOracle}  # fmt: skip
