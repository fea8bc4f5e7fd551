"""Tests of papers.color_filter_2024.method: batched document losses against the plain reference, the CoLoR-Filter
selector on known answers (a hand-made prior/conditional pair, candidate pools), the rules on placebo inputs (each can
answer *not reproduced*, and a failed precondition gives *inconclusive*), and one group run end to end on a toy pool."""

import numpy as np
import pytest
import torch

from papers.color_filter_2024 import method
from papers.color_filter_2024.claims import CLAIMS
from shared.claims import Measurement
from shared.dataselect import train as T
from shared.dataselect.pool import Pool, make_task

WORDS = {
    "prose": ["the", "earth", "was", "without", "form", "and", "void", "god", "said", "let", "there", "be", "light"],
    "code": ["def", "x", "(", ")", ":", "return", "=", "1", "if", "else", "self", ".", "import", "for", "in"],
}


def toy_pool(n: int = 40, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS[d], 40)) + "\n" for d in ("prose", "code") for _ in range(n)]
    return Pool(texts, np.r_[np.zeros(n, int), np.ones(n, int)], ("prose", "code"))


def toy_tokens(pool):
    vocab = {w: i for i, w in enumerate(sorted({w for t in pool.texts for w in t.split()}))}
    return [np.array([vocab[w] for w in t.split()]) for t in pool.texts], len(vocab)


def claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


class Unigram(torch.nn.Module):
    """A context-free LM with fixed log-probabilities: a document's loss is known in closed form."""

    def __init__(self, logp):
        super().__init__()
        self.logp = torch.as_tensor(logp, dtype=torch.float32)

    def forward(self, input_ids):
        class Out:
            pass

        out = Out()
        out.logits = self.logp.expand(*input_ids.shape, -1).clone()
        return out


def test_doc_losses_equal_reference_and_closed_form():
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 11, n) for n in (2, 5, 33, 34, 65, 100)]
    model = T.make_lm(11, 8, 1, 1, 9, seed=0).eval()
    fast, ref = method.doc_losses(model, docs, 8, batch=3), method.doc_losses_reference(model, docs, 8)
    assert np.allclose(fast, ref, rtol=1e-5, atol=1e-6)
    logp = torch.log_softmax(torch.randn(11), 0)
    uni = Unigram(logp)
    exact = [-float(logp[torch.as_tensor(d[1:])].mean()) for d in docs]
    assert np.allclose(method.doc_losses(uni, docs, 8), exact, atol=1e-5)
    assert np.allclose(method.doc_losses_reference(uni, docs, 8), exact, atol=1e-5)


def test_candidates_are_nested_and_seeded():
    task = make_task(toy_pool(40), "code", 5, 10, seed=0)
    a, b = method.candidates(task, 20, 3), method.candidates(task, 60, 3)
    assert len(a) == 20 and set(a) <= set(b)
    assert not np.array_equal(method.candidates(task, 20, 4), a)
    with pytest.raises(ValueError):
        method.candidates(task, len(task.raw) + 1, 0)


def test_color_filter_picks_the_largest_reduction():
    # prior: uniform; conditional: puts its mass on the code words, so code documents get a large loss reduction and
    # prose documents a negative one
    pool = toy_pool(40)
    tokens, v = toy_tokens(pool)
    vocab = sorted({w for t in pool.texts for w in t.split()})
    code = torch.tensor([w in WORDS["code"] for w in vocab])
    prior = Unigram(torch.log(torch.full((v,), 1.0 / v)))
    cond = Unigram(torch.log_softmax(torch.where(code, 2.0, -2.0), 0))
    task = make_task(pool, "code", 5, 10, seed=0)
    sel = method.CoLoRFilter(2, prior, cond, tokens, ctx=8)
    idx = sel.select(task, 10, seed=0)
    cand = method.candidates(task, 20, 0)
    assert set(idx) <= set(cand) and len(idx) == 10
    n_code = int((task.raw_domains[cand] == task.target_id).sum())
    assert task.target_share(idx) == min(1.0, n_code / 10)  # every code candidate is kept before any prose one
    s = sel.scores(task, cand)
    is_code = task.raw_domains[cand] == task.target_id
    assert (s[is_code] > 0).all() and (s[~is_code] < 0).all()
    only = method.CoLoRFilter(2, prior, cond, tokens, ctx=8, score="conditional")
    lp, lc = only.losses(task, cand)
    assert np.allclose(only.scores(task, cand), -lc) and np.allclose(s, lp - lc)


