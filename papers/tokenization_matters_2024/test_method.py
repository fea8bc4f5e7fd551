"""Tests of papers.tokenization_matters_2024.method: the segmentation helpers on known cuts, the item generator's
invariants, the cached scorer against a plain forward pass, and rules that can answer *not reproduced*."""

import numpy as np
import pytest

from papers.tokenization_matters_2024 import method
from papers.tokenization_matters_2024.claims import CLAIMS
from shared.claims import Measurement, evaluate_claims


def test_straddle_and_aligned_shifts():
    # " rites|har|pen" for rite + sharpen (b = 4): the token [0, 5) crosses the boundary; its right edge is shift +1
    segs = [(0, 5), (5, 8), (8, 11)]
    assert method.straddle(segs, 4) == (0, 5) and method.aligned_shifts((0, 5), 4) == [1]
    assert method.straddle(segs, 5) is None and method.aligned_shifts(None, 5) == []
    # both edges within reach
    assert method.aligned_shifts((3, 6), 4) == [-1, 2]


def test_candidates_and_ambiguity():
    assert method.candidates("rite", "sharpen", "first") == ["ri", "rit", "rite", "rites", "ritesh"]
    assert method.candidates("rite", "sharpen", "second") == ["tesharpen", "esharpen", "sharpen", "harpen", "arpen"]
    with pytest.raises(ValueError):
        method.candidates("ab", "cde", "first")
    words = {"move", "moves", "table", "stable", "rite", "sharpen"}
    assert method.ambiguous("moves", "table", words) and method.ambiguous("move", "stable", words)
    assert not method.ambiguous("rite", "sharpen", words)


def test_word_lists():
    c = method.word_counts(["the river and the river Zebra", "river ox"])
    assert c["river"] == 3 and "Zebra" in c
    assert method.common_words(c, min_count=2) == ["river", "the"]
    assert {"ox", "a", "i"} <= method.dictionary(c) and "Zebra" not in method.dictionary(c)


def test_spans_and_classify_on_gpt2():
    from shared.data import load_tokenizer

    tok = load_tokenizer("gpt2")
    line = method.text_line("ritesharpen")
    segs = method.spans(tok, line, 6, 17)
    assert segs[0][0] == 0 and segs[-1][1] == 11 and all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
    c = method.classify(tok, "rite", "sharpen")
    assert "".join(c["pieces"]) == "ritesharpen"
    assert c["straddle"] == (method.straddle(c["segs"], 4) is not None)


def test_make_items_invariants_on_gpt2():
    from shared.data import load_tokenizer

    tok = load_tokenizer("gpt2")
    # GPT-2's own single-token words (a leading-space token of 4-7 lower-case letters), a deterministic sample
    vocab = sorted(t[1:] for t in tok.get_vocab() if t.startswith("\u0120") and t[1:].isalpha() and t[1:].islower()
                   and 4 <= len(t) - 1 <= 7)  # fmt: skip
    words = vocab[::20]
    words = method.single_token_words(tok, words)
    dict_words = set(words) | {"a", "i"}
    items, shots = method.make_items(tok, words, dict_words, 5, seed=0, n_shots=2)
    assert len(items) == 10 and len(shots) == 2
    assert items == method.make_items(tok, words, dict_words, 5, seed=0, n_shots=2)[0]
    for a, c in zip(items[::2], items[1::2]):
        assert a["group"] == "adversarial" and c["group"] == "control" and a["pair"] == c["pair"]
        assert (len(a["w1"]), len(a["w2"]), a["side"]) == (len(c["w1"]), len(c["w2"]), c["side"])
        assert a["aligned"] and not c["aligned"] and method.SHIFTS.index(0) == a["gold"]
        assert method.classify(tok, a["w1"], a["w2"])["straddle"] and not method.classify(tok, c["w1"], c["w2"])["straddle"]
    used = {w for it in items for w in (it["w1"], it["w2"])}
    assert not used & {w for s in shots for w in (s["w1"], s["w2"])}


def test_prompt():
    shots = [{"w1": "big", "w2": "dog", "side": "first", "answer": "big"}]
    it = {"w1": "red", "w2": "hat", "side": "second"}
    assert method.prefix(shots, True).endswith("Text: big dog\nFirst word: big\n\n")
    assert method.prefix(shots, False).endswith("Text: bigdog\nFirst word: big\n\n")
    assert method.suffix(it, False) == "Text: redhat\nSecond word:"


