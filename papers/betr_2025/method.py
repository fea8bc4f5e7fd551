"""
BETR, benchmark-targeted ranking, after Mizrahi, Larsen, Allardice, Petryk, Gorokhov, Li, Fang, Gardner, Gunter &
Dehghan, "Language Models Improve When Pretraining Data Matches Target Tasks" (arXiv:2507.12466, Sec. 3).

What is new in this paper, and only that (the pool, the targets, DSIR, the target-vs-pool classifier, the controls and
the trainer are the shared engine `shared.dataselect`):

1. embed the target examples (the paper's benchmark training examples) and a *scoring sample* of the pool in one
   space (`embed`, mean-pooled and L2-normalised sentence embeddings; `embed_reference` is the plain one-text-at-a-time
   definition the batched path is tested against);
2. every target example ranks the scoring sample by cosine similarity (`ranks`: competition ranks, 1 = most similar;
   `ranks_reference` is the plain loop); a document's score aggregates its ranks over the examples (`scores`): *max*
   of `v(r) = 1 / r` (its best rank over all examples: the paper's choice), or *mean* of `v(r) = log2(1 / r)` (the
   paper's mean-aggregation ablation);
3. a light classifier learns to tell the top `top_frac` of the scored sample from the rest (the majority class
   downsampled to balance it) and scores the whole pool; the top `k` are kept (`BETR.select`).

Deviations from the paper, on purpose:
- the embedding model is the zoo's all-MiniLM-L6-v2 (inputs cut at 128 word pieces: the median chunk has 103), not
  Arctic-Embed L 2.0 (the paper's Fig. 8b finds the embedding model matters little: 61.9-62.5 Core average);
- the light classifier is a logistic regression on L2-normalised hashed unigram+bigram counts (the engine's
  `HashedNgrams`), the nearest offline relative of the paper's FastText classifier (a linear model over word and
  n-gram features);
- the scoring sample is a fixed ~11% of the pool (the paper scores about 0.1% of a web pool: a 0.1% sample of a
  2,100-chunk pool would hold two documents), drawn once per pool and shared by every group, so its embeddings are
  computed once;
- selections keep `k` documents (the same `k` for every arm), not a share of tokens.
"""

import math

import numpy as np

from shared.dataselect import selectors as S
from shared.dataselect import train as T

EMBED_MODEL = "all-minilm-l6-v2"


