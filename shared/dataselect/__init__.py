"""Data selection: a labelled pool of documents from `data/`, targets with held-out splits, selectors on one interface,
and training at a fixed token budget with the shared trainer (`shared.lm.trainer`).

- `pool`: `build_pool` (chunks of the offline corpora, each with its source domain) and `make_task` (one domain as
  the target: a small target sample for the selector, a held-out evaluation split, the rest stays in the raw pool);
- `features`: hashed unigram+bigram counts (`hashed_counts_reference`, the plain reference, and `HashedNgrams`, the
  fast path over a whole pool, tested against it);
- `selectors`: `select(task, k, seed) -> indices into task.raw` for DSIR (importance resampling with Gumbel top-k),
  DSIR top-k, a target-vs-raw classifier, the oracle domain filter, and the trivial controls random and all data;
- `compression`: gzip normalised compression distance (`ncd_reference`, and the fast path `alignment_matrix`, tested
  against it) and the ZIP-FIT selector;
- `metrics`: hashed n-gram feature distributions, KL reduction, and the within-group correlation of a selection metric
  with target loss;
- `train`: token streams of selected documents, a small Llama-style LM trained with the shared trainer, target loss,
  and `run_arms` (one group of an experiment: every arm selects, trains and is scored; per-arm model sizes);
- `bench`: interleaved timing of several arms, and selector throughput against reading and hashing the same pool;
- `plots`: held-out loss per arm and target, and a selection metric against loss centred within groups;
- `toy`, `instruct`: a small labelled pool for tests, and the instruction/answer pool of the `evals` wheel.
"""
