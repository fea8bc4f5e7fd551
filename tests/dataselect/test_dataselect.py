"""The data-selection engine: hashed features (fast path = reference), importance weights (fast path = reference,
known answers), Gumbel top-k (= sequential sampling without replacement), selectors, KL reduction, the pool split and
the fixed-budget training."""

import numpy as np
import pytest
from scipy import sparse

from shared.dataselect import features as F
from shared.dataselect import metrics as M
from shared.dataselect import selectors as S
from shared.dataselect.pool import Pool, chunk_lines, make_task

PROSE = ["In the beginning God created the heaven and the earth.", "And the earth was without form, and void;",
         "A dictionary containing a natural history requires too many hands.", "Noun: a word that names a thing."]  # fmt: skip
CODE = ["def f(x):\n    return x + 1\n", "for i in range(10):\n    print(i)\n", "import os\nos.path.join(a, b)\n",
        "class A:\n    def __init__(self):\n        self.x = []\n"]  # fmt: skip


def toy_pool(n=40):
    texts = [PROSE[i % 4] + f" verse {i}" for i in range(n)] + [CODE[i % 4] + f"# {i}\n" for i in range(n)]
    return Pool(texts, np.r_[np.zeros(n, int), np.ones(n, int)], ("prose", "code"))


def test_words_and_stable_hash():
    assert F.words("Hello, World!! x_1") == ["hello", ",", "world", "!!", "x_1"]
    assert F.word_hash("the") == F.word_hash("the") != F.word_hash("The")
    assert F.word_hash("the") == int.from_bytes(__import__("hashlib").blake2b(b"the", digest_size=8).digest(), "little")


@pytest.mark.parametrize("ngrams", [1, 2])
@pytest.mark.parametrize("buckets", [7, 101, 10000])
def test_fast_features_equal_reference(ngrams, buckets):
    texts = PROSE + CODE + ["", "one", "Mixed CASE and punctuation... (yes)"]
    fast = F.HashedNgrams(buckets, ngrams).transform(texts).toarray()
    ref = np.stack([F.hashed_counts_reference(t, buckets, ngrams) for t in texts])
    assert (fast == ref).all()
    n_words = np.array([len(F.words(t)) for t in texts])
    expected = n_words + (np.maximum(n_words - 1, 0) if ngrams == 2 else 0)
    assert (fast.sum(1) == expected).all()  # one count per word and per neighbouring pair, none across documents


def test_featuriser_is_incremental():
    f = F.HashedNgrams(1000)
    a = f.transform(PROSE).toarray()
    f.transform(CODE)
    assert (f.transform(PROSE).toarray() == a).all()


def test_log_importance_fast_equals_reference():
    raw, tgt = PROSE + CODE, CODE[:2] + ["def g(y):\n    return y\n"]
    f = F.HashedNgrams(50)
    fast = S.log_importance(f.transform(raw), f.transform(tgt), pseudo=0.5)
    ref = S.log_importance_reference(raw, tgt, buckets=50, pseudo=0.5)
    assert np.allclose(fast, ref, rtol=1e-12, atol=1e-12)
    assert fast[4:].mean() > fast[:4].mean()  # code weighs more than prose when the target is code


def test_identical_target_and_raw_give_uniform_weights():
    f = F.HashedNgrams(1000)
    x = f.transform(PROSE + CODE)
    assert np.allclose(S.log_ratio(x, x), 0.0)
    assert np.allclose(S.log_importance(x, x), 0.0)
    task = make_task(toy_pool(), "code", 3, 3, seed=0)
    task.sample = task.raw  # the target sample is the raw pool itself: every weight is 1
    assert np.allclose(S.DSIR(buckets=1000).weights(task), 0.0)


