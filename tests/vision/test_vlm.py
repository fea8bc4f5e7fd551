"""The scene VLM: the LM-input hook (keep-all is the unpruned path exactly), the shared-image training sequence,
text-to-image attention, and the shipped stage's manifest and reload."""

import json
import shutil

import pytest
import torch

from shared.vision import scenes as S
from shared.vision.select import Selection, apply_selection
from shared.vision.vlm import VLM, LoRALinear, Projector, add_lora, merge_lora
from shared.vision.vlm_hooks import TextAttention, context_for, make_unit, prune_visual, text_to_image_attention


@pytest.fixture(scope="module")
def parts():
    from shared.models import ModelMissing
    from shared.vision import vlm_stage as st

    try:
        vit, lm, tok = st.load_models()
    except ModelMissing as e:  # the engine's tests need the zoo models (make test installs them)
        pytest.skip(str(e))
    torch.manual_seed(0)
    vlm = VLM(lm, tok, Projector(n_positions=64))
    scenes = S.make_scenes("heldout", 3, seed=1)
    feats, attn, keys = st.encode(vit, torch.stack([s.image for s in scenes]), attention=True)
    return vit, vlm, scenes, feats, attn, keys


def _logits(vlm, vis, qs, **kw):
    b = vlm.embed(vis, [q.text for q in qs], [q.answer for q in qs], **kw)
    with torch.no_grad():
        return vlm.answer_logits(b), b


def test_encode_matches_the_model(parts):
    vit, _, scenes, feats, attn, _ = parts
    with torch.no_grad():
        ref = vit(pixel_values=S.to_pixels(scenes[0].image[None]), output_attentions=True)
    assert feats.shape == (3, 64, 384) and attn.shape == (3, 6, 65, 65)
    assert torch.allclose(feats[0], ref.last_hidden_state[0, 1:], atol=1e-4)
    assert (attn[0] - ref.attentions[-1][0]).abs().max() < 1e-5


@pytest.mark.parametrize("positions", ["reindex", "original"])
def test_keep_all_is_the_unpruned_path_exactly(parts, positions):
    _, vlm, scenes, feats, attn, keys = parts
    qs = [scenes[i].questions[i] for i in range(3)]
    with torch.no_grad():
        vis = vlm.project(feats)
    ref, _ = _logits(vlm, vis, qs)
    for unit in (None, make_unit("random"), make_unit("cls_attention"), make_unit("downsample")):
        kept, index = prune_visual(vis, unit, 1.0, context_for(vis, attn, keys, (8, 8)))
        got, _ = _logits(vlm, kept, qs, index=index, n_total=64, positions=positions)
        assert all(torch.equal(a, b) for a, b in zip(ref, got))
    # a selection that keeps every token, applied through the gather
    kept, _ = apply_selection(vis, Selection(torch.arange(64).expand(3, 64)))
    assert torch.equal(kept, vis)
    got, _ = _logits(vlm, kept, qs, index=torch.arange(64).expand(3, 64), n_total=64, positions=positions)
    assert all(torch.equal(a, b) for a, b in zip(ref, got))


def test_pruning_shortens_the_sequence_and_positions_switch(parts):
    _, vlm, scenes, feats, attn, keys = parts
    qs = [scenes[i].questions[0] for i in range(3)]
    with torch.no_grad():
        vis = vlm.project(feats)
    kept, index = prune_visual(vis, make_unit("cls_attention"), 0.25, context_for(vis, attn, keys, (8, 8)))
    assert kept.shape == (3, 16, 576) and torch.all(index[:, 1:] > index[:, :-1])
    want = attn[:, :, 0, 1:].mean(1).topk(16).indices.sort().values
    assert torch.equal(index, want)
    _, b_re = _logits(vlm, kept, qs, index=index, n_total=64)
    _, b_or = _logits(vlm, kept, qs, index=index, n_total=64, positions="original")
    P = len(vlm.pre)
    assert torch.equal(b_re.positions[0, : P + 17], torch.arange(P + 17))
    assert torch.equal(b_or.positions[0, P : P + 16], P + index[0])
    assert int(b_or.positions[0, P + 16]) == P + 64  # the text keeps its unpruned position
    with pytest.raises(ValueError):
        vlm.embed(kept, [q.text for q in qs], positions="shifted")