def _mean_pool(hidden, mask):
    """Mean of the token vectors under the attention mask, L2-normalised: `[B, D]` (sentence-transformers' recipe for
    all-MiniLM-L6-v2)."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
    v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(v, dim=-1)


def embed_reference(model, tok, texts: list[str], max_length: int = 128) -> np.ndarray:
    """The plain definition, one text at a time (no padding): `[n, D]` float32, unit rows."""
    import torch

    out = []
    with torch.no_grad():
        for t in texts:
            b = tok([t], truncation=True, max_length=max_length, return_tensors="pt")
            out.append(_mean_pool(model(**b).last_hidden_state, b["attention_mask"])[0].numpy())
    return np.stack(out).astype(np.float32)


def embed(model, tok, texts: list[str], max_length: int = 128, batch: int = 32) -> np.ndarray:
    """The batched path: texts sorted by length so that each padded batch wastes little, then put back in order.
    `[n, D]` float32, unit rows; equal to `embed_reference` up to float rounding (masked padding)."""
    import torch

    ids = tok(texts, truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(texts), batch):
            sel = order[s : s + batch]
            b = tok([texts[i] for i in sel], truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            out[sel] = _mean_pool(model(**b).last_hidden_state, b["attention_mask"]).numpy()
    return out


def ranks_reference(sim) -> np.ndarray:
    """Competition ranks, the plain loop: `r[i, j] = 1 + #{j' : sim[i, j'] > sim[i, j]}` for `sim` `[M, n]` (example
    i ranks document j; equal similarities share the better rank)."""
    sim = np.asarray(sim, dtype=np.float64)
    m, n = sim.shape
    r = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        for j in range(n):
            r[i, j] = 1 + sum(1 for jj in range(n) if sim[i, jj] > sim[i, j])
    return r


def insertion_ranks(sim_ref, sim_new) -> np.ndarray:
    """The rank each new document would get from each example among the reference documents: `1 + #{j : sim_ref[i,
    j] > sim_new[i, c]}`, `[M, n_new]` (the fast path: one sort per example). `ranks(sim) = insertion_ranks(sim,
    sim)`."""
    sim_ref, sim_new = np.asarray(sim_ref, dtype=np.float64), np.asarray(sim_new, dtype=np.float64)
    desc = -np.sort(-sim_ref, axis=1)  # [M, n_ref], descending
    # count of reference values strictly greater than x in a descending row = searchsorted on the negated row, left
    return 1 + np.stack([np.searchsorted(-desc[i], -sim_new[i], side="left") for i in range(len(desc))])


def ranks(sim) -> np.ndarray:
    """Competition ranks `[M, n]` of `sim` `[M, n]` (the fast path of `ranks_reference`)."""
    return insertion_ranks(sim, sim)


def scores(r, agg: str = "max") -> np.ndarray:
    """A document's BETR score from its ranks `[M, n]`: `max_i 1 / r_ij` (`agg="max"`, the paper's choice: its best
    rank) or `mean_i log2(1 / r_ij)` (`agg="mean"`)."""
    r = np.asarray(r, dtype=np.float64)
    if agg == "max":
        return (1.0 / r).max(axis=0)
    if agg == "mean":
        return (-np.log2(r)).mean(axis=0)
    raise ValueError(f"unknown aggregation {agg!r}; use 'max' or 'mean'")


def top_fraction(score, tiebreak, frac: float) -> np.ndarray:
    """A boolean mask of the top `ceil(frac * n)` documents by `score`, ties broken by `tiebreak` (higher first), then
    by lower index."""
    score, tiebreak = np.asarray(score, dtype=np.float64), np.asarray(tiebreak, dtype=np.float64)
    n = len(score)
    n_top = min(n, max(1, math.ceil(round(frac * n, 6))))
    order = np.lexsort((np.arange(n), -tiebreak, -score))
    mask = np.zeros(n, dtype=bool)
    mask[order[:n_top]] = True
    return mask


class BETR:
    """BETR on the engine's interface: `select(task, k, seed) -> indices into task.raw`.

    Args:
        embed_fn: pool indices `[n]` -> unit embeddings `[n, D]` (cached by the caller: `embedder`).
        scoring: pool indices of the scoring sample; a group uses those in its raw pool.
        top_frac: the share of the scored sample labelled positive (the paper's top 10%).
        agg: `"max"` (best rank, the paper's choice) or `"mean"` (mean log2(1 / rank)).
        buckets, C: the classifier's hashed n-gram buckets and inverse L2 strength.
    """

    def __init__(self, embed_fn, scoring, top_frac: float = 0.1, agg: str = "max", buckets: int = 10000,
                 C: float = 10.0):  # fmt: skip
        self.embed_fn, self.scoring = embed_fn, np.asarray(scoring)
        self.top_frac, self.agg, self.buckets, self.C = top_frac, agg, buckets, C
        self.name = "BETR" if agg == "max" else f"BETR ({agg} rank)"
        self._fits = {}

    def exact(self, task, docs):
        """The embedding scores of pool documents `docs` against the scoring sample of `task`'s raw pool: scores,
        tie-breaks (best cosine similarity) and, for the scoring documents themselves, the positive labels.
        Returns `(ref, score, tiebreak)` with `ref` the scoring documents (pool indices)."""
        ref = np.intersect1d(self.scoring, task.raw)
        tgt = self.embed_fn(task.sample)  # [M, D]
        sim_ref = tgt @ self.embed_fn(ref).T  # [M, n_ref]
        sim_new = tgt @ self.embed_fn(np.asarray(docs)).T  # [M, n]
        return ref, scores(insertion_ranks(sim_ref, sim_new), self.agg), sim_new.max(axis=0)

    def fit(self, task, seed: int):
        """The classifier of one group (cached): labels from the embedding scores of the scoring sample, positives
        = its top `top_frac`, negatives = as many of the rest drawn by `seed`. Returns `(classifier, info)`."""
        key = (id(task), seed)
        if key not in self._fits:
            from scipy import sparse
            from sklearn.linear_model import LogisticRegression
            from sklearn.preprocessing import normalize

            ref = np.intersect1d(self.scoring, task.raw)
            _, s, tb = self.exact(task, ref)
            pos = top_fraction(s, tb, self.top_frac)
            rng = np.random.default_rng([seed, 11])
            neg = rng.choice(np.flatnonzero(~pos), int(pos.sum()), replace=False)
            x = normalize(S.pool_features(task, self.buckets).astype(np.float64))
            rows = np.r_[ref[pos], ref[neg]]
            y = np.r_[np.ones(int(pos.sum())), np.zeros(len(neg))]
            clf = LogisticRegression(C=self.C, max_iter=1000).fit(sparse.csr_matrix(x[rows]), y)
            dom = task.pool.domains
            info = {"n_scored": len(ref), "n_pos": int(pos.sum()),
                    "top_share": float((dom[ref[pos]] == task.target_id).mean()),
                    "base_share": float((dom[ref] == task.target_id).mean())}  # fmt: skip
            self._fits[key] = (clf, x, info)
        return self._fits[key]

    def predict(self, task, docs, seed: int) -> np.ndarray:
        """The classifier's score (decision function) of pool documents `docs`."""
        clf, x, _ = self.fit(task, seed)
        return clf.decision_function(x[np.asarray(docs)])

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return S.top_k(self.predict(task, task.raw, seed), k)

    def held_out(self, task, check, seed: int) -> dict:
        """How well the classifier reproduces the embedding scores on pool documents `check` it was not trained on
        (those in the raw pool and outside the scoring sample): the AUC of its score for the exact top-`top_frac`
        label (a check document is positive when its embedding score and tie-break would place it among the scoring
        sample's top `top_frac`), and the Spearman correlation of its score with the exact score."""
        from scipy.stats import spearmanr
        from sklearn.metrics import roc_auc_score

        check = np.setdiff1d(np.intersect1d(check, task.raw), self.scoring)
        ref, s_ref, tb_ref = self.exact(task, np.intersect1d(self.scoring, task.raw))
        pos = top_fraction(s_ref, tb_ref, self.top_frac)
        # the last positive's (score, tiebreak): a check document at or above it would have been a positive
        last = np.lexsort((-tb_ref[pos], -s_ref[pos]))[-1]
        cut_s, cut_tb = s_ref[pos][last], tb_ref[pos][last]
        _, s, tb = self.exact(task, check)
        label = (s > cut_s) | ((s == cut_s) & (tb >= cut_tb))
        pred = self.predict(task, check, seed)
        auc = float(roc_auc_score(label, pred)) if 0 < label.sum() < len(label) else float("nan")
        return {"auc": auc, "spearman": float(spearmanr(pred, s + 1e-9 * tb).statistic), "n_check": len(check),
                "n_check_pos": int(label.sum())}  # fmt: skip


def embedder(pool, model, tok, max_length: int = 128):
    """A cached `embed_fn` over `pool` (pool indices -> `[n, D]`); documents not yet embedded are embedded together
    in one batched call. Embed everything a run needs in one first call so that batch composition is fixed."""
    cache = pool.cache.setdefault(("embeddings", EMBED_MODEL, max_length), {})

    def embed_fn(idx):
        idx = [int(i) for i in np.asarray(idx)]
        missing = sorted(set(i for i in idx if i not in cache))
        if missing:
            cache.update(zip(missing, embed(model, tok, [pool.texts[i] for i in missing], max_length)))
        return np.stack([cache[i] for i in idx]) if idx else np.zeros((0, model.config.hidden_size), np.float32)

    return embed_fn


def arms(embed_fn, scoring, top_frac: float, buckets: int) -> dict:
    """Selection arm name -> selector. Random and all data (the whole raw pool, same tokens) are the trivial controls;
    the domain oracle (k random chunks of the target domain) is the positive control."""
    return {"BETR": BETR(embed_fn, scoring, top_frac, "max", buckets),
            "BETR (mean rank)": BETR(embed_fn, scoring, top_frac, "mean", buckets),
            "target-vs-pool classifier": S.Classifier(buckets), "DSIR": S.DSIR(buckets),
            "domain oracle": S.DomainOracle(), "random": S.RandomSelection(), "all data": S.AllData()}  # fmt: skip


def run_group(task, tokens, k: int, vocab: int, train_kw: dict, seed: int, embed_fn, scoring, check,
              top_frac: float, buckets: int) -> tuple[list[dict], dict]:  # fmt: skip
    """Every arm on one task (`shared.dataselect.train.run_arms`), and the BETR classifier's agreement with the exact
    embedding scores on the held-out `check` documents. Returns `(rows, info)`."""
    a = arms(embed_fn, scoring, top_frac, buckets)
    rows = T.run_arms(task, tokens, a, k, vocab, train_kw, seed)
    betr = a["BETR"]
    info = {"target": task.target, "seed": seed, **betr.fit(task, seed)[2], **betr.held_out(task, check, seed)}
    return rows, info
