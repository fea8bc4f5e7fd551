"""Tests of papers.zipfit_2024.method: the gzip NCD fast path against the plain reference, the ZIP-FIT selector on
known answers, the rules on placebo inputs (each can answer *not reproduced*, and a failed precondition gives
*inconclusive*), and one group run end to end on a toy pool."""

import gzip

import numpy as np
import pytest

from papers.zipfit_2024 import method
from papers.zipfit_2024.claims import CLAIMS
from shared.claims import Measurement
from shared.dataselect.pool import Pool, make_task

WORDS = {
    "prose": ["the", "earth", "was", "without", "form", "and", "void", "god", "said", "let", "there", "be", "light"],
    "code": ["def", "x", "(", ")", ":", "return", "=", "1", "if", "else", "self", ".", "import", "for", "in"],
}


def toy_pool(n: int = 40, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS[d], 40)) + "\n" for d in ("prose", "code") for _ in range(n)]
    return Pool(texts, np.r_[np.zeros(n, int), np.ones(n, int)], ("prose", "code"))


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def test_gzip_length_fast_path_is_byte_exact():
    for s in [b"", b"a", b"hello world " * 50, "d\u00e9j\u00e0 vu \u2603".encode(), bytes(range(256)) * 3]:
        assert method.deflate_len(s) == len(gzip.compress(s, compresslevel=9)) == method.gzip_len_reference(s)


def test_ncd_fast_path_equals_reference():
    pool = toy_pool(10)
    g = method.GzipLengths(pool.texts)
    ci, ti = np.arange(0, 20, 3), np.arange(1, 20, 4)
    fast = method.alignment_matrix(g, ci, g, ti)
    ref = np.array([[method.ncd_reference(pool.texts[i], pool.texts[j]) for j in ti] for i in ci])
    assert np.array_equal(fast, ref)
    al = method.alignments(pool, ci, ti)
    assert np.array_equal(al, [method.alignment_reference(pool.texts[i], [pool.texts[j] for j in ti]) for i in ci])


def test_ncd_known_answers():
    x = "the quick brown fox jumps over the lazy dog. " * 20
    y = "import numpy as np\nfor i in range(10):\n    print(i)\n" * 20
    assert method.ncd_reference(x, x) < 0.1  # a long text is nearly free to compress after itself
    assert method.ncd_reference(x, y) > 0.5  # unrelated texts share little (gzip overhead keeps it below 1)
    assert method.ncd_reference(x, x) < method.ncd_reference(x, x.replace("fox", "cat")) < method.ncd_reference(x, y)


def test_zipfit_selects_the_target_domain_and_planted_copies():
    pool = toy_pool(40)
    task = make_task(pool, "code", 5, 10, seed=0)
    idx = method.ZipFit().select(task, 20, seed=0)
    assert task.target_share(idx) == 1.0
    assert (idx == method.ZipFit().select(task, 20, seed=99)).all()  # deterministic
    cands = [pool.texts[i] for i in range(10)] + task.sample_texts()[:2]
    assert (method.ZipFit().select_texts(cands, task.sample_texts()[:2], 2) == [10, 11]).all()


def test_run_group_on_a_toy_pool():
    pool = toy_pool(60)
    task = make_task(pool, "code", 5, 10, seed=0)
    vocab = {w: i for i, w in enumerate(sorted({w for t in pool.texts for w in t.split()}))}
    tokens = [np.array([vocab[w] for w in t.split()]) for t in pool.texts]
    kw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 8, "layers": 1, "heads": 1}
    rows = method.run_group(task, tokens, 20, 256, len(vocab), kw, seed=0, n_ref=5)
    by = {r["arm"]: r for r in rows}
    assert set(by) == set(method.arms(256))
    assert by["ZIP-FIT"]["target_share"] == 1.0 and by["domain oracle"]["target_share"] == 1.0
    assert by["ZIP-FIT"]["alignment"] > by["random"]["alignment"]
    assert np.isnan(by["all data"]["alignment"]) and by["all data"]["docs"] == len(task.raw)


def test_within_group_r_known_answers():
    g = [0, 0, 0, 1, 1, 1]
    x = [1, 2, 3, 10, 11, 12]
    assert np.isclose(method.within_group_r(g, x, [5, 6, 7, -3, -2, -1]), 1.0)
    assert np.isclose(method.within_group_r(g, x, [3, 2, 1, 13, 12, 11]), -1.0)
    assert np.isnan(method.within_group_r(g, x, [1, 1, 1, 2, 2, 2]))


OK = {"oracle-beats-random": Measurement(0.3, 0.2, 0.4, n=5), "alignments-differ": Measurement(0.02, 0.01, 0.03, n=5)}
CTRL = Measurement(0.2, 0.1, 0.3, n=5)


@pytest.mark.parametrize("cid", ["zipfit-beats-random", "zipfit-beats-dsir"])
def test_loss_rules_can_fail(cid):
    base = [4.0, 4.1, 3.9, 4.2, 4.0]
    worse = Measurement.ratio([v * 1.05 for v in base], base, n_unit="groups")
    same = Measurement.ratio(base, base, n_unit="groups")
    ctrl = CTRL if cid == "zipfit-beats-random" else None
    assert claim(cid).evaluate(worse, control=ctrl, checks=OK)["verdict"] == "not reproduced"
    assert claim(cid).evaluate(same, control=ctrl, checks=OK)["verdict"] != "reproduced"
    better = Measurement.ratio([v * 0.9 for v in base], base, n_unit="groups")
    failed = dict(OK, **{"oracle-beats-random": Measurement(-0.1, -0.2, -0.05, n=5)})
    assert claim(cid).evaluate(better, control=ctrl, checks=OK)["verdict"] == "reproduced"
    assert claim(cid).evaluate(better, control=ctrl, checks=failed)["verdict"] == "inconclusive"


def test_correlation_rule_can_fail_on_a_placebo():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(8), 5)
    x = rng.normal(size=40)
    y = -x + 0.1 * rng.normal(size=40)  # anti-correlated: a more aligned selection trains worse

    def stat(idx):
        rows = np.concatenate([np.flatnonzero(groups == g) for g in idx])
        labels = np.concatenate([np.full(5, j) for j in range(len(idx))])
        return method.within_group_r(labels, x[rows], y[rows])

    m = Measurement.bootstrap(list(range(8)), stat, n_unit="groups", bounds=(-1, 1))
    assert claim("alignment-tracks-loss").evaluate(m, checks=OK)["verdict"] == "not reproduced"


def test_cost_rule_can_fail():
    slower = Measurement.ratio([2.0, 2.1, 1.9, 2.0, 2.2], [1.0, 1.0, 1.1, 0.9, 1.0], n_unit="repeats")
    assert claim("selection-cost").evaluate(slower)["verdict"] == "not reproduced"
