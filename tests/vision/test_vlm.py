"""The scene VLM: the LM-input hook (keep-all is the unpruned path exactly), the shared-image training sequence,
text-to-image attention, and the shipped stage's manifest and reload."""

import json
import shutil

import pytest
import torch

from shared.vision import scenes as S
from shared.vision.select import Selection, apply_selection
from shared.vision.vlm import VLM, Projector
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


def test_stage_manifest_and_reload(parts, tmp_path):
    from shared.vision import vlm_stage as st

    _, vlm, *_ = parts
    if not (st.DEFAULT_DIR / "manifest.json").exists():
        pytest.skip(f"the scene-VLM stage is not built yet: {st.COMMAND}")
    manifest = json.loads((st.DEFAULT_DIR / "manifest.json").read_text())
    assert manifest["command"] == st.COMMAND and manifest["key"] == st.stage_key()["key"]
    assert manifest["weights"]["bytes"] < 8_000_000
    acc, maj = manifest["heldout"]["accuracy"], manifest["heldout"]["majority"]
    assert all(acc[k] > maj[k] for k in S.QUESTION_TYPES)  # the precondition of every pruning claim
    loaded = st.load_trained(vlm.lm, vlm.tok)
    assert loaded.projector.fc1.weight.shape == (1024, 384)
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