def test_reduction_differs_from_conditional_only():
    # an easy (low-loss everywhere) domain fools the conditional-only score but not the reduction: the prior already
    # finds prose easy, and the conditional model does not lower its loss further
    pool = toy_pool(40)
    tokens, v = toy_tokens(pool)
    vocab = sorted({w for t in pool.texts for w in t.split()})
    code = torch.tensor([w in WORDS["code"] for w in vocab])
    prior = Unigram(torch.log_softmax(torch.where(code, -3.0, 3.0), 0))  # prose is easy for the prior
    # fine-tuning on code raised code, prose still easy
    cond = Unigram(torch.log_softmax(torch.where(code, 0.0, 3.0), 0))
    task = make_task(pool, "code", 5, 10, seed=0)
    red = method.CoLoRFilter(2, prior, cond, tokens, ctx=8).select(task, 10, 0)
    only = method.CoLoRFilter(2, prior, cond, tokens, ctx=8, score="conditional").select(task, 10, 0)
    assert task.target_share(red) > task.target_share(only)


def test_run_group_on_a_toy_pool():
    pool = toy_pool(80)
    tokens, v = toy_tokens(pool)
    task = make_task(pool, "code", 5, 10, seed=0)
    aux_kw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 8, "layers": 1, "heads": 1}
    tkw = {"steps": 5, "batch": 4, "ctx": 8, "lr": 0.01, "dim": 16, "layers": 1, "heads": 1}
    rows, aux = method.run_group(task, tokens, 10, v, aux_kw, 3, 0.003, tkw, 4, 2, 256, seed=0)
    by = {r["arm"]: r for r in rows}
    assert set(by) == {"CoLoR hi", "CoLoR lo", "conditional only", "DSIR", "random", "CoLoR hi (aux size)",
                       "random (aux size)"}  # fmt: skip
    assert all(r["docs"] == 10 and np.isfinite(r["loss"]) for r in rows)
    assert by["CoLoR hi"]["target_share"] == by["CoLoR hi (aux size)"]["target_share"]
    assert np.isfinite(aux["prior"]) and np.isfinite(aux["conditional"])


def test_dsir_among_stays_in_candidates():
    task = make_task(toy_pool(40), "code", 5, 10, seed=0)
    cand = method.candidates(task, 30, 1)
    idx = method.dsir_among(task, cand, 10, 1, 256)
    assert len(np.unique(idx)) == 10 and set(idx) <= set(cand)
    assert task.target_share(idx) > 0.5


OK = {"conditional-lowers-target-loss": Measurement(0.3, 0.2, 0.4, n=5)}


@pytest.mark.parametrize("cid", [c.id for c in CLAIMS])
def test_loss_rules_can_fail(cid):
    base = [4.0, 4.1, 3.9, 4.2, 4.0]
    worse = Measurement.ratio([v * 1.05 for v in base], base, n_unit="groups")
    same = Measurement.ratio(base, base, n_unit="groups")
    better = Measurement.ratio([v * 0.9 for v in base], base, n_unit="groups")
    failed = {"conditional-lowers-target-loss": Measurement(-0.1, -0.2, -0.05, n=5)}
    assert claim(cid).evaluate(worse, checks=OK)["verdict"] == "not reproduced"
    assert claim(cid).evaluate(same, checks=OK)["verdict"] != "reproduced"
    assert claim(cid).evaluate(better, checks=OK)["verdict"] == "reproduced"
    assert claim(cid).evaluate(better, checks=failed)["verdict"] == "inconclusive"


def test_params_count():
    model = T.make_lm(512, 16, 1, 2, 33, seed=0)
    assert method.n_params(16, 1, 512) == sum(p.numel() for p in model.parameters())