def test_aligned_excess():
    hit, chance = method.aligned_excess([2, 3, 0, 1], [2, 2, 2, 2], [[3], [3], [1, 4], [1]])
    assert hit.tolist() == [1.0, 0.0, 1.0] and chance.tolist() == [0.25, 0.5, 0.25]
    assert method.paired_drop([1, 1, 0], [0, 1, 1]).tolist() == [1.0, 0.0, -1.0]


@pytest.mark.parametrize("name", ["smollm2-135m-instruct"])
def test_cached_scorer_matches_a_plain_forward_pass(name):
    from shared.models import ZOO, load
    from shared.models.zoo import installed

    if not installed(ZOO[name]):
        pytest.skip(f"{name} not installed")
    model, tok = load(name)
    shots = [{"w1": "big", "w2": "dog", "side": "first", "answer": "big"},
             {"w1": "red", "w2": "hat", "side": "second", "answer": "hat"}]  # fmt: skip
    items = [{"w1": w1, "w2": w2, "side": side, "cands": method.candidates(w1, w2, side)}
             for w1, w2, side in [("rite", "sharpen", "first"), ("those", "list", "second"), ("user", "exotic", "first")]]  # fmt: skip
    for spaced in (True, False):
        pre = method.prefix(shots, spaced)
        got = method.score(model, tok, pre, items, spaced, batch=2)  # a batch of 2 and one of 1, padded
        ref = np.array([method.plain_score(model, tok, pre, it, spaced) for it in items])
        assert np.allclose(got, ref, atol=2e-3), (got, ref)


def _claims():
    return {c.id: c for c in CLAIMS}


def test_rules_can_fail_and_stay_undecided():
    cl = _claims()
    ok = Measurement.proportion(90, 100, n_unit="spaced controls")
    # concatenation helps: not reproduced
    drop = Measurement.mean([-1.0] * 30 + [0.0] * 70, n_unit="pairs", bounds=(-1, 1))
    margin = Measurement.mean([0.0] * 50 + [0.5] * 50, n_unit="pairs")
    out = evaluate_claims([cl["adt-degrades"]], {"adt-degrades": drop}, controls={"adt-degrades": margin},
                          checks={"controls-above-chance": ok})  # fmt: skip
    assert out[0]["verdict"] == "not reproduced", out[0]
    # a drop, but the no-straddle pairs drop as much: not reproduced
    drop = Measurement.mean([1.0] * 30 + [0.0] * 70, n_unit="pairs", bounds=(-1, 1))
    same = Measurement.mean([-1.0] * 40 + [0.0] * 50 + [1.0] * 10, n_unit="pairs")
    out = evaluate_claims([cl["adt-degrades"]], {"adt-degrades": drop}, controls={"adt-degrades": same},
                          checks={"controls-above-chance": ok})  # fmt: skip
    assert out[0]["verdict"] == "not reproduced", out[0]
    # a model at chance on the spaced controls: inconclusive
    out = evaluate_claims([cl["adt-degrades"]], {"adt-degrades": drop}, controls={"adt-degrades": margin},
                          checks={"controls-above-chance": Measurement.proportion(22, 100)})  # fmt: skip
    assert out[0]["verdict"] == "inconclusive", out[0]
    # errors that avoid the token-aligned readings: not reproduced; too few errors: inconclusive
    e = Measurement.mean([-0.25] * 40 + [0.0] * 10, n_unit="pairs", bounds=(-1, 1))
    m = Measurement.mean([0.1] * 50 + [0.3] * 10, n_unit="pairs")
    out = evaluate_claims([cl["errors-follow-tokenization"]], {"errors-follow-tokenization": e},
                          controls={"errors-follow-tokenization": m},
                          checks={"enough-errors": Measurement.exact(50.0)})  # fmt: skip
    assert out[0]["verdict"] == "not reproduced", out[0]
    out = evaluate_claims([cl["errors-follow-tokenization"]], {"errors-follow-tokenization": m},
                          controls={"errors-follow-tokenization": m},
                          checks={"enough-errors": Measurement.exact(7.0)})  # fmt: skip
    assert out[0]["verdict"] == "inconclusive", out[0]
