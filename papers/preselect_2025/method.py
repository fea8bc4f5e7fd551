"""PreSelect, predictive data selection, after Shum, Huang, Zou, Ding, Liao, Chen, Liu & He, "Predictive Data
Selection: The Data That Predicts Is the Data That Teaches" (arXiv:2503.00808), on the interface of the shared engine
`shared.dataselect` (`select(task, k, seed) -> indices into task.raw`).

What is new in this paper, and only that (the pool, the targets, random, all data, the target-vs-pool classifier,
DSIR and the trainer are the engine's):

1. a *family* of LMs with different abilities (`train_family`): here tiny LMs trained on the raw pool, each on its own
   domain mixture (Dirichlet weights drawn by the seed), width and step count; its members' *ability* is minus their
   bits per character on the target sample (the paper: the Llama-1/2 models' downstream benchmark average);
2. every document's normalised loss under every member, bits per character (`doc_nats` for the summed next-token
   loss, `doc_nats_reference` the plain one-window-at-a-time definition it is tested against; `bpc`);
3. a document's *predictive strength* (`concordance`): the share of member pairs in which the more able member has
   the lower bits per character on it (`concordance_reference`: the authors' double loop over pairs, their count of
   ordered pairs divided by the number of pairs);
4. positives: the scored documents of perfect strength (every pair in order); negatives: as many of the lowest
   strength (`labels`, the authors' `train_fasttext.py` rule), with a floor of `min_pos` of each when perfect order
   is rarer than that;
5. a light classifier (logistic regression on hashed n-grams, the engine's features: the nearest offline relative of
   the paper's fastText model) learns positives vs. negatives and scores the whole raw pool; the `k` highest are kept
   (`PreSelect`).

Also here: `StrengthTopK`, the `k` scored documents of highest strength with no classifier (the paper's hypothesis
itself: the data that predicts teaches), and `PerplexityFilter`, the `k` raw documents of lowest bits per character
under the family's most able member (the perplexity-filtering baseline, built from the same family).

Deviations from the paper, on purpose:
- the documents are ~64-word chunks of seven offline corpora and the "ability" is the target domain's loss (the paper:
  RefinedWeb documents and an average over downstream benchmarks); so the selection is targeted here;
- the family is six tiny LMs trained in the notebook per group, not six Llama-1/2 models (7B-65B): their diversity
  comes from their training mixtures, widths and step counts; no family member sees the target's sample or held-out
  split (they train on the raw pool only);
- the scored sample is a random share of each group's raw pool (the paper scores about 900K of its documents); the
  light classifier is a logistic regression, not fastText; selections keep `k` documents, not a share of tokens;
- the trained models are tiny Llama-style LMs scored by held-out next-token loss at one token budget (the paper: 1B and
  3B models scored on 17 downstream tasks, and budget sweeps for its 10x compute claim).
"""

import math

import numpy as np
import torch

from shared.dataselect import selectors as S
from shared.dataselect import train as T


def doc_nats_reference(model, docs: list[np.ndarray], ctx: int) -> np.ndarray:
    """Summed next-token loss (nats) of each document (token-id array): windows `[s, s + ctx]` at `s = 0, ctx, ...`
    (every token after the first predicted once), one document and one window at a time `[len(docs)]`."""
    out = []
    with torch.no_grad():
        for d in docs:
            d = torch.as_tensor(np.asarray(d), dtype=torch.long)
            total = 0.0
            for s in range(0, len(d) - 1, ctx):
                w = d[s : s + ctx + 1][None]
                logits = model(input_ids=w[:, :-1]).logits
                total += float(torch.nn.functional.cross_entropy(logits[0].float(), w[0, 1:], reduction="sum"))
            out.append(total)
    return np.array(out, dtype=np.float64)