def test_shared_image_sequence_equals_separate_ones(parts):
    _, vlm, scenes, feats, _, _ = parts
    qs = scenes[0].questions
    with torch.no_grad():
        vis = vlm.project(feats[:1])
        shared = vlm.answer_logits(vlm.embed_shared(vis, [q.text for q in qs], [q.answer for q in qs]))
    sep, b = _logits(vlm, vis.expand(len(qs), -1, -1), qs)
    assert len(shared) == 9 and [len(t) for t in b.targets] == [len(x) for x in shared]
    assert max(float((a - c).abs().max()) for a, c in zip(shared, sep)) < 1e-3


def test_text_to_image_attention(parts):
    _, vlm, scenes, feats, _, _ = parts
    with torch.no_grad():
        vis = vlm.project(feats)
    qs = [s.questions[0].text for s in scenes]
    impl = vlm.lm.config._attn_implementation
    ta = text_to_image_attention(vlm, vis, qs)
    assert vlm.lm.config._attn_implementation == impl  # eager only for the call
    assert ta.shape == (3, 64) and torch.all(ta >= 0) and torch.all(ta.sum(-1) <= 1 + 1e-5)
    one = text_to_image_attention(vlm, vis[1:2], qs[1:2], layers=[0, 5], query="text")
    assert one.shape == (1, 64)
    ctx = context_for(vis, text_attn=ta)
    sel = TextAttention().select(ctx, 8)
    assert torch.equal(sel.keep, ta.topk(8).indices.sort().values)
    with pytest.raises(ValueError):
        TextAttention().score(context_for(vis))


def test_projector_normalises_to_the_embedding_scale():
    torch.manual_seed(0)
    p = Projector(384, 576, 64, n_positions=4, out_rms=0.13)
    y = p(torch.randn(2, 4, 384) * 5)
    assert torch.allclose(y.pow(2).mean(-1).sqrt(), torch.full((2, 4), 0.13), atol=1e-5)  # pos is zero at init
    assert float(Projector(384, 576, 64)(torch.randn(1, 4, 384)).detach().pow(2).mean(-1).sqrt().std()) > 0  # off


def test_lora_merge_equals_the_wrapped_layers(parts):
    _, vlm, scenes, feats, _, _ = parts
    import copy

    lm = copy.deepcopy(vlm.lm)
    before = vlm.lm.model.layers[3].self_attn.q_proj.weight.clone()
    params = add_lora(lm, 4)
    assert len(params) == 2 * 2 * len(lm.model.layers) and isinstance(lm.model.layers[0].self_attn.v_proj, LoRALinear)
    torch.manual_seed(1)
    with torch.no_grad():
        for v in params.values():
            v.copy_(torch.randn_like(v) * 0.05)
    state = {k: v.detach() for k, v in params.items()}
    merged = merge_lora(vlm.lm, state)
    assert torch.equal(vlm.lm.model.layers[3].self_attn.q_proj.weight, before)  # the given LM is left as it was
    qs = [scenes[i].questions[i] for i in range(3)]
    with torch.no_grad():
        vis = vlm.project(feats)
    a, _ = _logits(VLM(lm, vlm.tok, vlm.projector), vis, qs)
    b, _ = _logits(VLM(merged, vlm.tok, vlm.projector), vis, qs)
    ref, _ = _logits(vlm, vis, qs)
    assert max(float((x - y).abs().max()) for x, y in zip(a, b)) < 1e-3
    assert max(float((x - y).abs().max()) for x, y in zip(a, ref)) > 1e-2  # the LoRA does change the LM


