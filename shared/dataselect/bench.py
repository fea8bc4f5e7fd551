"""Selector throughput over a whole pool, as a ratio to reading and hashing the same texts in the same run.

`throughput(texts, target_texts, k)` times, interleaved `repeats` times, (a) featurising every text into hashed n-gram
counts (the floor of any n-gram selector: it must at least read and hash the pool) and (b) DSIR's whole selection from
text (featurise, fit both bag-of-ngrams models, weigh, Gumbel top-k). Issue 17's target: the n-gram selector within
3x of (a). Timings depend on the machine: report them, never compare them across machines.
"""

import time

import numpy as np

from shared.dataselect.features import HashedNgrams
from shared.dataselect.selectors import DSIR


def interleaved(fns: dict, repeats: int) -> dict:
    """Seconds of each callable `fns[name](r)` per repeat `r`, the callables run in turn within each repeat (so that a
    change in machine load hits every arm alike): `{name: [seconds] * repeats}`."""
    out = {name: [] for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn(r)
            out[name].append(time.perf_counter() - t)
    return out


def throughput(texts: list[str], target_texts: list[str], k: int, buckets: int = 10000, repeats: int = 5) -> dict:
    """`{"docs", "hash_s", "select_s", "hash_docs_per_s", "select_docs_per_s", "ratio"}`: per-repeat seconds (lists),
    median throughputs, and the geometric mean of the per-repeat ratios select / hash."""

    def hash_all(r):
        f = HashedNgrams(buckets)
        f.transform(texts)
        f.transform(target_texts)

    s = interleaved(
        {"hash": hash_all, "select": lambda r: DSIR(buckets).select_texts(texts, target_texts, k, r)}, repeats
    )
    hash_s, select_s = s["hash"], s["select"]
    ratio = float(np.exp(np.mean(np.log(np.array(select_s) / np.array(hash_s)))))
    return {"docs": len(texts), "hash_s": hash_s, "select_s": select_s,
            "hash_docs_per_s": len(texts) / float(np.median(hash_s)),
            "select_docs_per_s": len(texts) / float(np.median(select_s)), "ratio": ratio}  # fmt: skip
