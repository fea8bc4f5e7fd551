"""Gzip normalised compression distance and the ZIP-FIT selector (Obbad et al., arXiv:2410.18194), on the engine's
interface `select(task, k, seed) -> indices into task.raw`.

`ncd_reference` / `alignment_reference` are the plain definitions with `gzip.compress` (level 9); `GzipLengths` and
`alignment_matrix` are the fast path over a whole pool (single lengths cached per pool, one raw-deflate call per pair
plus gzip's 18 header/trailer bytes: byte for byte what `gzip.compress` writes); `ZipFit` keeps the top-k raw documents
by `1 - mean_j NCD(x, t_j)` over the target sample. Tests: `tests/dataselect/test_compression.py`.

`NCD(x, y) = (C(x + y) - min(C(x), C(y))) / max(C(x), C(y))`, where `C(s)` is the length in bytes of `gzip.compress(s)`
at level 9 (Python's default, the paper's compressor) and `x + y` the concatenated UTF-8 bytes, candidate first.
"""

import gzip
import zlib

import numpy as np

from shared.dataselect import selectors as S

GZIP_OVERHEAD = 18  # gzip.compress's 10-byte header (no file name) + 8-byte trailer (CRC32, size) around raw deflate
LEVEL = 9  # gzip.compress's default compression level


def gzip_len_reference(data: bytes) -> int:
    """`C(data)`: the length of `gzip.compress(data)` (level 9)."""
    return len(gzip.compress(data, compresslevel=LEVEL))


def ncd_reference(x: str, y: str) -> float:
    """The normalised compression distance of two texts (the plain definition; about 0 for identical long texts, about
    1 for unrelated ones)."""
    bx, by = x.encode("utf-8"), y.encode("utf-8")
    cx, cy, cxy = gzip_len_reference(bx), gzip_len_reference(by), gzip_len_reference(bx + by)
    return (cxy - min(cx, cy)) / max(cx, cy)


def alignment_reference(x: str, targets: list[str]) -> float:
    """ZIP-FIT's alignment of one candidate with a target sample: `1 - mean_j NCD(x, t_j)`."""
    return 1.0 - float(np.mean([ncd_reference(x, t) for t in targets]))


def deflate_len(data: bytes) -> int:
    """`C(data)` on the fast path: raw deflate at gzip's settings (level 9, 32 KiB window) plus gzip's fixed 18 bytes."""
    return len(zlib.compress(data, LEVEL, wbits=-15)) + GZIP_OVERHEAD


class GzipLengths:
    """The UTF-8 bytes and compressed lengths `C(text)` of a list of texts, computed once."""

    def __init__(self, texts: list[str]):
        self.data = [t.encode("utf-8") for t in texts]
        self.lengths = np.array([deflate_len(b) for b in self.data], dtype=np.int64)


def pool_lengths(pool) -> GzipLengths:
    """The `GzipLengths` of every pool document (cached in `pool.cache`)."""
    key = ("gzip-lengths", LEVEL)
    if key not in pool.cache:
        pool.cache[key] = GzipLengths(pool.texts)
    return pool.cache[key]


def alignment_matrix(cands: GzipLengths, ci, targets: GzipLengths, ti) -> np.ndarray:
    """`NCD(cand_i, target_j)` for the candidates `ci` and targets `ti` (index arrays into the two `GzipLengths`):
    `[len(ci), len(ti)]`. One deflate call per pair; the single lengths come from the cache."""
    ci, ti = np.asarray(ci, dtype=np.int64), np.asarray(ti, dtype=np.int64)
    cx, cy = cands.lengths[ci].astype(np.float64), targets.lengths[ti].astype(np.float64)
    tdata = [targets.data[j] for j in ti]
    cxy = np.empty((len(ci), len(ti)), dtype=np.float64)
    for a, i in enumerate(ci):
        x = cands.data[i]
        cxy[a] = [len(zlib.compress(x + y, LEVEL, wbits=-15)) for y in tdata]
    cxy += GZIP_OVERHEAD
    lo = np.minimum(cx[:, None], cy[None, :])
    hi = np.maximum(cx[:, None], cy[None, :])
    return (cxy - lo) / hi


def alignments(pool, docs, targets) -> np.ndarray:
    """ZIP-FIT alignment `1 - mean NCD` of each pool document in `docs` with the pool documents `targets` `[len(docs)]`."""
    g = pool_lengths(pool)
    return 1.0 - alignment_matrix(g, docs, g, targets).mean(axis=1)


class ZipFit:
    """ZIP-FIT: rank the raw pool by alignment with the target sample and keep the top `k` (deterministic: `seed` is
    unused)."""

    name = "ZIP-FIT"

    def scores(self, task) -> np.ndarray:
        """Alignment of every raw document with the target sample `[len(task.raw)]`."""
        key = ("zipfit-scores", tuple(task.sample.tolist()), len(task.raw))
        if key not in task._cache:
            task._cache[key] = alignments(task.pool, task.raw, task.sample)
        return task._cache[key]

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return S.top_k(self.scores(task), k)

    def select_texts(self, raw_texts: list[str], target_texts: list[str], k: int) -> np.ndarray:
        """The whole selection from text (encode, compress singles and pairs, average, top-k): for the benchmark."""
        raw, tgt = GzipLengths(raw_texts), GzipLengths(target_texts)
        ncd = alignment_matrix(raw, np.arange(len(raw_texts)), tgt, np.arange(len(target_texts)))
        return S.top_k(1.0 - ncd.mean(axis=1), k)
