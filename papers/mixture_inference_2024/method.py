"""Hayase, Liu, Choi, Oh & Smith, *Data Mixture Inference: What do BPE Tokenizers Reveal about their Training Data?*
(arXiv:2407.16607): a linear program that recovers a BPE tokenizer's training mixture from its ordered merge list.

At merge `t` BPE picked the most frequent pair `m_t`. Replaying the same merges on a sample of each category `i` gives
pair counts `c_{i,t}(p)` (per byte of sample); for the true mixture `alpha`, `sum_i alpha_i c_{i,t}(m_t)` must be at
least `sum_i alpha_i c_{i,t}(p)` for every other pair `p`. Sampling noise makes these constraints infeasible, so each
gets slack (one variable per merge `t`, one per pair `p`, as in the paper) and the LP minimises the total slack.

The merge lists and their replay (`merge_list`, `Replay`, `word_counts`) are in `shared.tokenization.merges`; this
module holds the LP, the candidate-pair selection, the category samples and the mixture sampler.

Deviations from the paper, on purpose:
- candidate pairs: at each merge, the `top_k` most frequent pairs of every category (the paper adds violated
  constraints lazily over all pairs); pairs outside every category's top `top_k` rarely bind;
- categories: 9 LibreOffice-help languages (one domain, parallel text) and Python code from the CPython standard
  library, instead of the paper's 112 web-text languages, 37 programming languages and 5 English domains;
- sizes: merge lists of 1,000 merges (default) rather than 30,000, samples of ~100 kB per category.
"""

import numpy as np

from shared.tokenization import Replay, Tok, word_counts

LANGUAGES = ("en", "de", "es", "fr", "hi", "ja", "ru", "tr", "zh-cn")


def category_texts(languages=LANGUAGES, code: bool = True) -> dict[str, list[str]]:
    """Documents per category: LibreOffice help pages per language (paragraphs joined) and CPython stdlib files."""
    from shared.data import load_parallel, load_text

    out = {}
    for lang in languages:
        other = "de" if lang == "en" else "en"
        ds = load_parallel(other, lang, corpus="libreoffice", unit="page")
        out[lang] = list(ds[lang])
    if code:
        out["code"] = list(load_text("cpython_stdlib")["text"])
    return out


def split_docs(docs: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """A random half of the documents for tokenizer training, the other half for the attack's samples."""
    perm = rng.permutation(len(docs))
    half = len(docs) // 2
    return [docs[i] for i in perm[:half]], [docs[i] for i in perm[half:]]


def take_bytes(docs: list[str], n_bytes: int, rng: np.random.Generator) -> list[str]:
    """Random documents (in random order) until `n_bytes` UTF-8 bytes; the last one is cut to fit."""
    out, total = [], 0
    for i in rng.permutation(len(docs)):
        if total >= n_bytes:
            break
        d = docs[i]
        b = len(d.encode())
        if total + b > n_bytes:
            d = d.encode()[: n_bytes - total].decode(errors="ignore")
            b = len(d.encode())
        out.append(d)
        total += b
    if total < 0.95 * n_bytes:
        raise ValueError(f"not enough text: wanted {n_bytes} bytes, have {total}")
    return out


def pair_statistics(tok: Tok, merges: list[tuple[bytes, bytes]], samples: dict[str, list[str]], top_k: int):
    """Replay `merges` on every category's sample and collect the LP's coefficients.

    Returns:
        list[dict]: per merge `t`, `{"chosen": [n] normalised counts of m_t, "pairs": list of candidate pairs,
        "counts": [n, P_t] normalised counts of the candidates}`; categories in the order of `samples`.
    """
    replays = [Replay(word_counts(tok, docs)) for docs in samples.values()]
    steps = []
    for m in merges:
        cand = set()
        for r in replays:
            cand.update(r.top(top_k))
        cand.discard(m)
        pairs = sorted(cand)
        chosen = np.array([r.count(m) / r.total for r in replays])
        counts = np.array([[r.count(p) / r.total for p in pairs] for r in replays]).reshape(len(replays), len(pairs))
        steps.append({"chosen": chosen, "pairs": pairs, "counts": counts})
        for r in replays:
            r.apply(m)
    return steps


def solve_mixture(steps: list[dict]) -> np.ndarray:
    """The paper's LP: minimise the total slack subject to the merge-order constraints.

    Variables: `alpha` `[n]` (>= 0, summing to 1), one slack per merge and one per distinct pair (>= 0).
    Constraint for merge `t` and candidate `p`: `sum_i alpha_i (c_{i,t}(p) - c_{i,t}(m_t)) - v_t - v_p <= 0`.

    Returns:
        np.ndarray: the estimated mixture `[n]`.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n = len(steps[0]["chosen"])
    pair_index: dict = {}
    for s in steps:
        for p in s["pairs"]:
            pair_index.setdefault(p, len(pair_index))
    T, P = len(steps), len(pair_index)
    rows, cols, vals = [], [], []
    r = 0
    for t, s in enumerate(steps):
        diff = s["counts"] - s["chosen"][:, None]  # [n, P_t]
        for j, p in enumerate(s["pairs"]):
            rows += [r] * (n + 2)
            cols += list(range(n)) + [n + t, n + T + pair_index[p]]
            vals += list(diff[:, j]) + [-1.0, -1.0]
            r += 1
    A = coo_matrix((vals, (rows, cols)), shape=(r, n + T + P)).tocsr()
    # scale so the slack values are O(1): counts are per byte, tiny numbers
    scale = 1.0 / max(np.abs(A[:, :n]).max(), 1e-30)
    A_ub = A.multiply(np.r_[np.full(n, scale), np.ones(T + P)]).tocsr()
    c = np.r_[np.zeros(n), np.ones(T + P)]
    A_eq = np.r_[np.ones(n), np.zeros(T + P)][None, :]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(r), A_eq=A_eq, b_eq=[1.0], bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"LP failed: {res.message}")
    alpha = np.clip(res.x[:n], 0, None)
    return alpha / alpha.sum()
