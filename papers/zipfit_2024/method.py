"""ZIP-FIT (Obbad et al., "ZIP-FIT: Embedding-Free Data Selection via Compression-Based Alignment", arXiv:2410.18194):
the gzip normalised-compression-distance selector, on the interface of the shared engine `shared.dataselect`
(`select(task, k, seed) -> indices into task.raw`), and what this replication runs on top of it.

- the selector itself, `ZipFit`, and the gzip normalised compression distance it ranks by (plain reference
  `ncd_reference`, fast path `alignment_matrix`) live in the engine: `shared.dataselect.compression` (written for this
  paper, moved there when DSIR's and this paper's shared pieces were gathered);
- `arms`, `run_group`: the selection arms of one group (target domain x seed), each trained with the engine's trainer at
  the same token budget (`shared.dataselect.train.run_arms`) and scored on the target's held-out split, with each
  selection's alignment to held-out target documents.

Deviations from the paper, on purpose: documents are ~64-word chunks of seven offline corpora (not the Pile-derived
sources, Lean/ProofNet autoformalization data or code corpora of the paper); tiny LMs are trained from scratch on the
selection (the paper fine-tunes GPT-2, Mistral-7B, Gemma-2-2B and others); the score is the target's held-out
next-token loss at a fixed token budget (the paper tracks cross-entropy during fine-tuning and how soon it bottoms out).
"""

import numpy as np

from shared.dataselect import selectors as S
from shared.dataselect import train as T
from shared.dataselect.compression import ZipFit, alignments


def arms(buckets: int) -> dict:
    """Selection method name -> selector. `all data` is the trivial control (the whole raw pool, same tokens) and no
    member of the alignment correlation; the domain oracle (random chunks of the target domain) is the positive control
    and a member of it."""
    zf = ZipFit()
    return {"ZIP-FIT": zf, "DSIR": S.DSIR(buckets), "domain oracle": S.DomainOracle(),
            "50% ZIP-FIT + random": S.Mixture(zf, 0.5), "random": S.RandomSelection(), "all data": S.AllData()}  # fmt: skip


def run_group(task, tokens, k: int, buckets: int, vocab: int, train_kw: dict, seed: int, n_ref: int) -> list[dict]:
    """Every arm on one task (`shared.dataselect.train.run_arms`), with each selection's alignment: the mean ZIP-FIT
    alignment of its documents with `n_ref` held-out target documents, which no selector sees (NaN for all data)."""
    ref = np.random.default_rng([seed, 8]).choice(task.evaluation, n_ref, replace=False)

    def alignment(name, docs, tr, ev):
        return {"alignment": float(alignments(task.pool, docs, ref).mean()) if name != "all data" else float("nan")}

    return T.run_arms(task, tokens, arms(buckets), k, vocab, train_kw, seed, extra=alignment)