def test_gumbel_top_k_matches_sequential_sampling():
    w = np.array([8.0, 4.0, 2.0, 1.0, 1.0])
    reps = 4000
    fast = np.zeros(5)
    ref = np.zeros(5)
    rng_f, rng_r = np.random.default_rng(0), np.random.default_rng(1)
    for _ in range(reps):
        fast[S.gumbel_top_k(np.log(w), 2, rng_f)] += 1
        ref[S.sample_without_replacement_reference(w, 2, rng_r)] += 1
    # inclusion probabilities agree within sampling error (binomial sd <= 0.008 at 4000 draws)
    assert np.abs(fast / reps - ref / reps).max() < 0.04
    assert np.isclose(fast.sum(), 2 * reps)
    assert (S.gumbel_top_k(np.zeros(6), 6, rng_f) == np.arange(6)).all()
    assert (S.gumbel_top_k(np.array([0.0, 500.0, 0.0, 400.0]), 2, rng_f) == [1, 3]).all()


def test_selectors_return_distinct_sorted_raw_indices():
    task = make_task(toy_pool(), "code", 5, 5, seed=1)
    for sel in [S.RandomSelection(), S.DSIR(buckets=512), S.DSIR(buckets=512, top_k=True), S.Classifier(buckets=512),
                S.DomainOracle(), S.Mixture(S.DSIR(buckets=512), 0.5)]:  # fmt: skip
        idx = sel.select(task, 12, seed=3)
        assert len(idx) == len(set(idx.tolist())) == 12 and (np.diff(idx) > 0).all() and idx.max() < len(task.raw)
        assert (idx == sel.select(task, 12, seed=3)).all()  # deterministic given the seed
    assert len(S.AllData().select(task, 12, 0)) == len(task.raw)
    # the target-aware selectors pick the target domain; random does not
    assert task.target_share(S.DSIR(buckets=512).select(task, 12, 0)) == 1.0
    assert task.target_share(S.DomainOracle().select(task, 12, 0)) == 1.0
    assert task.target_share(S.Classifier(buckets=512).select(task, 12, 0)) == 1.0
    assert task.target_share(S.RandomSelection().select(task, 40, 0)) < 0.8


def test_dsir_select_texts_equals_select_on_features():
    task = make_task(toy_pool(), "prose", 5, 5, seed=2)
    sel = S.DSIR(buckets=256)
    assert (sel.select(task, 10, 7) == sel.select_texts(task.raw_texts(), task.sample_texts(), 10, 7)).all()


def test_kl_reduction_known_answers():
    t = np.array([10, 0, 0, 0])
    raw = np.array([10, 10, 10, 10])
    assert M.kl_reduction(t, raw, raw) == 0.0
    assert M.kl_reduction(t, raw, t) > 0  # selecting exactly the target reduces the divergence
    assert M.kl_reduction(t, raw, np.array([0, 10, 10, 10])) < 0  # selecting away from it increases it
    x = sparse.csr_matrix(np.array([[1, 2, 0, 0], [0, 0, 3, 1]]))
    assert np.allclose(M.distribution(x, 0.0), [1 / 7, 2 / 7, 3 / 7, 1 / 7])
    assert np.isclose(M.kl(np.array([0.5, 0.5]), np.array([0.5, 0.5])), 0.0)


def test_chunks_and_task_split():
    chunks = chunk_lines(["a b c\nd e", "f g h i\nj"], 4)
    assert chunks == ["a b c\nd e\n", "f g h i\n"]  # the last line (1 word < 4 // 2) is dropped
    pool = toy_pool()
    task = make_task(pool, "code", 5, 7, seed=0)
    assert len(task.sample) == 5 and len(task.evaluation) == 7
    parts = np.r_[task.raw, task.sample, task.evaluation]
    assert len(set(parts.tolist())) == len(pool) == len(parts)  # a partition of the pool
    assert (pool.domains[task.sample] == 1).all() and (pool.domains[task.evaluation] == 1).all()
    again = make_task(pool, "code", 5, 7, seed=0)
    assert (again.evaluation == task.evaluation).all()
    assert not (make_task(pool, "code", 5, 7, seed=1).evaluation == task.evaluation).all()
    with pytest.raises(ValueError):
        make_task(pool, "code", 30, 30, seed=0)


