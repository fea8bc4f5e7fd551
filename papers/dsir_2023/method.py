"""DSIR (Xie, Santurkar, Ma & Liang, "Data Selection for Language Models via Importance Resampling", arXiv:2302.03169):
what this replication adds on top of the shared engine `shared.dataselect` (pool, selectors, KL reduction, training).

- `ARMS`: the selection methods run in every group (target domain x seed), DSIR and its controls;
- `run_group`: one group: select k documents with every arm, train a fresh LM on each (same initialisation, same
  token budget), score the target's held-out split; one row per arm;
- `within_group_r`: Pearson r of two quantities after centring each within its group (the correlation across
  selection methods, free of the differences between targets and splits), the statistic of the KL-reduction claim.

Deviations from the paper, on purpose:
- documents are chunks of >= 64 words of seven offline corpora, not the Pile; the target is one of those domains;
- tiny LMs are trained from scratch on the selection (the paper continues pretraining RoBERTa or pretrains BERT-base
  and scores GLUE or domain tasks); the score is the target's held-out next-token loss;
- the heuristic classifier is a logistic regression on hashed n-gram frequencies in its top-k form (the paper's
  fastText classifier with Pareto-noise thresholding is not offline).
"""

import numpy as np

from shared.dataselect import selectors as S
from shared.dataselect import train as T
from shared.dataselect.metrics import kl_reduction


def arms(buckets: int) -> dict:
    """Selection method name -> selector; `all data` is the trivial control of claim 1 and no member of the
    correlation (it is the raw pool itself, not a selection of k documents)."""
    dsir = S.DSIR(buckets)
    return {"DSIR": dsir, "DSIR top-k": S.DSIR(buckets, top_k=True), "classifier top-k": S.Classifier(buckets),
            "domain oracle": S.DomainOracle(), "50% DSIR + random": S.Mixture(dsir, 0.5),
            "random": S.RandomSelection(), "all data": S.AllData()}  # fmt: skip


def run_group(task, tokens, k: int, buckets: int, vocab: int, train_kw: dict, seed: int) -> list[dict]:
    """Every arm on one task: select, train (seed `seed`), score. Rows: arm, target share, KL reduction, held-out loss,
    the unigram floor of the selected tokens, documents and tokens selected."""
    from shared.lm.vocab import unigram_loss

    x = S.pool_features(task, buckets)
    ev = T.stream(tokens, task.evaluation)
    rows = []
    for name, sel in arms(buckets).items():
        idx = sel.select(task, k, seed)
        docs = task.raw[idx]
        tr = T.stream(tokens, docs, seed)
        model = T.train_lm(tr, vocab, seed, **train_kw)
        rows.append({"target": task.target, "seed": seed, "arm": name, "target_share": task.target_share(idx),
                     "kl_reduction": kl_reduction(x[task.evaluation], x[task.raw], x[docs]),
                     "loss": float(T.window_losses(model, ev, train_kw["ctx"]).mean()),
                     "unigram": unigram_loss(tr, ev, vocab, 0.5), "docs": len(docs), "tokens": len(tr)})  # fmt: skip
    return rows


def within_group_r(groups, x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of `x` and `y` after subtracting each group's mean from both (`groups` labels the rows)."""
    groups, x, y = np.asarray(groups), np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xc, yc = x.copy(), y.copy()
    for g in np.unique(groups):
        m = groups == g
        xc[m] -= x[m].mean()
        yc[m] -= y[m].mean()
    den = np.sqrt((xc**2).sum() * (yc**2).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")