@torch.no_grad()
def doc_nats(model, docs: list[np.ndarray], ctx: int, batch: int = 256) -> np.ndarray:
    """`doc_nats_reference` for many documents at once: every window of every document, padded to `ctx + 1` tokens
    (padding ignored), in batches of `batch` windows `[len(docs)]`."""
    wins, owner = [], []
    for j, d in enumerate(docs):
        d = np.asarray(d, dtype=np.int64)
        for s in range(0, len(d) - 1, ctx):
            wins.append(d[s : s + ctx + 1])
            owner.append(j)
    ids = np.zeros((len(wins), ctx + 1), dtype=np.int64)
    tgt = np.full((len(wins), ctx), -100, dtype=np.int64)
    for i, w in enumerate(wins):
        ids[i, : len(w)] = w
        tgt[i, : len(w) - 1] = w[1:]
    ids_t, tgt_t = torch.from_numpy(ids), torch.from_numpy(tgt)
    sums = np.zeros(len(wins), dtype=np.float64)
    for i in range(0, len(wins), batch):
        logits = model(input_ids=ids_t[i : i + batch, :-1]).logits
        ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), tgt_t[i : i + batch].flatten(),
                                               ignore_index=-100, reduction="none")  # fmt: skip
        sums[i : i + batch] = ce.view(-1, ctx).sum(1).double().numpy()
    return np.bincount(np.asarray(owner, dtype=np.int64), weights=sums, minlength=len(docs))


def bpc(nats, chars) -> np.ndarray:
    """Bits per character: summed nats over characters, in bits (the paper's normalised loss)."""
    return np.asarray(nats, dtype=np.float64) / math.log(2) / np.asarray(chars, dtype=np.float64)


def concordance_reference(bpcs, ability) -> list[float]:
    """The plain definition: per document (a column of `bpcs [M, N]`), over the pairs of members with different
    `ability [M]`, the share in which the more able member has the strictly lower bits per character."""
    bpcs, ability = np.asarray(bpcs, dtype=float), np.asarray(ability, dtype=float)
    m, n = bpcs.shape
    out = []
    for d in range(n):
        hits = pairs = 0
        for i in range(m):
            for j in range(i + 1, m):
                if ability[i] == ability[j]:
                    continue
                pairs += 1
                better, worse = (i, j) if ability[i] > ability[j] else (j, i)
                hits += bpcs[better, d] < bpcs[worse, d]
        out.append(hits / pairs if pairs else float("nan"))
    return out


def concordance(bpcs, ability) -> np.ndarray:
    """`concordance_reference` vectorised over documents `[N]`."""
    bpcs, ability = np.asarray(bpcs, dtype=float), np.asarray(ability, dtype=float)
    i, j = np.triu_indices(len(ability), 1)
    keep = ability[i] != ability[j]
    i, j = i[keep], j[keep]
    better = np.where(ability[i] > ability[j], i, j)
    worse = np.where(ability[i] > ability[j], j, i)
    if not len(i):
        return np.full(bpcs.shape[1], np.nan)
    return (bpcs[better] < bpcs[worse]).mean(axis=0)


