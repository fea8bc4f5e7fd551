import base64
import gzip
import json

import pytest
import torch

from shared import ROOT
from shared import data as D
from shared.data.sources import write_jsonl


@pytest.fixture
def fixture_data(tmp_path, monkeypatch):
    """A miniature `data/` with the layout the build writes, and the loaders pointed at it."""
    root = tmp_path / "data"
    write_jsonl(root / "text/kjv/verses.jsonl", [{"id": "Ge1:1", "book": "Ge", "text": "In the beginning"},
                                                 {"id": "Ge1:2", "book": "Ge", "text": "And the earth"}])  # fmt: skip
    write_jsonl(root / "tasks/humaneval/problems.jsonl", [{"task_id": "HumanEval/0", "prompt": "def f():\n"}])
    write_jsonl(root / "tasks/reasoning_gym/chain_sum.jsonl", [{"id": "chain_sum-0", "question": "1 + 2 =",
                                                                "answer": "3", "metadata": "{}"}])  # fmt: skip
    write_jsonl(root / "parallel/gettext/gtk30/messages.jsonl", [
        {"msgid": "Open", "en": "Open", "de": "Öffnen", "tr": "Aç"},
        {"msgid": "Close", "en": "Close", "de": "Schließen"},
    ])  # fmt: skip
    write_jsonl(root / "parallel/libreoffice/en/pages.jsonl", [
        {"page": "a.html", "title": "A", "paragraphs": [["p1", "One."], ["p2", "Two."], ["p3", "Only English."]]},
        {"page": "b.html", "title": "B", "paragraphs": [["q1", "Bee."]]},
    ])  # fmt: skip
    write_jsonl(root / "parallel/libreoffice/tr/pages.jsonl", [
        {"page": "a.html", "title": "A", "paragraphs": [["p2", "İki."], ["p1", "Bir."]]},
    ])  # fmt: skip
    (root / "turkish/treebanks").mkdir(parents=True)
    conllu = ("# sent_id = s1\n# text = Evler güzel.\n1\tEvler\tev\tNOUN\t_\tNumber=Plur\t2\tnsubj\t_\t_\n"
              "2-3\tgüzel.\t_\t_\t_\t_\t_\t_\t_\t_\n2\tgüzel\tgüzel\tADJ\t_\t_\t0\troot\t_\t_\n"
              "3\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n")  # fmt: skip
    (root / "turkish/treebanks/web.conllu").write_text(conllu)
    (root / "turkish/treebanks/wiki.conllu").write_text(conllu.replace("s1", "s2"))
    # three 2x3 images in IDX format
    fm = root / "images/fashion_mnist"
    fm.mkdir(parents=True)
    pixels = bytes(range(18))
    for prefix in ("train", "t10k"):
        with gzip.open(fm / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write((2051).to_bytes(4, "big") + (3).to_bytes(4, "big") + (2).to_bytes(4, "big")
                    + (3).to_bytes(4, "big") + pixels)  # fmt: skip
        with gzip.open(fm / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([9, 0, 4]))
    # a byte-level BPE in HF format under a real tokenizer name, and a 256-byte tiktoken rank file
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["the cat sat on the mat"] * 20, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))  # fmt: skip
    (root / "tokenizers/llama2").mkdir(parents=True)
    tok.save(str(root / "tokenizers/llama2/tokenizer.json"))
    (root / "tokenizers/llama2/tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>"}))
    (root / "tokenizers/whisper").mkdir(parents=True)
    ranks = "".join(f"{base64.b64encode(bytes([i])).decode()} {i}\n" for i in range(256))
    (root / "tokenizers/whisper/multilingual.tiktoken").write_text(ranks)
    monkeypatch.setenv("TOKEN_PAPERS_DATA_DIR", str(root))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    # `load_tiktoken` is cached by name: drop encodings read from the real data/ before, and the fixture's after
    D.load_tiktoken.cache_clear()
    yield root
    D.load_tiktoken.cache_clear()


def test_load_text_returns_a_dataset(fixture_data):
    import datasets

    ds = D.load_text("kjv")
    assert isinstance(ds, datasets.Dataset)
    assert ds["text"] == ["In the beginning", "And the earth"] and ds["id"][0] == "Ge1:1"
    assert D.load_text("humaneval")["text"] == ["def f():\n"]  # the prompt becomes `text`
    assert D.load_text("reasoning_gym/chain_sum")[0]["answer"] == "3"
    assert D.load_text("gettext/gtk30")["text"] == ["Open", "Close"]
    tb = D.load_text("tr_treebank")
    assert tb["text"] == ["Evler güzel.", "Evler güzel."] and tb["source"] == ["web", "wiki"]


def test_treebank_skips_multiword_ranges(fixture_data):
    s = D.load_treebank(("web",))[0]
    assert s["tokens"] == ["Evler", "güzel", "."] and s["lemmas"][0] == "ev" and s["feats"][0] == "Number=Plur"


