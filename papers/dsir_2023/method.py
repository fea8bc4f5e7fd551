"""DSIR (Xie, Santurkar, Ma & Liang, "Data Selection for Language Models via Importance Resampling", arXiv:2302.03169):
what this replication adds on top of the shared engine `shared.dataselect` (pool, selectors, KL reduction, training).

- `ARMS`: the selection methods run in every group (target domain x seed), DSIR and its controls;
- `run_group`: one group: select k documents with every arm, train a fresh LM on each (same initialisation, same
  token budget), score the target's held-out split (`shared.dataselect.train.run_arms`); one row per arm, with the
  selection's KL reduction and the unigram floor of its tokens.
The KL-reduction claim's statistic, the within-group r, is the engine's `shared.dataselect.metrics.within_group_r`.

Deviations from the paper, on purpose:
- documents are chunks of >= 64 words of seven offline corpora, not the Pile; the target is one of those domains;
- tiny LMs are trained from scratch on the selection (the paper continues pretraining RoBERTa or pretrains BERT-base
  and scores GLUE or domain tasks); the score is the target's held-out next-token loss;
- the heuristic classifier is a logistic regression on hashed n-gram frequencies in its top-k form (the paper's
  fastText classifier with Pareto-noise thresholding is not offline).
"""

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
    """Every arm on one task (`run_arms`), with each selection's KL reduction and the unigram floor of its tokens on the
    target's held-out split."""
    from shared.lm.vocab import unigram_loss

    x = S.pool_features(task, buckets)

    def kl_and_floor(name, docs, tr, ev):
        return {"kl_reduction": kl_reduction(x[task.evaluation], x[task.raw], x[docs]),
                "unigram": unigram_loss(tr, ev, vocab, 0.5)}  # fmt: skip

    return T.run_arms(task, tokens, arms(buckets), k, vocab, train_kw, seed, extra=kl_and_floor)