def test_training_learns_a_repetitive_stream():
    import torch

    from shared.dataselect import train as T

    stream = torch.arange(200).remainder(7)  # a period-7 cycle over 7 ids of a vocabulary of 16
    model = T.train_lm(stream, 16, seed=0, steps=60, batch=8, ctx=16, lr=0.01, dim=16, layers=1, heads=1)
    losses = T.window_losses(model, stream, 16)
    assert losses.shape == ((len(stream) - 1) // 16,)
    assert losses.mean() < np.log(7) / 2  # well below the unigram entropy of the cycle


def test_stream_keeps_every_token():
    from shared.dataselect import train as T

    toks = [np.array([1, 2]), np.array([3]), np.array([4, 5, 6])]
    assert T.stream(toks, [0, 2]).tolist() == [1, 2, 4, 5, 6]
    assert sorted(T.stream(toks, [0, 1, 2], seed=3).tolist()) == [1, 2, 3, 4, 5, 6]


def test_throughput_benchmark_reports_both_arms():
    from shared.dataselect.bench import throughput

    out = throughput(PROSE * 20 + CODE * 20, CODE, k=10, buckets=256, repeats=2)
    assert out["docs"] == 160 and len(out["hash_s"]) == len(out["select_s"]) == 2
    assert out["ratio"] > 0 and out["select_docs_per_s"] > 0


def test_within_group_r_known_answers():
    g = [0, 0, 0, 1, 1, 1]
    x = [1, 2, 3, 10, 11, 12]
    assert np.isclose(M.within_group_r(g, x, [5, 6, 7, -3, -2, -1]), 1.0)  # group offsets do not matter
    assert np.isclose(M.within_group_r(g, x, [7, 6, 5, 0, -1, -2]), -1.0)
    # pooled without centring the offsets would give a strong positive r; within groups it is -1
    assert np.corrcoef(x, [3, 2, 1, 13, 12, 11])[0, 1] > 0.9
    assert np.isclose(M.within_group_r(g, x, [3, 2, 1, 13, 12, 11]), -1.0)
    assert np.isnan(M.within_group_r(g, x, [1, 1, 1, 2, 2, 2]))


def test_within_group_r_over_resamples_whole_groups():
    g = np.array(["a", "a", "a", "b", "b", "b", "c", "c", "c"])
    x = np.array([1.0, 2, 3, 1, 2, 3, 1, 2, 3])
    y = np.array([1.0, 2, 3, 3, 2, 1, 1, 3, 2])
    stat = M.within_group_r_over(g, x, y)
    assert np.isclose(stat(["a", "b", "c"]), M.within_group_r(g, x, y))
    assert np.isclose(stat(["a", "a"]), 1.0) and np.isclose(stat(["b"]), -1.0)
    # a group drawn twice counts twice: a, a, b weighs a's +1 twice against b's -1
    assert np.isclose(stat(["a", "a", "b"]), M.within_group_r([0, 0, 0, 1, 1, 1, 2, 2, 2], np.r_[x[:3], x[:3], x[3:6]],
                                                                np.r_[y[:3], y[:3], y[3:6]]))  # fmt: skip
    assert np.isclose(stat(["a", "a", "b"]), 1 / 3)


def test_run_arms_rows_and_extra_metric():
    from shared.dataselect import train as T
    from shared.dataselect.toy import toy_pool, toy_tokens

    pool = toy_pool(60, words=30)
    task = make_task(pool, "code", 5, 10, seed=0)
    vocab, tokens = toy_tokens(pool)
    kw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 8, "layers": 1, "heads": 1}
    arms = {"oracle": S.DomainOracle(), "random": S.RandomSelection(), "all": S.AllData()}
    rows = T.run_arms(task, tokens, arms, 20, len(vocab), kw, seed=0, extra=lambda name, docs, tr, ev: {"n": len(tr)})
    by = {r["arm"]: r for r in rows}
    assert list(by) == ["oracle", "random", "all"] and by["oracle"]["target_share"] == 1.0
    assert by["oracle"]["docs"] == 20 and by["all"]["docs"] == len(task.raw)
    assert all(r["n"] == r["tokens"] and np.isfinite(r["loss"]) and r["select_s"] >= 0 for r in rows)
    again = T.run_arms(task, tokens, arms, 20, len(vocab), kw, seed=0)
    assert [r["loss"] for r in again] == [r["loss"] for r in rows]  # the seed fixes selection and training
    # a per-arm override trains another model on the same selection; the other arms are untouched
    wide = T.run_arms(task, tokens, arms, 20, len(vocab), kw, seed=0, arm_kw={"random": {"dim": 16, "heads": 2}})
    assert [r["loss"] for r in wide if r["arm"] != "random"] == [r["loss"] for r in rows if r["arm"] != "random"]
    assert [r["tokens"] for r in wide] == [r["tokens"] for r in rows]
    assert next(r["loss"] for r in wide if r["arm"] == "random") != by["random"]["loss"]
    with pytest.raises(KeyError, match="not run"):
        T.run_arms(task, tokens, arms, 20, len(vocab), kw, seed=0, arm_kw={"dsir": {}})
    with pytest.raises(ValueError, match="context length"):
        T.run_arms(task, tokens, arms, 20, len(vocab), kw, seed=0, arm_kw={"random": {"ctx": 16}})