def test_parallel_gettext_keeps_only_translated_pairs(fixture_data):
    ds = D.load_parallel("en", "tr")
    assert ds.column_names == ["id", "en", "tr"]
    assert ds[0] == {"id": "gtk30:Open", "en": "Open", "tr": "Aç"} and len(ds) == 1
    assert len(D.load_parallel("de", "en")) == 2
    assert D.parallel_languages() == ["de", "en", "tr"]


def test_parallel_indonesian_keeps_its_text_apart_from_the_key(fixture_data):
    # Indonesian's code is "id": the text used to overwrite the key column (or the key the text)
    write_jsonl(fixture_data / "parallel/gettext/glib20/messages.jsonl",
                [{"msgid": "Open", "en": "Open", "id": "Buka"}, {"msgid": "Save", "en": "Save"}])  # fmt: skip
    for src, tgt in (("en", "id"), ("id", "en")):
        ds = D.load_parallel(src, tgt, domains=["glib20"])
        assert ds.column_names == ["row_id", src, tgt]
        assert ds[0] == {"row_id": "glib20:Open", "en": "Open", "id": "Buka"} and len(ds) == 1
    assert D.load_parallel("en", "id", domains=["glib20"], id_column="key")[0]["key"] == "glib20:Open"
    assert D.load_parallel("en", "tr", id_column="key").column_names == ["key", "en", "tr"]
    assert D.load_parallel("en", "tr").column_names == ["id", "en", "tr"]  # other pairs keep `id`
    with pytest.raises(ValueError, match="also a language code"):
        D.load_parallel("en", "id", domains=["glib20"], id_column="id")
    with pytest.raises(ValueError, match="both"):
        D.load_parallel("en", "en")


def test_parallel_libreoffice_aligns_by_paragraph_id(fixture_data):
    paras = D.load_parallel("en", "tr", corpus="libreoffice")
    assert paras["en"] == ["One.", "Two."] and paras["tr"] == ["Bir.", "İki."]  # source order, matched by id
    pages = D.load_parallel("en", "tr", corpus="libreoffice", unit="page")
    assert pages[0] == {"id": "a.html", "en": "One.\nTwo.", "tr": "Bir.\nİki."}
    with pytest.raises(KeyError, match="no aligned en-xx text in libreoffice"):
        D.load_parallel("en", "xx", corpus="libreoffice")


def test_images_as_tensors(fixture_data):
    x, y = D.load_images("fashion_mnist", "train")
    assert x.dtype == torch.uint8 and x.shape == (3, 2, 3) and y.tolist() == [9, 0, 4]
    assert x[1, 0].tolist() == [6, 7, 8]
    xf, _ = D.load_images("fashion_mnist", "test", normalize=True)
    assert xf.shape == (3, 1, 2, 3) and xf.dtype == torch.float32 and xf.max().item() == pytest.approx(17 / 255)


def test_tokenizers_by_name(fixture_data):
    tok = D.load_tokenizer("llama2")
    ids = tok("the cat sat", add_special_tokens=False).input_ids
    assert tok.decode(ids) == "the cat sat" and len(ids) < len("the cat sat")
    enc = D.load_tiktoken("whisper")
    assert enc.decode(enc.encode("çay")) == "çay" and enc.n_vocab == 257
    with pytest.raises(KeyError, match="tiktoken encoding"):
        D.load_tokenizer("whisper")
    with pytest.raises(KeyError, match="unknown tokenizer"):
        D.load_tokenizer("gpt5")


def test_missing_data_says_how_to_get_it(fixture_data):
    with pytest.raises(D.DataMissing, match="papers data pull"):
        D.load_text("gcide")


REAL = ROOT / "data" / "manifest.json"


@pytest.mark.skipif(not REAL.exists(), reason="data/ is not built (papers data pull)")
def test_real_tokenizers_agree(monkeypatch):
    # the @lenml gpt4o tokenizer.json and OpenAI's o200k rank file must give the same ids
    monkeypatch.delenv("TOKEN_PAPERS_DATA_DIR", raising=False)
    text = "Token Papers replicates token-level LLM papers. Türkçe: gelemeyecekmişsiniz. 数学"
    hf = D.load_tokenizer("o200k")(text, add_special_tokens=False).input_ids
    assert hf == D.load_tiktoken("o200k_base").encode(text)  # "-level" is one token: needs ignore_merges
    assert D.load_tokenizer("cl100k")(text, add_special_tokens=False).input_ids == D.load_tiktoken("cl100k").encode(
        text
    )
    gpt2 = D.load_tokenizer("gpt2")(text).input_ids
    assert gpt2 == D.load_tiktoken("r50k").encode(text) and len(D.load_tokenizer("gpt2")) == 50257
