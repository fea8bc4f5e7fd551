"""ZIP-FIT (Obbad et al., "ZIP-FIT: Embedding-Free Data Selection via Compression-Based Alignment", arXiv:2410.18194):
the gzip normalised-compression-distance selector, on the interface of the shared engine `shared.dataselect`
(`select(task, k, seed) -> indices into task.raw`), and what this replication runs on top of it.

- `ncd_reference(x, y)`: the plain definition, `NCD(x, y) = (C(x + y) - min(C(x), C(y))) / max(C(x), C(y))`, where
  `C(s)` is the length in bytes of `gzip.compress(s)` at level 9 (Python's default, the paper's compressor) and `x + y`
  the concatenated UTF-8 bytes, candidate first;
- `alignment_reference(x, targets)`: ZIP-FIT's alignment of a candidate, `1 - mean_j NCD(x, t_j)` over the target
  sample (higher = more aligned);
- `GzipLengths` and `alignment_matrix`: the fast path over a whole pool (each document's compressed length computed
  once and cached per pool; a pair's `C(x + y)` as one raw-deflate call plus gzip's 18 bytes of header and trailer,
  which is byte for byte what `gzip.compress` writes); tested equal to the reference;
- `ZipFit`: the selector: the `k` raw documents of highest alignment to the target sample (top-k, ties by lower index);
- `arms`, `run_group`: the selection arms of one group (target domain x seed), each trained with the engine's trainer at
  the same token budget and scored on the target's held-out split;
- `within_group_r`: Pearson r after centring within groups (the correlation across selections, free of the differences
  between targets and splits).

Deviations from the paper, on purpose: documents are ~64-word chunks of seven offline corpora (not the Pile-derived
sources, Lean/ProofNet autoformalization data or code corpora of the paper); tiny LMs are trained from scratch on the
selection (the paper fine-tunes GPT-2, Mistral-7B, Gemma-2-2B and others); the score is the target's held-out
next-token loss at a fixed token budget (the paper tracks cross-entropy during fine-tuning and how soon it bottoms out).
"""

import gzip
import zlib

import numpy as np

from shared.dataselect import selectors as S
from shared.dataselect import train as T

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


def arms(buckets: int) -> dict:
    """Selection method name -> selector. `all data` is the trivial control (the whole raw pool, same tokens) and no
    member of the alignment correlation; the domain oracle (random chunks of the target domain) is the positive control
    and a member of it."""
    zf = ZipFit()
    return {"ZIP-FIT": zf, "DSIR": S.DSIR(buckets), "domain oracle": S.DomainOracle(),
            "50% ZIP-FIT + random": S.Mixture(zf, 0.5), "random": S.RandomSelection(), "all data": S.AllData()}  # fmt: skip


def run_group(task, tokens, k: int, buckets: int, vocab: int, train_kw: dict, seed: int, n_ref: int) -> list[dict]:
    """Every arm on one task: select, train (seed `seed`), score. Rows: arm, target share, the selection's alignment
    (mean ZIP-FIT alignment of its documents with `n_ref` held-out target documents, which no selector sees), held-out
    loss, documents and tokens selected, selection seconds."""
    import time

    ref = np.random.default_rng([seed, 8]).choice(task.evaluation, n_ref, replace=False)
    ev = T.stream(tokens, task.evaluation)
    rows = []
    for name, sel in arms(buckets).items():
        t = time.perf_counter()
        idx = sel.select(task, k, seed)
        select_s = time.perf_counter() - t
        docs = task.raw[idx]
        align = float(alignments(task.pool, docs, ref).mean()) if name != "all data" else float("nan")
        tr = T.stream(tokens, docs, seed)
        model = T.train_lm(tr, vocab, seed, **train_kw)
        rows.append({"target": task.target, "seed": seed, "arm": name, "target_share": task.target_share(idx),
                     "alignment": align, "loss": float(T.window_losses(model, ev, train_kw["ctx"]).mean()),
                     "docs": len(docs), "tokens": len(tr), "select_s": select_s})  # fmt: skip
    return rows


def within_group_r(groups, x, y) -> float:
    """Pearson r of `x` and `y` after subtracting each group's mean from both (`groups` labels the rows)."""
    groups, x, y = np.asarray(groups), np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xc, yc = x.copy(), y.copy()
    for g in np.unique(groups):
        m = groups == g
        xc[m] -= x[m].mean()
        yc[m] -= y[m].mean()
    den = np.sqrt((xc**2).sum() * (yc**2).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")