def labels(strength, min_pos: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the positives and negatives among scored documents: positives = every document of perfect strength
    (1.0), or, when fewer than `min_pos` are, the `min_pos` of highest strength; negatives = as many of the lowest
    strength. Ties at a cut are broken at random by `seed`. Returns `(pos, neg)`, disjoint, sorted."""
    s = np.asarray(strength, dtype=float)
    n_pos = max(int((s >= 1.0).sum()), min(min_pos, len(s) // 2))
    n_pos = min(n_pos, len(s) // 2)
    tie = np.random.default_rng([seed, 146]).permutation(len(s))
    order = np.lexsort((tie, -s))  # highest strength first, ties in a seeded random order
    return np.sort(order[:n_pos]), np.sort(order[::-1][:n_pos])


def mixtures(n_members: int, n_domains: int, alpha: float, seed: int) -> np.ndarray:
    """Each member's domain weights `[n_members, n_domains]`, Dirichlet(`alpha`) draws."""
    return np.random.default_rng([seed, 146, 1]).dirichlet(np.full(n_domains, alpha), size=n_members)


def member_stream(task, tokens, weights, n_docs: int, seed: int) -> torch.Tensor:
    """A family member's training stream: `n_docs` raw documents drawn with replacement, each with probability
    proportional to its domain's weight over the domain's raw count (the member's mixture)."""
    dom = task.raw_domains
    counts = np.bincount(dom, minlength=len(weights)).astype(float)
    p = np.asarray(weights, dtype=float)[dom] / np.maximum(counts[dom], 1.0)
    docs = np.random.default_rng([seed, 146, 2]).choice(task.raw, n_docs, replace=True, p=p / p.sum())
    return torch.from_numpy(np.concatenate([tokens[i] for i in docs]))


def train_family(task, tokens, vocab: int, seed: int, n_members: int, alpha: float, n_docs: int, dims, steps,
                 train_kw: dict) -> tuple[list, np.ndarray]:  # fmt: skip
    """The family: member `i` trains on its own mixture of the raw pool, width `dims[i % len(dims)]` and
    `steps[i % len(steps)]` steps (`train_kw`: batch, ctx, lr, layers, heads). Returns `(models, weights)`."""
    w = mixtures(n_members, len(task.pool.domain_names), alpha, seed)
    models = []
    for i in range(n_members):
        kw = dict(train_kw, dim=dims[i % len(dims)], steps=steps[i % len(steps)])
        models.append(T.train_lm(member_stream(task, tokens, w[i], n_docs, seed * 100 + i), vocab, seed * 100 + i,
                                 **kw))  # fmt: skip
    return models, w


class Family:
    """A trained family on one task: bits per character of pool documents under every member (cached), the members'
    abilities (minus bits per character on the whole target sample) and the documents' predictive strength."""

    def __init__(self, task, tokens, models, ctx: int):
        self.task, self.tokens, self.models, self.ctx = task, tokens, models, ctx
        self._bpc = {}
        sample = np.asarray(task.sample)
        nats = self.nats(sample).sum(axis=1)
        chars = sum(len(task.pool.texts[i]) for i in sample)
        self.ability = -bpc(nats, chars)  # [M]

    def nats(self, docs) -> np.ndarray:
        return np.stack([doc_nats(m, [self.tokens[i] for i in docs], self.ctx) for m in self.models])

    def bpc(self, docs) -> np.ndarray:
        """`[M, len(docs)]` bits per character of pool documents `docs` under every member."""
        docs = np.asarray(docs)
        todo = [int(d) for d in docs if int(d) not in self._bpc]
        if todo:
            chars = np.array([len(self.task.pool.texts[d]) for d in todo])
            vals = bpc(self.nats(todo), chars[None, :])
            self._bpc.update({d: vals[:, j] for j, d in enumerate(todo)})
        return np.stack([self._bpc[int(d)] for d in docs], axis=1)

    def strength(self, docs) -> np.ndarray:
        return concordance(self.bpc(docs), self.ability)


def scored_sample(task, frac: float, seed: int) -> np.ndarray:
    """The positions (into `task.raw`) of the documents the family scores: a seeded random `frac` of the raw pool."""
    n = max(2, int(round(frac * len(task.raw))))
    return np.sort(np.random.default_rng([seed, 146, 3]).permutation(len(task.raw))[:n])


class PreSelect:
    """PreSelect: the family scores a random `score_frac` of the raw pool; positives (perfect predictive strength) vs.
    as many negatives (lowest strength) train a logistic regression on L2-normalised hashed n-gram counts, which
    scores the whole raw pool; the `k` highest are kept."""

    name = "PreSelect"

    def __init__(self, family: Family, score_frac: float, min_pos: int, buckets: int = 10000, C: float = 10.0):
        self.family, self.score_frac, self.min_pos, self.buckets, self.C = family, score_frac, min_pos, buckets, C
        self._fit = {}

    def fit(self, task, seed: int):
        """`(classifier, features, info)` of one group (cached)."""
        if seed not in self._fit:
            from scipy import sparse
            from sklearn.linear_model import LogisticRegression
            from sklearn.preprocessing import normalize

            sc = scored_sample(task, self.score_frac, seed)
            strength = self.family.strength(task.raw[sc])
            pos, neg = labels(strength, self.min_pos, seed)
            x = normalize(S.pool_features(task, self.buckets).astype(np.float64))
            rows = task.raw[np.r_[sc[pos], sc[neg]]]
            y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            clf = LogisticRegression(C=self.C, max_iter=1000).fit(sparse.csr_matrix(x[rows]), y)
            dom = task.raw_domains
            info = {"n_scored": len(sc), "n_pos": len(pos), "n_perfect": int((strength >= 1.0).sum()),
                    "pos_share": float((dom[sc[pos]] == task.target_id).mean()),
                    "neg_share": float((dom[sc[neg]] == task.target_id).mean()),
                    "base_share": float((dom[sc] == task.target_id).mean()),
                    "strength_mean": float(np.nanmean(strength))}  # fmt: skip
            self._fit[seed] = (clf, x, info, sc, strength)
        return self._fit[seed]

    def scores(self, task, seed: int) -> np.ndarray:
        clf, x, *_ = self.fit(task, seed)
        return clf.decision_function(x[task.raw])

    def select(self, task, k: int, seed: int) -> np.ndarray:
        return S.top_k(self.scores(task, seed), k)


class StrengthTopK:
    """The `k` documents of highest predictive strength among PreSelect's scored sample (no classifier; ties in a
    seeded random order): the paper's hypothesis, that the data that predicts is the data that teaches, by itself."""

    name = "strength top-k"

    def __init__(self, preselect: PreSelect):
        self.preselect = preselect

    def select(self, task, k: int, seed: int) -> np.ndarray:
        *_, sc, strength = self.preselect.fit(task, seed)
        if k > len(sc):
            raise ValueError(f"only {len(sc)} scored documents, fewer than k = {k}")
        tie = np.random.default_rng([seed, 146, 4]).permutation(len(sc))
        return np.sort(sc[np.lexsort((tie, -strength))[:k]])


class PerplexityFilter:
    """The `k` raw documents of lowest bits per character under the family's most able member."""

    name = "perplexity filter"

    def __init__(self, family: Family):
        self.family = family

    def select(self, task, k: int, seed: int) -> np.ndarray:
        best = int(np.argmax(self.family.ability))
        m = self.family.models[best]
        nats = doc_nats(m, [self.family.tokens[i] for i in task.raw], self.family.ctx)
        chars = np.array([len(task.pool.texts[i]) for i in task.raw])
        return S.top_k(-bpc(nats, chars), k)


def arms(family: Family, score_frac: float, min_pos: int, buckets: int) -> dict:
    """Selection arm name -> selector. Random and all data (the whole raw pool, same tokens) are the trivial controls."""
    pre = PreSelect(family, score_frac, min_pos, buckets)
    return {"PreSelect": pre, "strength top-k": StrengthTopK(pre), "perplexity filter": PerplexityFilter(family),
            "target-vs-pool classifier": S.Classifier(buckets), "DSIR": S.DSIR(buckets),
            "random": S.RandomSelection(), "all data": S.AllData()}  # fmt: skip


def run_group(task, tokens, k: int, vocab: int, train_kw: dict, seed: int, fam: dict, score_frac: float,
              min_pos: int, buckets: int) -> tuple[list[dict], dict]:  # fmt: skip
    """One group: train the family on the raw pool, then every arm (`shared.dataselect.train.run_arms`: select `k`,
    train a fresh LM at the same token budget, score the target's held-out split). `fam`: `train_family`'s keywords
    (n_members, alpha, n_docs, dims, steps, train_kw). Returns `(rows, info)`: the arm rows and the family's abilities
    and labels."""
    import time

    t = time.perf_counter()
    models, w = train_family(task, tokens, vocab, seed, **fam)
    family = Family(task, tokens, models, train_kw["ctx"])
    a = arms(family, score_frac, min_pos, buckets)
    a["PreSelect"].fit(task, seed)
    fam_s = time.perf_counter() - t
    rows = T.run_arms(task, tokens, a, k, vocab, train_kw, seed)
    info = {"target": task.target, "seed": seed, "family_s": fam_s, **a["PreSelect"].fit(task, seed)[2],
            "ability_min": float(family.ability.min()), "ability_max": float(family.ability.max()),
            "target_weight_r": float(np.corrcoef(w[:, task.target_id], family.ability)[0, 1])}  # fmt: skip
    return rows, info
