"""Tests of shared.dataselect.compression: the gzip length and NCD fast paths against the plain `gzip.compress`
reference, NCD on known answers, and the ZIP-FIT selector on a pool with a known answer."""

import gzip

import numpy as np

from shared.dataselect import compression as C
from shared.dataselect.pool import make_task
from shared.dataselect.toy import toy_pool


def test_gzip_length_fast_path_is_byte_exact():
    for s in [b"", b"a", b"hello world " * 50, "d\u00e9j\u00e0 vu \u2603".encode(), bytes(range(256)) * 3]:
        assert C.deflate_len(s) == len(gzip.compress(s, compresslevel=9)) == C.gzip_len_reference(s)


def test_ncd_fast_path_equals_reference():
    pool = toy_pool(10)
    g = C.GzipLengths(pool.texts)
    ci, ti = np.arange(0, 20, 3), np.arange(1, 20, 4)
    fast = C.alignment_matrix(g, ci, g, ti)
    ref = np.array([[C.ncd_reference(pool.texts[i], pool.texts[j]) for j in ti] for i in ci])
    assert np.array_equal(fast, ref)
    al = C.alignments(pool, ci, ti)
    assert np.array_equal(al, [C.alignment_reference(pool.texts[i], [pool.texts[j] for j in ti]) for i in ci])
    assert C.pool_lengths(pool) is C.pool_lengths(pool)  # computed once per pool


def test_ncd_known_answers():
    x = "the quick brown fox jumps over the lazy dog. " * 20
    y = "import numpy as np\nfor i in range(10):\n    print(i)\n" * 20
    assert C.ncd_reference(x, x) < 0.1  # a long text is nearly free to compress after itself
    assert C.ncd_reference(x, y) > 0.5  # unrelated texts share little (gzip overhead keeps it below 1)
    assert C.ncd_reference(x, x) < C.ncd_reference(x, x.replace("fox", "cat")) < C.ncd_reference(x, y)


def test_zipfit_selects_the_target_domain_and_planted_copies():
    pool = toy_pool(40)
    task = make_task(pool, "code", 5, 10, seed=0)
    idx = C.ZipFit().select(task, 20, seed=0)
    assert task.target_share(idx) == 1.0
    assert (idx == C.ZipFit().select(task, 20, seed=99)).all()  # deterministic
    cands = [pool.texts[i] for i in range(10)] + task.sample_texts()[:2]
    assert (C.ZipFit().select_texts(cands, task.sample_texts()[:2], 2) == [10, 11]).all()