def test_interleaved_times_every_arm_each_repeat():
    from shared.dataselect.bench import interleaved

    calls = []
    out = interleaved({"a": lambda r: calls.append(("a", r)), "b": lambda r: calls.append(("b", r))}, 2)
    assert calls == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    assert len(out["a"]) == len(out["b"]) == 2 and min(out["a"] + out["b"]) >= 0


def test_selection_plots_draw_one_bar_per_arm_and_target_and_centre_within_groups():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from shared.dataselect.plots import centred_scatter, loss_per_arm

    res = pd.DataFrame({"target": ["a", "a", "b", "b"] * 2, "arm": ["x", "y"] * 4, "group": [0, 0, 1, 1, 2, 2, 3, 3],
                        "loss": [3.0, 4.0, 3.5, 4.5, 3.2, 4.2, 3.4, 4.4], "m": [1.0, 0.0] * 4})  # fmt: skip
    fig, (a0, a1) = plt.subplots(1, 2)
    loss_per_arm(a0, res, ["a", "b"])
    assert len(a0.patches) == 4 and [t.get_text() for t in a0.get_xticklabels()] == ["x", "y"]
    assert a0.get_ylim()[0] == pytest.approx(2.7)
    centred_scatter(a1, res, "m", "metric", "t")
    offsets = np.concatenate([c.get_offsets() for c in a1.collections])
    assert np.allclose(offsets.sum(axis=0), 0.0)  # centred within each group
    with pytest.raises(KeyError, match="lacks the columns"):
        loss_per_arm(a0, res.drop(columns="target"), ["a"])
    plt.close(fig)


def test_claim_intervals_plot_one_point_per_claim_with_its_interval_and_refuses_a_bare_value():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shared.claims import Measurement
    from shared.dataselect.plots import claim_intervals

    ms = {"c1": Measurement(0.9, 0.8, 1.05), "c2": Measurement(1.2, 1.1, 1.4)}
    fig, ax = plt.subplots()
    claim_intervals(ax, ms, bar=0.98, ylabel="ratio")
    (line, caps, (bars,)) = ax.containers[0].lines
    assert np.allclose(line.get_ydata(), [0.9, 1.2])
    segments = bars.get_segments()
    assert np.allclose([s[:, 1] for s in segments], [[0.8, 1.05], [1.1, 1.4]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c1", "c2"]
    assert sorted(round(h.get_ydata()[0], 3) for h in ax.get_lines()[1:]) == [0.98, 1.0]  # bar and no-effect line
    with pytest.raises(ValueError, match="needs an interval"):
        claim_intervals(ax, {"c3": Measurement(1.0)}, bar=0.98, ylabel="ratio")
    plt.close(fig)