def test_alignment_maps_tokens_to_their_cell_words(parts):
    from shared.vision import vlm_stage as st

    _, vlm, _, _, _, _ = parts
    scenes = S.make_scenes("train", 24, seed=5)
    vit, *_ = st.load_models()
    feats = st.encode(vit, torch.stack([s.image for s in scenes]))
    torch.manual_seed(0)
    p = Projector(384, 576, 256, n_positions=64, out_rms=0.13)
    fit = st.align_projector(p, VLM(vlm.lm, vlm.tok, p), feats, [s.cells for s in scenes], ridge=0.1)
    assert fit["scenes"] == 24 and fit["nearest_word"] > 0.5 and fit["cosine"] > 0.3


def test_precondition_counts_types_above_the_baseline():
    from shared.vision import vlm_stage as st

    items = [(i, S.Question(kind, "q", "a")) for kind in S.QUESTION_TYPES for i in range(100)]
    ok = [i < 90 for kind in S.QUESTION_TYPES for i in range(100)]
    maj = {"position": 0.2, "count": 0.4, "exists_digit": 0.85, "exists_item": 0.95}
    pre = st.precondition(items, ok, maj)
    assert pre["types_above"] == 2 and not pre["met"]  # 0.9 out of 100: Wilson low 0.826 < 0.85
    pre = st.precondition(items, ok, dict(maj, exists_digit=0.5))
    assert pre["types_above"] == 3 and pre["met"]
    assert pre["types"]["position"]["low"] < 0.9 < pre["types"]["position"]["high"]


def test_stage_manifest_and_reload(parts, tmp_path):
    from shared.vision import vlm_stage as st

    _, vlm, *_ = parts
    if not (st.DEFAULT_DIR / "manifest.json").exists():
        pytest.skip(f"the scene-VLM stage is not built yet: {st.COMMAND}")
    manifest = json.loads((st.DEFAULT_DIR / "manifest.json").read_text())
    assert manifest["command"] == st.COMMAND and manifest["key"] == st.stage_key()["key"]
    assert manifest["weights"]["bytes"] < 8_000_000
    held = manifest["heldout"]
    pre = held["precondition"]
    assert pre["met"] and pre["min_types"] == st.PRECONDITION["min_types"]  # the precondition of every pruning claim
    for kind, t in pre["types"].items():
        assert t["above"] == (t["low"] > t["majority"]) and t["accuracy"] == round(held["accuracy"][kind], 4)
    before = vlm.lm.model.layers[0].self_attn.q_proj.weight.clone()
    loaded = st.load_trained(vlm.lm, vlm.tok)
    assert loaded.projector.fc1.weight.shape == (1024, 384) and float(loaded.projector.out_rms) > 0
    if manifest["weights"]["lora_parameters"]:
        assert loaded.lm is not vlm.lm and torch.equal(vlm.lm.model.layers[0].self_attn.q_proj.weight, before)
        assert not torch.equal(loaded.lm.model.layers[0].self_attn.q_proj.weight, before)
    # the shipped VLM answers from the image: on a few held-out scenes it beats the shuffled-image control
    scenes = S.make_scenes("heldout", 12, st.CONFIG["seed"], st.scene_config())
    vit, *_ = st.load_models()
    feats = st.encode(vit, torch.stack([s.image for s in scenes]))
    items = [(i, q) for i, s in enumerate(scenes) for q in s.questions if q.kind != "position"]
    ok = st.evaluate(loaded, feats, items)
    ok_shuffled = st.evaluate(loaded, feats[torch.roll(torch.arange(12), 1)], items)
    assert sum(ok) > sum(ok_shuffled)
    # other settings: refused
    other = dict(st.CONFIG, steps=st.CONFIG["steps"] + 1)
    with pytest.raises(ValueError, match="other settings"):
        st.load_trained(vlm.lm, vlm.tok, config=other)
    # a damaged file: refused
    bad = tmp_path / "scene-vlm"
    shutil.copytree(st.DEFAULT_DIR, bad)
    raw = bytearray((bad / "projector.safetensors").read_bytes())
    raw[-1] ^= 1
    (bad / "projector.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="manifest"):
        st.load_trained(vlm.lm, vlm.tok, path=bad)
